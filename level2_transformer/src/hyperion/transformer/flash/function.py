"""``flash_attention`` on Hyperion Tensors: one autograd ``Function`` per device.

:class:`FlashAttention` runs the numba kernels (:mod:`.numba_cpu`); its subclass
:class:`FlashAttentionCUDA` runs the CUDA kernels (:mod:`.cuda`) and is registered for ``"cuda"`` in
level 1's per-device table of Function overrides -- the one dispatch point, no device test here. The
forward saves only ``q, k, v``, the output and the row log-sum-exp (``O(N·d)``); the backward
recomputes each tile of probabilities from them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.tensor.autograd import Function
from hyperion.tensor.backend import Array, get_backend, register_function
from hyperion.tensor.tensor import Tensor
from hyperion.transformer.flash._inputs import causal_mode


class FlashAttention(Function):
    """softmax(scale · Q Kᵀ + mask) V, fused: forward and backward never build the N×N scores."""

    def forward(self, q: Array, k: Array, v: Array, causal: bool | str = False, key_padding_mask: Any = None,
                scale: float | None = None) -> Array:
        self.options = {"causal": causal, "key_padding_mask": key_padding_mask, "scale": scale}
        out, lse = self.kernels()[0](q, k, v, **self.options)
        self.q, self.k, self.v, self.out, self.lse = q, k, v, out, lse
        return out

    def backward(self, grad: Array) -> tuple[Array, Array, Array]:
        backward = self.kernels()[1]
        return backward(self.q, self.k, self.v, self.out, self.lse, grad, **self.options)

    @staticmethod
    def kernels():
        """(forward, backward) of this device: numba on the CPU."""
        from hyperion.transformer.flash.numba_cpu import flash_backward, flash_forward

        return flash_forward, flash_backward


class FlashAttentionCUDA(FlashAttention):
    """The same Function on the CUDA kernels of :mod:`.cuda` (registered for ``"cuda"`` below)."""

    @staticmethod
    def kernels():
        from hyperion.transformer.flash.cuda import flash_backward_cuda, flash_forward_cuda

        return flash_forward_cuda, flash_backward_cuda


register_function("cuda", FlashAttention, FlashAttentionCUDA)


def _mask_array(mask: Any, device: str) -> Any:
    """The padding mask as an array on ``device`` (it may come as a Tensor, numpy or CuPy array)."""
    if mask is None:
        return None
    if isinstance(mask, Tensor):
        mask = mask._backend.to_numpy(mask._array())
    host = np.asarray(mask.get() if hasattr(mask, "get") else mask)  # .get(): a CuPy array
    return get_backend(device).from_host(host)


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
