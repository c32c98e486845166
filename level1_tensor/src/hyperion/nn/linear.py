"""Linear: the fully connected layer ``y = x Wᵀ + b``, and Identity."""

from __future__ import annotations

import math
from typing import Any

from hyperion.nn.module import Module
from hyperion.nn.parameter import Parameter
from hyperion.tensor import Tensor, empty
from hyperion.tensor import functional as TF
from hyperion.tensor.random import Generator


class Linear(Module):
    """``y = x @ weight.T + bias`` with ``weight`` of shape ``(out_features, in_features)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: str = "cpu",
                 dtype: Any = None, generator: Generator | None = None) -> None:
        """Task 1.13 (part 1): create the parameters, initialised exactly as PyTorch does.

        Register ``self.weight`` as a :class:`Parameter` of shape ``(out_features, in_features)`` —
        one row per output, so that ``state_dict`` is interchangeable with PyTorch's — and
        ``self.bias`` of shape ``(out_features,)``; when ``bias`` is false, register ``None``
        instead (``self.register_parameter("bias", None)``) so the name still exists.

        Initialise both from ``U(-k, k)`` with ``k = 1 / √in_features`` (PyTorch's default: each
        output sums ``in_features`` terms, so this keeps its variance of order one). Draw weight
        first, then bias, with ``tensor.uniform_(-k, k, generator=generator)`` on tensors made by
        ``empty(shape, dtype=dtype, device=device)``, then wrap them in ``Parameter``.
        """
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        # BEGIN SOLUTION
        k = 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0
        weight = empty(out_features, in_features, dtype=dtype, device=device)
        self.weight = Parameter(weight.uniform_(-k, k, generator=generator))
        if bias:
            bias_values = empty(out_features, dtype=dtype, device=device)
            self.bias = Parameter(bias_values.uniform_(-k, k, generator=generator))
        else:
            self.register_parameter("bias", None)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        """Task 1.13 (part 2): the forward pass, ``x @ weight.T + bias`` for any leading dimensions.

        Use ``hyperion.tensor.functional.linear(x, weight, bias)`` (imported here as ``TF``): one
        fused op whose backward is already tested. ``self.bias`` may be ``None``.
        """
        # BEGIN SOLUTION
        return TF.linear(x, self.weight, self.bias)
        # END SOLUTION

    def extra_repr(self) -> str:
        has_bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"


class Identity(Module):
    """Returns its input: a placeholder where a layer is optional."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x
