"""LayerNorm: normalise each sample over its last dimensions, then scale and shift."""

from __future__ import annotations

from typing import Any

from hyperion.nn.module import Module
from hyperion.nn.parameter import Parameter
from hyperion.tensor import Tensor, ones, zeros
from hyperion.tensor import functional as TF


class LayerNorm(Module):
    """``(x - mean) / √(var + eps) · weight + bias`` over the trailing ``normalized_shape``.

    ``weight`` starts at ones and ``bias`` at zeros, so a fresh layer only normalises.
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: str = "cpu",
                 dtype: Any = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(shape, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return TF.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")
