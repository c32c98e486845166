"""Argument checking and masks shared by every attention variant (naive, numpy tiles, numba, CUDA).

Conventions, one place for all of them:

* ``q`` is ``(B, H, N_q, d)``, ``k`` and ``v`` are ``(B, H, N_k, d)``; any array module (numpy, CuPy).
* ``causal=True`` (or ``"top_left"``) lets query ``i`` see keys ``j <= i`` (top-left aligned, as
  PyTorch's ``scaled_dot_product_attention(is_causal=True)``; with ``N_q != N_k`` the diagonal starts at
  (0, 0)). ``causal="bottom_right"`` lets query ``i`` see keys ``j <= i + N_k - N_q``: the last query
  sees the last key, as when ``N_q`` new tokens attend to a KV cache of ``N_k`` (with ``N_q == N_k``
  both are the same mask). In every variant: key ``j`` visible to query ``i`` iff ``j <= i + shift``.
* ``key_padding_mask`` is a bool ``(B, N_k)`` array, ``True`` = padding: that key is masked out.
* ``scale`` defaults to ``1 / sqrt(d)``.
* A query row that sees no key at all (fully masked) has output 0, log-sum-exp ``-inf`` and zero
  gradients: the softmax over an empty set is taken to be the zero vector, never NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_qkv(q: Any, k: Any, v: Any, key_padding_mask: Any = None, where: str = "attention") -> None:
    """Raise a ``ValueError`` naming the problem when shapes or dtypes do not fit together."""
    for name, x in (("q", q), ("k", k), ("v", v)):
        if x.ndim != 4:
            raise ValueError(f"{where}: {name} must be (B, H, N, d), got shape {tuple(x.shape)}")
    if k.shape != v.shape:
        raise ValueError(f"{where}: k and v must have one shape, got {tuple(k.shape)} and {tuple(v.shape)}")
    if q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3]:
        raise ValueError(f"{where}: q {tuple(q.shape)} and k {tuple(k.shape)} must agree in B, H and d")
    if not (q.dtype == k.dtype == v.dtype) or q.dtype.kind != "f":
        raise ValueError(f"{where}: q, k, v must share one floating dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if key_padding_mask is not None:
        batch, n_k = k.shape[0], k.shape[2]
        if key_padding_mask.shape != (batch, n_k) or key_padding_mask.dtype != np.bool_:
            raise ValueError(
                f"{where}: key_padding_mask must be a bool (B, N_k) = ({batch}, {n_k}) array "
                f"(True = padding), got {key_padding_mask.dtype} {tuple(key_padding_mask.shape)}"
            )


CAUSAL_MODES = {False: 0, True: 1, "top_left": 1, "bottom_right": 2}


def causal_mode(causal: bool | str) -> int:
    """0 (not causal), 1 (top-left) or 2 (bottom-right): the ``causal`` argument of the CUDA kernels."""
    if isinstance(causal, bool | str) and causal in CAUSAL_MODES:
        return CAUSAL_MODES[causal]
    raise ValueError(f"causal must be False, True, 'top_left' or 'bottom_right', got {causal!r}")


def causal_shift(causal: bool | str, n_q: int, n_k: int) -> int:
    """The diagonal offset: query ``i`` sees key ``j`` iff ``j <= i + shift`` (0 unless bottom-right)."""
    return n_k - n_q if causal_mode(causal) == 2 else 0


def default_scale(d: int, scale: float | None) -> float:
    return 1.0 / math.sqrt(d) if scale is None else float(scale)


def allowed_mask(
    xp: Any, n_q: int, n_k: int, causal: bool | str, key_padding_mask: Any = None, q0: int = 0, k0: int = 0,
    shift: int = 0,
) -> Any:
    """Bool ``(B or 1, 1, n_q, n_k)``: which (query, key) pairs may attend, for the tile at (q0, k0).

    ``key_padding_mask`` here is already sliced to the tile's keys, ``(B, n_k)``; ``shift`` is
    :func:`causal_shift` of the whole problem. ``None`` when nothing is masked (the common fast path).
    """
    allowed = None
    if causal:
        rows = xp.arange(q0, q0 + n_q)[:, None]
        cols = xp.arange(k0, k0 + n_k)[None, :]
        allowed = (cols <= rows + shift)[None, None]
    if key_padding_mask is not None:
        keep = ~key_padding_mask[:, None, None, :]
        allowed = keep if allowed is None else allowed & keep
    return allowed
