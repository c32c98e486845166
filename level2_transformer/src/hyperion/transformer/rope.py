"""Rotary positional embeddings (RoPE, Su et al. 2021): position as a rotation of q and k.

Pair feature ``i`` with feature ``i + d/2`` (the "rotate-half" layout of GPT-NeoX and LLaMA) and
treat each pair as a point in the plane. At position ``m`` rotate pair ``i`` by the angle
``m·θ_i`` with ``θ_i = base^(-2i/d)``::

    [x_i, x_{i+d/2}]  →  [x_i cos mθ_i − x_{i+d/2} sin mθ_i,  x_i sin mθ_i + x_{i+d/2} cos mθ_i]

Rotations compose by adding angles and preserve dot products, so for ``q`` at position ``m`` and
``k`` at ``n``: ``R(mθ)q · R(nθ)k = q · R((n−m)θ)k`` — the score depends only on ``n − m``.
Nothing is added to the embeddings, and nothing is learned.

The rotation is one fused :class:`Function`; its backward is the rotation by the *opposite* angle
(a rotation matrix's transpose is its inverse), so no intermediate is stored.
"""

from __future__ import annotations

import numpy as np

from hyperion.nn import Module
from hyperion.tensor import Function, Tensor
from hyperion.tensor.backend import Array, get_backend
from hyperion.tensor.errors import ShapeError


def rope_angles(head_dim: int, n_positions: int, base: float = 10000.0) -> tuple[np.ndarray, np.ndarray]:
    """Task 2.2 (part 1): the ``(cos, sin)`` tables, each ``(n_positions, head_dim/2)`` in float64.

    Entry ``[m, i]`` is ``cos(m·θ_i)`` (resp. ``sin``) with ``θ_i = base^(-2i/head_dim)`` for
    ``i = 0 … head_dim/2 - 1``: pair 0 turns fastest (one radian per position), the last pair
    slowest. ``head_dim`` must be even (``ValueError`` otherwise).
    """
    # BEGIN SOLUTION
    if head_dim % 2:
        raise ValueError(f"RoPE needs an even head dimension, got {head_dim}")
    inv_freq = base ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.outer(np.arange(n_positions, dtype=np.float64), inv_freq)
    return np.cos(angles), np.sin(angles)
    # END SOLUTION


def rope_rotate(x: Array, cos: Array, sin: Array) -> Array:
    """Task 2.2 (part 2): rotate each pair ``(x[..., i], x[..., i + d/2])`` by the table's angle.

    ``x`` is a numpy (or CuPy) array ``(..., N, d)``; ``cos``/``sin`` are ``(N, d/2)`` in ``x``'s
    dtype. With ``x1 = x[..., :d/2]`` and ``x2 = x[..., d/2:]`` return a new array holding
    ``[x1·cos − x2·sin, x1·sin + x2·cos]`` (concatenated on the last axis; ``x`` is not modified).
    Passing ``-sin`` rotates back: that is the backward pass.
    """
    # BEGIN SOLUTION
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    out = x.copy()
    out[..., :half] = x1 * cos - x2 * sin
    out[..., half:] = x1 * sin + x2 * cos
    return out
    # END SOLUTION


class Rotary(Function):
    """RoPE as one Function: forward rotates by ``+angle``, backward by ``-angle``."""

    saves_inputs = False  # backward needs only the tables

    def forward(self, x: Array, cos: Array, sin: Array) -> Array:
        self.cos, self.sin = cos, sin
        return rope_rotate(x, cos, sin)

    def backward(self, grad: Array) -> Array:
        return rope_rotate(grad, self.cos, -self.sin)


def apply_rope(x: Tensor, cos: np.ndarray, sin: np.ndarray, start: int = 0) -> Tensor:
    """Rotate ``x`` ``(B, H, N, d)`` as if its rows sat at positions ``start … start + N - 1``.

    ``cos``/``sin`` are the float64 tables of :func:`rope_angles` (at least ``start + N`` rows).
    """
    if x.ndim < 2 or x.shape[-1] != 2 * cos.shape[1]:
        raise ShapeError(f"apply_rope: input {x.shape} needs last dimension {2 * cos.shape[1]}")
    n = x.shape[-2]
    if start < 0 or start + n > cos.shape[0]:
        raise ShapeError(f"apply_rope: positions {start}..{start + n - 1} exceed the table's "
                         f"{cos.shape[0]} positions (raise context_length)")
    backend = get_backend(x.device)
    c = backend.from_host(np.ascontiguousarray(cos[start:start + n], dtype=x.dtype))
    s = backend.from_host(np.ascontiguousarray(sin[start:start + n], dtype=x.dtype))
    return Rotary.apply(x, cos=c, sin=s)


class RotaryEmbedding(Module):
    """Precomputed RoPE tables for ``head_dim`` and up to ``max_positions``; no parameters.

    ``rope(x, start)`` rotates ``x`` ``(B, H, N, d)`` for positions ``start … start + N - 1``.
    """

    def __init__(self, head_dim: int, max_positions: int, base: float = 10000.0) -> None:
        super().__init__()
        self.head_dim, self.max_positions, self.base = head_dim, max_positions, base
        self.cos, self.sin = rope_angles(head_dim, max_positions, base)

    def forward(self, x: Tensor, start: int = 0) -> Tensor:
        return apply_rope(x, self.cos, self.sin, start)

    def extra_repr(self) -> str:
        return f"head_dim={self.head_dim}, max_positions={self.max_positions}, base={self.base}"
