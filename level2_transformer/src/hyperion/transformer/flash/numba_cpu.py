"""FlashAttention-2 on the CPU with numba: parallel over batch × heads, tiles, online softmax.

The algorithm is :mod:`hyperion.transformer.flash.tiled_numpy`'s, compiled. The design choices:

* **Parallelism**: forward, ``prange`` over (head, query block) pairs, so one head still fills every
  core; backward, over the ``B·H`` heads: each head is one thread's, so its ``dQ``, ``dK`` and ``dV``
  are written by one thread only (no atomics, no locks).
* **One BLAS thread per numba thread**: the tile products run inside numba's parallel region, so the
  wrapper runs it under :func:`~.blas_threads.blas_single_threaded` (a threaded OpenBLAS nested in
  numba's OpenMP threads oversubscribed the cores and flooded stderr with warnings).
* **Blocked layout**: the wrapper views ``q, k, v`` as blocks ``(B·H, n_blocks, block, d)`` (a copy,
  ``O(N·d)``, zero-padded where N is not a multiple of the block), so every tile is a full, C-contiguous
  ``block × d`` matrix and such sizes need no special case: the padded keys are masked.
* **Tile matmuls** (``S = Q_i K_jᵀ``, ``P V_j``, and the four of backward) go to BLAS through numba's
  ``np.dot(a, b, out)`` on 256×256 tiles: the data stays in cache, the FLOPs run at BLAS speed.
* **Softmax, masks and rescaling** are plain loops over a tile row (contiguous, vectorised by LLVM:
  float32 constants throughout, the row maximum taken over the scores' bit patterns as int32).
* **No allocation inside the kernels**: every buffer, per-head scratch tiles included, is
  allocated by the Python wrapper, so ``tracemalloc`` measures the true peak memory:
  ``O(B·H·(N·d + block²))`` — linear in N.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config, get_thread_id, njit, prange

from hyperion.transformer.flash._inputs import causal_shift, check_qkv, default_scale
from hyperion.transformer.flash.blas_threads import blas_single_threaded

# rows per query block and per key block: 128 x 128 tiles ran 1.3-1.5x faster than 64 x 64 (BLAS is
# more efficient on larger products), and 256 x 256 another 10-15 % faster than 128 x 128 (2 threads,
# B·H = 4, d = 64, N = 2048 and 4096, forward and backward, measured 2026-12-04); a 256 x 256 float32
# tile is 256 KB, half the 512 KB L2
BLOCK = BLOCK_Q = BLOCK_K = 256
# fastmath without "nnan"/"ninf": the masks are -inf and must compare as such.
FASTMATH = {"contract", "reassoc", "arcp", "nsz", "afn"}


def to_blocks(x: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """``(B, H, N, d)`` → zero-padded C-contiguous blocks ``(B·H, ceil(N/block), block, d)``.

    Where N is a whole number of blocks nothing needs padding: a C-contiguous ``x`` is only reshaped (a view,
    which the kernels read and never write; 2-3 % of a forward at N = 1024 was this copy)."""
    batch, heads, n, d = x.shape
    n_blocks = -(-n // block)
    if n == n_blocks * block:
        return np.ascontiguousarray(x).reshape(batch * heads, n_blocks, block, d)
    out = np.zeros((batch * heads, n_blocks * block, d), x.dtype)
    out[:, :n] = x.reshape(batch * heads, n, d)
    return out.reshape(batch * heads, n_blocks, block, d)


def from_blocks(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`to_blocks` (drops the padding rows)."""
    batch, heads, n, d = shape
    return x.reshape(batch * heads, -1, d)[:, :n].reshape(shape)


def key_valid(key_padding_mask: np.ndarray | None, batch: int, n_k: int, block: int = BLOCK) -> np.ndarray:
    """``uint8 (B, n_blocks·block)``: 1 for a real, unpadded key; 0 for padding and the tail past N_k."""
    n_pad = -(-n_k // block) * block
    valid = np.zeros((batch, n_pad), np.uint8)
    valid[:, :n_k] = 1 if key_padding_mask is None else ~key_padding_mask
    return valid


# float32 constants (a Python float would turn the whole loop into float64)
_F = np.float32
_LOG2E, _LN2_HI, _LN2_LO, _LOW = _F(1.4426950408889634), _F(0.693359375), _F(-2.12194440e-4), _F(-87.0)
# -inf and 0 as float32: numba gives a variable one type for the whole function, so one float64 literal
# assigned to a score (``x = -np.inf``) made every score of the tile loops float64 (measured: the forward
# ran ~15 % slower, 2026-12-04); with float64 inputs these widen to float64 as they should
_NEG_INF, _ZERO = _F(-np.inf), _F(0.0)
_EXP_POLY = (_F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3), _F(4.1665795894e-2),
             _F(1.6666665459e-1), _F(5.0000001201e-1))


_I31, _IMAX = np.int32(31), np.int32(0x7FFFFFFF)


@njit(cache=True)
def row_max_f32(row):
    """``max(row)`` of a float32 row, as an integer maximum over its bit patterns (LLVM vectorises it).

    numba's float ``max`` keeps NaN semantics, so a running float maximum stays a scalar chain of
    compares (0.6-1.5 ns a score here, as much as the exponential); an int32 maximum runs 4-9x faster.
    ``b ^ ((b >> 31) & 0x7FFFFFFF)`` orders float32 bit patterns as signed ints (negative floats
    have their magnitude bits flipped), -inf included; the inverse map is the same xor, and the
    winner's bits are read back as a float by a scalar ``view``.
    """
    ints = row.view(np.int32)
    best = np.int32(-2147483648)
    for c in range(ints.shape[0]):
        b = ints[c]
        best = max(best, b ^ ((b >> _I31) & _IMAX))
    return np.int32(best ^ ((best >> _I31) & _IMAX)).view(np.float32)


@njit(cache=True, fastmath=FASTMATH)
def exp_shifted_row(row, scale, shift):
    """``row[c] = exp(scale·row[c] - shift)`` in place, in float32, in one loop LLVM vectorises; returns the row's sum.

    numba's ``math.exp`` is a scalar libm call (~4 ns); numpy's is vectorised — that alone made
    naive attention faster. Here: ``x = k·ln2 + f`` with ``k = round(x / ln2)`` and ``|f| <= ln2/2``,
    ``exp(f)`` by the Cephes degree-6 polynomial (relative error ~1e-7), and ``2^k`` built from its
    exponent bits (``(k + 127) << 23`` read as a float32 by a scalar ``view``). Arguments below -87
    (and -inf, the masked scores) give exactly 0; above 88.3 (k = 128) inf, where float32's own exp
    overflows at 88.72 — the kernels' arguments are scores minus their row's maximum, never above 0.
    """
    p0, p1, p2, p3, p4, p5 = _EXP_POLY
    total = _F(0.0)
    for c in range(row.shape[0]):
        x = row[c] * scale - shift
        keep = x > _LOW
        x = max(x, _LOW)
        k = np.floor(x * _LOG2E + _F(0.5))
        f = x - k * _LN2_HI - k * _LN2_LO
        poly = ((((p0 * f + p1) * f + p2) * f + p3) * f + p4) * f + p5
        two_k = np.int32((np.int32(k) + np.int32(127)) << np.int32(23)).view(np.float32)
        y = (poly * f * f + f + _F(1.0)) * two_k if keep else _F(0.0)
        row[c] = y
        total += y
    return total


@njit(cache=True, fastmath=FASTMATH)
def forward_head(q, k, v, key_ok, causal, diag, scale, out, lse, s, pv, m, l):
    """Task 2.11: the FlashAttention-2 forward pass of one head, in numba, without allocating.

    ``q (n_qb, Br, d)``, ``k, v (n_kb, Bc, d)`` are zero-padded blocks; ``key_ok (n_kb·Bc)`` is 1 for a
    real key, 0 for padding. Write ``out (n_qb, Br, d)`` (use each ``out[i]`` as the accumulator)
    and ``lse (n_qb, Br)``; ``s (Br, Bc)``, ``pv (Br, d)``, ``m, l (Br)`` are scratch you may
    overwrite. :func:`exp_shifted_row` exponentiates a float32 row (use ``math.exp`` for float64).
    For each query block ``i``: reset ``m = -inf, l = 0, acc = 0``; for each key block
    ``j`` (causal: only up to the one holding key ``i0 + Br - 1 + diag``): ``np.dot(q[i], k[j].T, s)``;
    per row scale, mask (``-inf`` where ``key_ok`` is 0 or, if causal, key > query + ``diag``: 0 for
    top-left alignment, ``N_k - N_q`` for bottom-right, see ``_inputs``), then the online
    softmax update of Task 2.9 written as loops (mask only tiles that need it: testing every
    score is slow; fuse the passes over a row); ``np.dot(s, v[j], pv)`` and ``acc = α·acc + pv``
    (keep each row's ``α`` in ``lse[i]`` until the end). Finally
    ``acc / l`` and ``lse = m + log l`` (0 and ``-inf`` for a row that saw no key). Keep float32
    scores float32 (``np.float32`` constants: one float64 literal makes numba widen the whole
    loop); :func:`row_max_f32` gives a float32 row's maximum faster than a loop of ``max``.

    Why: this is the version that must beat naive attention — same FLOPs, but every tile stays in
    cache and nothing of size N² is ever written. Allocating here (``np.empty``, ``a @ b``) is
    invisible to ``tracemalloc`` and slow: use the buffers you are given.
    """
    # BEGIN SOLUTION
    n_qb, br, d = q.shape
    n_kb, bc, _ = k.shape
    for i in range(n_qb):
        i0 = i * br
        acc = out[i]
        acc[:] = 0.0
        m[:] = -np.inf
        l[:] = 0.0
        n_visit = max(0, min(n_kb, (i0 + br - 1 + diag) // bc + 1)) if causal else n_kb
        for j in range(n_visit):
            j0 = j * bc
            np.dot(q[i], k[j].T, s)
            masked_tile = key_ok[j0:j0 + bc].min() == 0 or (causal and j0 + bc - 1 > i0 + diag)
            for r in range(br):
                row_max = m[r]
                if masked_tile:  # scale, mask and row maximum in one pass
                    for c in range(bc):
                        x = s[r, c] * scale
                        if key_ok[j0 + c] == 0 or (causal and j0 + c > i0 + r + diag):
                            x = _NEG_INF  # float32 (a float64 literal would widen every score)
                        s[r, c] = x
                        row_max = max(row_max, x)
                elif s.itemsize == 4 and scale > 0:  # float32: the scores stay unscaled, the exp scales them
                    row_max = max(row_max, row_max_f32(s[r]) * scale)
                else:
                    for c in range(bc):
                        x = s[r, c] * scale
                        s[r, c] = x
                        row_max = max(row_max, x)
                shift = _ZERO if row_max == _NEG_INF else row_max
                alpha = math.exp(m[r] - shift)
                if s.itemsize == 4:  # float32: the vectorised exp (of scaled scores unless already scaled)
                    unscaled = not masked_tile and scale > 0
                    total = exp_shifted_row(s[r], scale if unscaled else _F(1.0), shift)
                else:
                    total = 0.0
                    for c in range(bc):
                        s[r, c] = math.exp(s[r, c] - shift)
                        total += s[r, c]
                l[r] = alpha * l[r] + total
                m[r] = row_max
                lse[i, r] = alpha  # lse[i] holds each row's rescale factor until the end
            np.dot(s, v[j], pv)
            for r in range(br):  # acc = alpha * acc + P V, one pass
                alpha = lse[i, r]
                for t in range(d):
                    acc[r, t] = acc[r, t] * alpha + pv[r, t]
        for r in range(br):
            if l[r] > 0.0:
                inv = 1.0 / l[r]
                for t in range(d):
                    acc[r, t] *= inv
                lse[i, r] = m[r] + math.log(l[r])
            else:
                acc[r, :] = 0.0
                lse[i, r] = -np.inf
    # END SOLUTION


@njit(parallel=True, cache=True)
def _forward_all(q, k, v, key_ok, heads, causal, diag, scale, out, lse, s, pv, m, l):
    """Every (head, query block) pair is one work item: B·H = 1 still fills every core.

    Scratch is per thread (``numba.get_thread_id``). The query blocks are visited in the order
    0, n-1, 1, n-2, ... so that each thread's contiguous share mixes short causal rows with long ones.
    """
    bh_count, n_qb = q.shape[0], q.shape[1]
    br = q.shape[2]
    for item in prange(bh_count * n_qb):
        bh = item % bh_count
        rank = item // bh_count
        i = rank // 2 if rank % 2 == 0 else n_qb - 1 - rank // 2
        t = get_thread_id()
        # one query block is a head of its own whose diagonal is shifted by the block's first row
        forward_head(q[bh, i:i + 1], k[bh], v[bh], key_ok[bh // heads], causal, diag + i * br, scale,
                     out[bh, i:i + 1], lse[bh, i:i + 1], s[t], pv[t], m[t], l[t])


@njit(cache=True, fastmath=FASTMATH)
def backward_head(q, k, v, do, lse, delta, key_ok, causal, diag, scale, dq, dk, dv, s, dp, tmp_q, tmp_k):
    """One head's backward: key blocks outside, query blocks inside; P recomputed from the saved LSE.

    ``q`` comes pre-multiplied by ``scale`` (so ``S = q kᵀ`` needs no pass of its own, and
    ``dK = dSᵀ (scale·Q)`` needs no scale either); ``dq`` is accumulated without the scale, which the
    wrapper applies once at the end (``O(N·d)`` instead of a multiply per score).
    ``dq (n_qb, Br, d)`` must be zero on entry; ``dk, dv (n_kb, Bc, d)`` are written.
    """
    n_qb, br, d = q.shape
    n_kb, bc, _ = k.shape
    for j in range(n_kb):
        j0 = j * bc
        dk[j] = 0.0
        dv[j] = 0.0
        first_i = max(0, j0 - diag) // br if causal else 0  # causal: earlier query blocks see none of these keys
        for i in range(first_i, n_qb):
            i0 = i * br
            np.dot(q[i], k[j].T, s)
            np.dot(do[i], v[j].T, dp)
            masked_tile = key_ok[j0:j0 + bc].min() == 0 or (causal and j0 + bc - 1 > i0 + diag)
            for r in range(br):
                row_lse = lse[i, r]
                if row_lse == -np.inf:  # a row that sees no key: P = 0
                    s[r, :] = 0.0
                else:
                    if masked_tile:
                        for c in range(bc):
                            if key_ok[j0 + c] == 0 or (causal and j0 + c > i0 + r + diag):
                                s[r, c] = -np.inf
                    if s.itemsize == 4:  # float32: the vectorised exp
                        exp_shifted_row(s[r], _F(1.0), row_lse)  # P = exp(S - L)
                    else:
                        for c in range(bc):
                            s[r, c] = math.exp(s[r, c] - row_lse)
                row_delta = delta[i, r]
                for c in range(bc):
                    dp[r, c] = s[r, c] * (dp[r, c] - row_delta)  # dS (the scale: in q for dK, at the end for dQ)
            np.dot(s.T, do[i], tmp_k)
            dv[j] += tmp_k
            np.dot(dp.T, q[i], tmp_k)
            dk[j] += tmp_k
            np.dot(dp, k[j], tmp_q)
            dq[i] += tmp_q


@njit(parallel=True, cache=True)
def _backward_all(q, k, v, do, lse, delta, key_ok, heads, causal, diag, scale, dq, dk, dv, s, dp, tmp_q, tmp_k):
    for bh in prange(q.shape[0]):
        backward_head(q[bh], k[bh], v[bh], do[bh], lse[bh], delta[bh], key_ok[bh // heads], causal, diag, scale,
                      dq[bh], dk[bh], dv[bh], s[bh], dp[bh], tmp_q[bh], tmp_k[bh])


def _compute_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)  # float16 computes in float32


def flash_forward(q, k, v, *, causal=False, key_padding_mask=None, scale=None, block_q=BLOCK_Q, block_k=BLOCK_K):
    """``(O, lse)`` for ``q (B, H, N_q, d)``, ``k, v (B, H, N_k, d)`` numpy arrays (float16 computes in float32)."""
    check_qkv(q, k, v, key_padding_mask, "flash_forward (numba)")
    dtype = _compute_dtype(q.dtype)
    batch, heads, n_q, d = q.shape
    qb = to_blocks(q.astype(dtype, copy=False), block_q)
    kb, vb = (to_blocks(x.astype(dtype, copy=False), block_k) for x in (k, v))
    bh, n_qb = qb.shape[:2]
    out = np.empty_like(qb)
    lse = np.empty((bh, n_qb, block_q), dtype)
    threads = config.NUMBA_NUM_THREADS  # scratch per thread, indexed by numba.get_thread_id()
    s = np.empty((threads, block_q, block_k), dtype)
    pv = np.empty((threads, block_q, d), dtype)
    m, l = np.empty((threads, block_q), dtype), np.empty((threads, block_q), dtype)
    scale = dtype.type(default_scale(d, scale))
    key_ok = key_valid(key_padding_mask, batch, k.shape[2], block_k)
    diag = causal_shift(causal, n_q, k.shape[2])
    with blas_single_threaded():
        _forward_all(qb, kb, vb, key_ok, heads, bool(causal), diag, scale, out, lse, s, pv, m, l)
    lse = lse.reshape(batch, heads, -1)[:, :, :n_q]
    return from_blocks(out, q.shape).astype(q.dtype, copy=False), lse


def flash_backward(
    q, k, v, out, lse, dout, *, causal=False, key_padding_mask=None, scale=None, block_q=BLOCK_Q, block_k=BLOCK_K
):
    """``(dQ, dK, dV)`` from the forward's ``out`` and ``lse`` (float32 ``lse`` for float16 inputs)."""
    check_qkv(q, k, v, key_padding_mask, "flash_backward (numba)")
    dtype = _compute_dtype(q.dtype)
    batch, heads, n_q, d = q.shape
    scale = dtype.type(default_scale(d, scale))
    qb = to_blocks(np.multiply(q, scale, dtype=dtype), block_q)  # pre-scaled (see backward_head), one pass
    dob = to_blocks(dout.astype(dtype, copy=False), block_q)
    kb, vb = (to_blocks(x.astype(dtype, copy=False), block_k) for x in (k, v))
    bh, n_qb = qb.shape[:2]
    delta = (dout.astype(dtype, copy=False) * out.astype(dtype, copy=False)).sum(axis=-1)
    pad_rows = ((0, 0), (0, 0), (0, n_qb * block_q - n_q))
    lse_b = np.pad(lse.astype(dtype), pad_rows, constant_values=-np.inf).reshape(bh, n_qb, block_q)
    delta_b = np.pad(delta, pad_rows).reshape(bh, n_qb, block_q)
    dq, dk, dv = np.zeros_like(qb), np.empty_like(kb), np.empty_like(vb)
    s, dp = np.empty((bh, block_q, block_k), dtype), np.empty((bh, block_q, block_k), dtype)
    tmp_q, tmp_k = np.empty((bh, block_q, d), dtype), np.empty((bh, block_k, d), dtype)
    key_ok = key_valid(key_padding_mask, batch, k.shape[2], block_k)
    diag = causal_shift(causal, n_q, k.shape[2])
    with blas_single_threaded():
        _backward_all(qb, kb, vb, dob, lse_b, delta_b, key_ok, heads, bool(causal), diag, scale, dq, dk, dv, s, dp,
                      tmp_q, tmp_k)
    dq *= scale
    return tuple(from_blocks(g, x.shape).astype(q.dtype, copy=False) for g, x in ((dq, q), (dk, k), (dv, v)))
