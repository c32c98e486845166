"""The KV cache: keep every layer's past keys and values so each new token costs O(context).

Without a cache, generating token ``t`` reruns the model on all ``t`` tokens: O(t²) attention work
per token (and O(t) for every projection and MLP). But the keys and values of past tokens never
change — a causal model's token ``j`` only ever looks at tokens ``≤ j``. So store them: a new token
computes its own q, k, v (O(1) projections), appends k and v, and attends over the ``t`` cached
keys (O(t)).

Storage is preallocated for ``max_length`` positions and filled left to right, so an append writes
only the new rows (no ``cat`` that would copy the whole past every step). The cache is for inference:
stored values carry no gradient.
"""

from __future__ import annotations

from typing import Any

from hyperion.tensor import Tensor, no_grad, zeros
from hyperion.tensor.errors import ShapeError


class KVCache:
    """Keys and values of one attention layer, ``(B, H, max_length, d)`` each, filled to ``length``."""

    def __init__(self, batch: int, n_head: int, max_length: int, head_dim: int, *, device: str = "cpu",
                 dtype: Any = None) -> None:
        self.keys = zeros(batch, n_head, max_length, head_dim, dtype=dtype, device=device)
        self.values = zeros(batch, n_head, max_length, head_dim, dtype=dtype, device=device)
        self.max_length, self.length = max_length, 0

    def append(self, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Task 2.6: store ``k``, ``v`` ``(B, H, t, d)`` at positions ``length … length + t - 1``.

        Check the shapes (``(B, H, d)`` must match the cache's, ``k`` and ``v`` alike) and that the
        new rows fit (``ShapeError`` naming ``max_length`` otherwise). Write them in place into
        ``self.keys`` / ``self.values`` (under ``no_grad``, as detached values), advance
        ``self.length`` by ``t``, and return views of everything stored so far:
        ``keys[:, :, :length]`` and ``values[:, :, :length]`` — no copy of the past.
        """
        # BEGIN SOLUTION
        batch, heads, _, dim = self.keys.shape
        if k.shape != v.shape or k.ndim != 4 or (k.shape[0], k.shape[1], k.shape[3]) != (batch, heads, dim):
            raise ShapeError(f"KVCache.append: k {k.shape} and v {v.shape} must both be "
                             f"({batch}, {heads}, t, {dim})")
        start, stop = self.length, self.length + k.shape[2]
        if stop > self.max_length:
            raise ShapeError(f"KVCache.append: {stop} positions exceed max_length={self.max_length}")
        with no_grad():
            self.keys[:, :, start:stop] = k.detach()
            self.values[:, :, start:stop] = v.detach()
        self.length = stop
        return self.keys[:, :, :stop], self.values[:, :, :stop]
        # END SOLUTION

    def reset(self) -> None:
        """Forget everything (the storage is kept and overwritten)."""
        self.length = 0
