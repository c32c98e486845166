"""Splitting the embedding into attention heads and merging them back: pure reshapes and permutes.

A model of width ``C = H · d`` runs ``H`` attentions of width ``d`` side by side. Instead of a Python
loop over heads, the heads become one more batch dimension: ``(B, T, C)`` is viewed as
``(B, T, H, d)`` and permuted to ``(B, H, T, d)``, so one batched matmul serves every head at once.
Both directions are views except the final reshape of ``merge_heads``, which copies because the
permuted layout is not contiguous.
"""

from __future__ import annotations

from hyperion.tensor import Tensor
from hyperion.tensor.errors import ShapeError


def split_heads(x: Tensor, n_head: int) -> Tensor:
    """Task 2.3: ``(B, T, C)`` → ``(B, H, T, C/H)``: head ``h`` gets features ``h·d … (h+1)·d - 1``.

    Reshape to ``(B, T, H, d)`` (a view: the last dimension splits into ``H`` runs of ``d``), then
    permute to ``(B, H, T, d)`` so the heads act as a batch dimension for batched matmul. Raise a
    ``ShapeError`` when ``x`` is not 3-D or ``C`` is not divisible by ``n_head``.
    """
    # BEGIN SOLUTION
    if x.ndim != 3:
        raise ShapeError(f"split_heads: expected (B, T, C), got shape {x.shape}")
    batch, length, width = x.shape
    if width % n_head:
        raise ShapeError(f"split_heads: width {width} is not divisible by n_head={n_head}")
    return x.reshape(batch, length, n_head, width // n_head).permute(0, 2, 1, 3)
    # END SOLUTION


def merge_heads(x: Tensor) -> Tensor:
    """Task 2.3: ``(B, H, T, d)`` → ``(B, T, H·d)``, the inverse of :func:`split_heads`.

    Permute back to ``(B, T, H, d)`` and reshape to ``(B, T, H·d)`` (a copy, since the permuted
    tensor is not contiguous). Raise a ``ShapeError`` when ``x`` is not 4-D.
    """
    # BEGIN SOLUTION
    if x.ndim != 4:
        raise ShapeError(f"merge_heads: expected (B, H, T, d), got shape {x.shape}")
    batch, n_head, length, head_dim = x.shape
    return x.permute(0, 2, 1, 3).reshape(batch, length, n_head * head_dim)
    # END SOLUTION
