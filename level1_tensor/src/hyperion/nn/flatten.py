"""Flatten: merge dimensions ``start_dim..end_dim`` into one (images -> vectors for a Linear)."""

from __future__ import annotations

from hyperion.nn.module import Module
from hyperion.tensor import Tensor


class Flatten(Module):
    """Defaults keep the batch dimension: ``(N, C, H, W) -> (N, C·H·W)``."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
