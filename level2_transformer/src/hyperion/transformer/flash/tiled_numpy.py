"""FlashAttention-2 in numpy blocks: the algorithm, readable, before it is made fast.

Never build the ``N_q × N_k`` scores. Cut the queries into row blocks ``Q_i`` (``block_q`` rows) and the
keys/values into column blocks ``K_j, V_j`` (``block_k`` rows). For one query block, sweep the key
blocks and keep, per query row, three running quantities:

* ``m`` — the largest score seen so far,
* ``l`` — the sum of ``exp(s − m)`` over the scores seen so far,
* ``acc`` — the sum of ``exp(s − m) · v`` over the keys seen so far (a ``d``-vector).

When a new tile of scores ``S_ij`` arrives, the maximum may grow to ``m' = max(m, rowmax S_ij)``;
everything accumulated so far was scaled by ``exp(−m)`` and must now be scaled by ``exp(−m')``, so it
is multiplied by ``α = exp(m − m')`` (the *online softmax*)::

    P̃ = exp(S_ij − m')       l' = α l + rowsum P̃       acc' = α acc + P̃ V_j

After the last tile, ``O_i = acc / l`` and the row's log-sum-exp is ``L_i = m + log l``. Only ``O`` and
``L`` (N_q numbers per head) are kept for the backward pass, which recomputes each tile of
``P = exp(S − L)`` exactly instead of storing it. Memory: ``O(N·d)`` instead of ``O(N²)``.

With ``causal=True`` a key block entirely to the right of the diagonal holds only masked scores:
it is skipped, halving the work. Every tile here is batched over ``B·H`` by numpy broadcasting.
"""

from __future__ import annotations

import numpy as np

from hyperion.transformer.flash._inputs import allowed_mask, causal_shift, check_qkv, default_scale

BLOCK_Q = 64
BLOCK_K = 64


def online_softmax_update(
    m: np.ndarray, l: np.ndarray, acc: np.ndarray, s: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Task 2.9: fold one tile of scores into the running softmax state; return ``(m', l', acc')``.

    ``m, l`` are ``(..., Br)`` (running max and running sum of exponentials; ``m = -inf`` and ``l = 0``
    before the first tile), ``acc`` is ``(..., Br, d)``, ``s`` the tile's scaled, masked scores
    ``(..., Br, Bc)`` (masked entries are ``-inf``) and ``v`` the tile's values ``(..., Bc, d)``.

    ``m' = max(m, rowmax s)``, ``α = exp(m − m')``, ``P̃ = exp(s − m')``, ``l' = α l + rowsum P̃`` and
    ``acc' = α acc + P̃ v``. Why: rescaling by ``α`` keeps every exponent ≤ 0 (no overflow) while the
    result is exactly the softmax over all keys seen so far. A row whose scores are all ``-inf`` so
    far has ``m' = -inf``: use 0 in its place in the exponents, so that ``exp(-inf − 0) = 0`` rather
    than ``exp(-inf + inf) = NaN`` (its ``l`` and ``acc`` stay 0).
    """
    # BEGIN SOLUTION
    m_new = np.maximum(m, s.max(axis=-1))
    m_safe = np.where(np.isneginf(m_new), 0, m_new).astype(s.dtype)
    alpha = np.exp(m - m_safe)
    p = np.exp(s - m_safe[..., None])
    l_new = alpha * l + p.sum(axis=-1)
    acc_new = alpha[..., None] * acc + p @ v
    return m_new, l_new, acc_new
    # END SOLUTION


def _tile_scores(q_i, k_j, scale, causal, key_padding_mask, i0, j0, shift=0):
    """Scaled scores of one tile, masked entries -inf, and the tile's bool mask (``None``: nothing masked)."""
    s = (q_i @ k_j.swapaxes(-1, -2)) * q_i.dtype.type(scale)
    pad = None if key_padding_mask is None else key_padding_mask[:, j0 : j0 + k_j.shape[2]]
    allowed = allowed_mask(np, q_i.shape[2], k_j.shape[2], causal, pad, i0, j0, shift)
    if allowed is not None:
        s = np.where(allowed, s, -np.inf).astype(q_i.dtype)
    return s, allowed


def key_blocks(i0: int, n_rows: int, n_k: int, block_k: int, causal: bool | str, shift: int = 0) -> range:
    """Start indices of the key blocks query rows ``i0 .. i0+n_rows-1`` must visit (causal: j <= i + shift)."""
    stop = max(0, min(n_k, i0 + n_rows + shift)) if causal else n_k
    return range(0, stop, block_k)


def flash_forward_numpy(
    q, k, v, *, causal=False, key_padding_mask=None, scale=None, block_q=BLOCK_Q, block_k=BLOCK_K
):
    """``(O, lse)`` by tiles and the online softmax; equals :func:`naive_attention_forward`."""
    check_qkv(q, k, v, key_padding_mask, "flash_forward_numpy")
    scale = default_scale(q.shape[-1], scale)
    batch, heads, n_q, d = q.shape
    out = np.zeros(q.shape, q.dtype)
    lse = np.full((batch, heads, n_q), -np.inf, q.dtype)
    shift = causal_shift(causal, n_q, k.shape[2])
    for i0 in range(0, n_q, block_q):
        q_i = q[:, :, i0 : i0 + block_q]
        rows = q_i.shape[2]
        m = np.full((batch, heads, rows), -np.inf, q.dtype)
        l = np.zeros((batch, heads, rows), q.dtype)
        acc = np.zeros((batch, heads, rows, d), q.dtype)
        for j0 in key_blocks(i0, rows, k.shape[2], block_k, causal, shift):
            s, _ = _tile_scores(q_i, k[:, :, j0 : j0 + block_k], scale, causal, key_padding_mask, i0, j0, shift)
            m, l, acc = online_softmax_update(m, l, acc, s, v[:, :, j0 : j0 + block_k])
        seen = l > 0
        out[:, :, i0 : i0 + rows] = acc / np.where(seen, l, 1)[..., None]
        with np.errstate(divide="ignore"):
            lse[:, :, i0 : i0 + rows] = np.where(seen, m + np.log(np.where(seen, l, 1)), -np.inf)
    return out, lse


def backward_tile(q_i, k_j, v_j, do_i, lse_i, delta_i, s_ij, scale):
    """Task 2.10: one tile of the FlashAttention backward pass; return ``(dQ_i, dK_j, dV_j)`` contributions.

    Shapes: ``q_i, do_i (..., Br, d)``, ``k_j, v_j (..., Bc, d)``, ``lse_i, delta_i (..., Br)`` where
    ``delta = rowsum(dO ∘ O)``, and ``s_ij (..., Br, Bc)`` the tile's scaled scores, masked entries
    ``-inf``.

    Recompute the probabilities from the saved log-sum-exp, ``P = exp(S − L)`` (exact: no running
    max needed any more; a fully masked row has ``L = -inf`` and must give ``P = 0``, not NaN), then
    ``dV_j = Pᵀ dO_i``, ``dP = dO_i V_jᵀ``, ``dS = P ∘ (dP − delta)`` (the softmax Jacobian, with
    ``rowsum(dP ∘ P) = rowsum(dO ∘ O) = delta``), ``dQ_i = scale · dS K_j``, ``dK_j = scale · dSᵀ Q_i``.
    Why: storing P would cost the N² memory the forward pass avoided; recomputing it costs one
    matmul per tile.
    """
    # BEGIN SOLUTION
    lse_safe = np.where(np.isneginf(lse_i), np.inf, lse_i).astype(s_ij.dtype)  # exp(s - inf) = 0
    p = np.exp(s_ij - lse_safe[..., None])
    dv = p.swapaxes(-1, -2) @ do_i
    dp = do_i @ v_j.swapaxes(-1, -2)
    ds = p * (dp - delta_i[..., None]) * s_ij.dtype.type(scale)
    return ds @ k_j, ds.swapaxes(-1, -2) @ q_i, dv
    # END SOLUTION


def flash_backward_numpy(
    q, k, v, out, lse, dout, *, causal=False, key_padding_mask=None, scale=None, block_q=BLOCK_Q, block_k=BLOCK_K
):
    """``(dQ, dK, dV)`` tile by tile from the saved ``out`` and ``lse``; no N×N matrix."""
    check_qkv(q, k, v, key_padding_mask, "flash_backward_numpy")
    scale = default_scale(q.shape[-1], scale)
    delta = (dout * out).sum(axis=-1)
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    shift = causal_shift(causal, q.shape[2], k.shape[2])
    for i0 in range(0, q.shape[2], block_q):
        q_i, do_i = q[:, :, i0 : i0 + block_q], dout[:, :, i0 : i0 + block_q]
        rows = q_i.shape[2]
        for j0 in key_blocks(i0, rows, k.shape[2], block_k, causal, shift):
            k_j, v_j = k[:, :, j0 : j0 + block_k], v[:, :, j0 : j0 + block_k]
            s, _ = _tile_scores(q_i, k_j, scale, causal, key_padding_mask, i0, j0, shift)
            lse_i, delta_i = lse[:, :, i0 : i0 + rows], delta[:, :, i0 : i0 + rows]
            dq_i, dk_j, dv_j = backward_tile(q_i, k_j, v_j, do_i, lse_i, delta_i, s, scale)
            dq[:, :, i0 : i0 + rows] += dq_i
            dk[:, :, j0 : j0 + block_k] += dk_j
            dv[:, :, j0 : j0 + block_k] += dv_j
    return dq, dk, dv
