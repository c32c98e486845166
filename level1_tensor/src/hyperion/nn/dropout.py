"""Dropout: randomly silence activations while training, so no unit can rely on another."""

from __future__ import annotations

from hyperion.nn.module import Module
from hyperion.tensor import Tensor
from hyperion.tensor import functional as TF
from hyperion.tensor.random import Generator


class Dropout(Module):
    """Zero each element with probability ``p`` and scale survivors by ``1/(1-p)`` in training mode,
    so the expected activation is unchanged; the identity in ``eval()`` mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False, generator: Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, x: Tensor) -> Tensor:
        return TF.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
