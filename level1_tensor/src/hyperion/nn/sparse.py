"""Embedding: a learned lookup table from integer ids (tokens, classes) to vectors."""

from __future__ import annotations

from typing import Any

from hyperion.nn import init
from hyperion.nn.module import Module
from hyperion.nn.parameter import Parameter
from hyperion.tensor import Tensor, empty, no_grad
from hyperion.tensor import functional as TF
from hyperion.tensor.random import Generator


class Embedding(Module):
    """Row ``i`` of ``weight`` (shape ``(num_embeddings, embedding_dim)``, drawn from ``N(0, 1)``) is
    the vector of id ``i``. The row ``padding_idx``, if given, starts at zero and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 device: str = "cpu", dtype: Any = None, generator: Generator | None = None) -> None:
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx {padding_idx} is out of range for {num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype, device=device))
        init.normal_(self.weight, generator=generator)
        if padding_idx is not None:
            with no_grad():
                self.weight[padding_idx] = 0.0

    def forward(self, indices: Tensor) -> Tensor:
        out = TF.embedding(indices, self.weight)
        if self.padding_idx is None:
            return out
        # same values, but the padding rows' gradient is cut (as PyTorch's padding_idx)
        is_pad = (indices == self.padding_idx).unsqueeze(-1)
        return TF.where(is_pad, out.detach(), out)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
