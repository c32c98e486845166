"""Activation layers: elementwise nonlinearities with no parameters, as Modules for ``Sequential``."""

from __future__ import annotations

from hyperion.nn.module import Module
from hyperion.tensor import Tensor
from hyperion.tensor import functional as TF


class ReLU(Module):
    """``max(x, 0)``."""

    def forward(self, x: Tensor) -> Tensor:
        return TF.relu(x)


class GELU(Module):
    """``x · Φ(x)`` (``approximate="none"``, with erf) or its tanh approximation (``"tanh"``)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return TF.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return TF.tanh(x)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``."""

    def forward(self, x: Tensor) -> Tensor:
        return TF.sigmoid(x)


class Softmax(Module):
    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return TF.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
