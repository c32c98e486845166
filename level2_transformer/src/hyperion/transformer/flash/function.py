"""``flash_attention`` on Hyperion Tensors: one autograd ``Function``, dispatching on the device.

``cpu`` runs the numba kernels (:mod:`.numba_cpu`), ``cuda`` the CUDA kernels (:mod:`.cuda`). The
forward saves only ``q, k, v``, the output and the row log-sum-exp (``O(N·d)``); the backward
recomputes each tile of probabilities from them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.tensor.autograd import Function
from hyperion.tensor.backend import Array
from hyperion.tensor.tensor import Tensor
from hyperion.transformer.flash._inputs import causal_mode


class FlashAttention(Function):
    """softmax(scale · Q Kᵀ + mask) V, fused: forward and backward never build the N×N scores."""

    def forward(self, q: Array, k: Array, v: Array, causal: bool | str = False, key_padding_mask: Any = None,
                scale: float | None = None) -> Array:
        self.options = {"causal": causal, "key_padding_mask": key_padding_mask, "scale": scale}
        if self.backend.device == "cuda":
            from hyperion.transformer.flash.cuda import flash_forward_cuda as forward
        else:
            from hyperion.transformer.flash.numba_cpu import flash_forward as forward
        out, lse = forward(q, k, v, **self.options)
        self.q, self.k, self.v, self.out, self.lse = q, k, v, out, lse
        return out

    def backward(self, grad: Array) -> tuple[Array, Array, Array]:
        if self.backend.device == "cuda":
            from hyperion.transformer.flash.cuda import flash_backward_cuda as backward
        else:
            from hyperion.transformer.flash.numba_cpu import flash_backward as backward
        return backward(self.q, self.k, self.v, self.out, self.lse, grad, **self.options)


def _mask_array(mask: Any, device: str) -> Any:
    if mask is None:
        return None
    if isinstance(mask, Tensor):
        mask = mask._array()
    if device == "cuda":
        import cupy

        return cupy.asarray(mask)
    return np.asarray(mask.get() if hasattr(mask, "get") else mask)


def flash_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    causal: bool | str = False,
    key_padding_mask: Any = None,
    scale: float | None = None,
) -> Tensor:
    """Attention ``softmax(scale · q kᵀ) v`` of ``q (B, H, N_q, d)``, ``k, v (B, H, N_k, d)``, differentiable.

    ``causal``: ``True`` or ``"top_left"``: query ``i`` sees keys ``j <= i`` (like PyTorch's ``is_causal``);
    ``"bottom_right"``: keys ``j <= i + N_k - N_q`` (the last query sees the last key: a KV cache).
    ``key_padding_mask``: bool ``(B, N_k)`` (array or Tensor), ``True`` = padding, masked out.
    ``scale`` defaults to ``1/sqrt(d)``. A query that sees no key at all gets output 0 and zero
    gradients (never NaN). CPU: float16/32/64 (float16 computes in float32); CUDA: float32, float16.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"flash_attention: {name} must be a hyperion Tensor, got {type(t).__name__}")
    causal_mode(causal)  # a clear ValueError for anything else
    mask = _mask_array(key_padding_mask, q.device)
    return FlashAttention.apply(q, k, v, causal=causal, key_padding_mask=mask, scale=scale)
