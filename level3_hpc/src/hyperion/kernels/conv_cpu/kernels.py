"""numba kernels for the memory-bound work of convolution, max pooling and ReLU, one ``prange`` over independent rows.

Level 1's numpy versions walk the ``KH·KW`` kernel offsets ("taps") with one whole-tensor operation each: every
tap is a full (and strided) pass over memory. Here one compiled loop per task does every tap of its share -- an
``(n, c)`` image plane (col2im, pooling), a row of the column matrix (im2col), a plane or a channel (the layout
changes) -- in one pass. No two tasks write the same element, so the loops could run on every core
(``PARALLEL``); beside OpenBLAS's threads on 2 cores that measured slower (below). Padding is never
materialised: an offset outside the image reads 0 (convolution) or -inf (max pooling) and is skipped on the
way back.

Each kernel is compiled once per geometry -- kernel size, stride, padding and dilation are constants of
the compiled loop (``functools.cache`` over a factory), so LLVM unrolls the taps and vectorises the rows: the
same 2×2 max-pooling loop with them as run-time arguments measured 12x slower (128×32×28×28 float32, 2
threads: 1.8 ms against 0.15). The batch shape stays a run-time argument.

Two things made im2col and the pooling backward slower than they are now (at the CNN's shapes, 2026-12-07:
im2col of conv2 2x, the pooling backward 1.7-3.8x; ``results/conv-cpu-2026-12-07``), and are avoided where a
pass is hot: numba tests every
signed index for wraparound (``a[-1]``), and a bounds test on every element keeps LLVM from vectorising. So
im2col writes by flat offsets (unsigned) and copies the run of columns that lies inside the image without a
test, the edges apart; the pooling backward does the same for the windows inside the image. And a select
between a float32 value and a plain ``0`` is float64 in numba: the zeros are typed.

Same arithmetic and the same tie rule as level 1 (``hyperion.tensor.ops.conv``): ``col2im`` adds the taps in
the same order; max pooling keeps the first tap holding the maximum (only a strictly larger value takes over),
and a NaN becomes the maximum without taking the gradient, as ``numpy.maximum`` plus ``>`` do there.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

# One core each: OpenBLAS's threads spin for a while after every product, and a second thread pool competing
# with them for 2 cores cost more than its threads gained. The MNIST CNN step with these kernels on numba's
# 2 threads against 1, interleaved in one process: 53.3 against 48.1 ms (paired median 1.08x; two more runs
# 1.06x and 1.01x). With numba's OpenMP layer it was worse still: a pooling pass right after a product took
# 16.2 ms instead of 7.9. So the loops are compiled serial (``prange`` is then ``range``); set PARALLEL to
# try them on every core.
PARALLEL = False


@numba.njit(inline="always")
def _split(plane, c: int) -> tuple[int, int]:
    """Image and channel of plane ``plane`` (a prange index may be unsigned, and unsigned with signed
    arithmetic is float arithmetic in numba: cast first)."""
    plane = np.int64(plane)
    return plane // c, plane % c


@numba.njit(inline="always")
def _first(stride: int, offset: int) -> int:
    """The first output index ``q`` whose input position ``q·stride + offset`` is ≥ 0."""
    return 0 if offset >= 0 else (-offset + stride - 1) // stride


@numba.njit(inline="always")
def _stop(o: int, stride: int, offset: int, size: int) -> int:
    """One past the last output index ``q < o`` whose input position ``q·stride + offset`` is < ``size``."""
    if offset >= size:
        return 0
    return min(o, (size - 1 - offset) // stride + 1)


Geometry = tuple[int, int, int, int, int, int, int, int]  # kh, kw, sh, sw, ph, pw, dh, dw


@functools.cache
def _im2col(g: Geometry):
    kh, kw, sh, sw, ph, pw, dh, dw = g

    @numba.njit(parallel=PARALLEL)
    def kernel(x, oh, ow):
        n, c, h, w = x.shape
        cols = np.empty((kh * kw * c, n, oh, ow), x.dtype)
        flat_x, flat_cols = x.reshape(-1), cols.reshape(-1)  # flat offsets: no per-index wraparound tests
        plane_in, plane_out = h * w, oh * ow
        for r in numba.prange(kh * kw * c):  # one row of cols (tap i, j of channel ch), written front to back
            r = np.int64(r)
            ch, i, j = r % c, r // c // kw, r // c % kw
            shift = j * dw - pw
            q0, q1 = _first(sw, shift), _stop(ow, sw, shift, w)  # the outputs q whose column is inside
            q1 = max(q0, q1)
            for b in range(n):
                src0 = (b * c + ch) * plane_in
                dst0 = (r * n + b) * plane_out
                for p in range(oh):
                    row = p * sh + i * dh - ph
                    dst = dst0 + p * ow
                    if 0 <= row < h:
                        src = src0 + row * w + shift
                        for q in range(q0):
                            flat_cols[np.uint64(dst + q)] = 0
                        for q in range(q0, q1):  # no bounds test: a plain (for stride 1, vector) copy
                            flat_cols[np.uint64(dst + q)] = flat_x[np.uint64(src + q * sw)]
                        for q in range(q1, ow):
                            flat_cols[np.uint64(dst + q)] = 0
                    else:
                        for q in range(ow):
                            flat_cols[np.uint64(dst + q)] = 0
        return cols

    return kernel


def im2col(x, kernel, out_hw, stride, padding, dilation):
    """``(KH·KW·C, N·OH·OW)`` columns of ``x`` ``(N, C, H, W)`` padded with zeros (level 1's Task 1.11 layout)."""
    kh, kw = kernel
    cols = _im2col((kh, kw, *stride, *padding, *dilation))(x, *out_hw)
    return cols.reshape(kh * kw * x.shape[1], x.shape[0] * out_hw[0] * out_hw[1])


@functools.cache
def _col2im(g: Geometry):
    kh, kw, sh, sw, ph, pw, dh, dw = g

    @numba.njit(parallel=PARALLEL)
    def kernel(blocks, h, w):
        _, _, c, n, oh, ow = blocks.shape
        out = np.empty((n, c, h, w), blocks.dtype)
        for plane in numba.prange(n * c):
            b, ch = _split(plane, c)
            for r in range(h):
                for s in range(w):  # gather every tap that read input pixel (r, s), in level 1's tap order
                    total = blocks.dtype.type(0)
                    for i in range(kh):
                        pp = r + ph - i * dh
                        p = pp // sh
                        if pp < 0 or pp % sh != 0 or p >= oh:
                            continue
                        for j in range(kw):
                            qq = s + pw - j * dw
                            q = qq // sw
                            if qq >= 0 and qq % sw == 0 and q < ow:
                                total += blocks[i, j, ch, b, p, q]
                    out[b, ch, r, s] = total
        return out

    return kernel


def col2im(cols, x_shape, kernel, out_hw, stride, padding, dilation):
    """The adjoint of :func:`im2col`: ``(N, C, H, W)`` sums of the column entries, padding dropped (each input
    pixel gathers the taps that read it, in level 1's tap order: the same sums, rounded the same way)."""
    n, c, h, w = x_shape
    blocks = cols.reshape(*kernel, c, n, *out_hw)
    return _col2im((*kernel, *stride, *padding, *dilation))(blocks, h, w)


@numba.njit(parallel=PARALLEL, cache=True)
def nchw_plus_bias(out2d, bias, n, oh, ow):
    """``(O, N·OH·OW)`` product → ``(N, O, OH, OW)`` with ``bias[o]`` added (``bias`` of length 0: none)."""
    o = out2d.shape[0]
    src = out2d.reshape(o, n, oh * ow)
    res = np.empty((n, o, oh * ow), out2d.dtype)
    zero = out2d.dtype.type(0)  # typed: with a plain 0 the sum is float64 (select and add)
    for plane in numba.prange(n * o):
        b, ch = _split(plane, o)
        add = bias[ch] if bias.size else zero
        for k in range(oh * ow):
            res[b, ch, k] = src[ch, b, k] + add
    return res.reshape(n, o, oh, ow)


@functools.cache
def _maxpool_forward(g: Geometry):
    kh, kw, sh, sw, ph, pw, dh, dw = g
    wtype = np.int8 if kh * kw <= 127 else np.int32  # the winner's tap index: a byte for usual windows

    @numba.njit(inline="always")
    def exact(src, r0, c0, h, w):
        """One window by the rules: padding reads -inf, a NaN takes the maximum but not the gradient."""
        best = src[0, 0]
        win = 0
        for i in range(kh):
            row = r0 + i * dh
            for j in range(kw):
                col = c0 + j * dw
                v = src[row, col] if 0 <= row < h and 0 <= col < w else -np.inf
                if i == 0 and j == 0:
                    best = v
                elif v > best:
                    best, win = v, i * kw + j
                elif v != v:
                    best = v
        return best, win

    @numba.njit(parallel=PARALLEL)
    def kernel(x, oh, ow):
        n, c, h, w = x.shape
        out = np.empty((n, c, oh, ow), x.dtype)
        winner = np.empty((n, c, oh, ow), wtype)
        # the outputs whose windows lie inside the image: rows p0..p1-1, columns q0..q1-1
        p0, p1 = _first(sh, -ph), _stop(oh, sh, (kh - 1) * dh - ph, h)
        q0, q1 = _first(sw, -pw), _stop(ow, sw, (kw - 1) * dw - pw, w)
        border = p0 > 0 or p1 < oh or q0 > 0 or q1 < ow
        for plane in numba.prange(n * c):
            b, ch = _split(plane, c)
            redo = False  # set when a window of the fast loop meets a NaN or an infinity
            for p in range(p0, p1):  # the fast loop: no bounds, no NaN test, nothing but the taps
                r0 = p * sh - ph
                for q in range(q0, q1):
                    c0 = q * sw - pw
                    best = x[b, ch, r0, c0]
                    win = 0
                    finite = best - best  # NaN if any tap is NaN or infinite
                    for i in range(kh):
                        for j in range(kw):
                            v = x[b, ch, r0 + i * dh, c0 + j * dw]
                            finite += v - v
                            if v > best:
                                best = v
                                win = i * kw + j
                    out[b, ch, p, q] = best
                    winner[b, ch, p, q] = win
                    redo |= finite != finite
            if redo or border:  # the windows that reach into the padding, or the whole plane again by the rules
                for p in range(oh):
                    for q in range(ow):
                        if redo or not (p0 <= p < p1 and q0 <= q < q1):
                            best, win = exact(x[b, ch], p * sh - ph, q * sw - pw, h, w)
                            out[b, ch, p, q] = best
                            winner[b, ch, p, q] = win
        return out, winner

    return kernel


def maxpool_forward(x, kernel, out_hw, stride, padding, dilation):
    """``(out, winner)``: each window's maximum and which tap (row-major ``i·KW + j``) holds it first."""
    return _maxpool_forward((*kernel, *stride, *padding, *dilation))(x, *out_hw)


@functools.cache
def _maxpool_backward(g: Geometry):
    kh, kw, sh, sw, ph, pw, dh, dw = g

    @numba.njit(parallel=PARALLEL)
    def kernel(grad, winner, h, w):
        n, c, oh, ow = grad.shape
        dx = np.empty((n, c, h, w), grad.dtype)
        for plane in numba.prange(n * c):
            b, ch = _split(plane, c)
            dx[b, ch] = 0
            for p in range(oh):
                for q in range(ow):
                    k = winner[b, ch, p, q]
                    row = p * sh + (k // kw) * dh - ph
                    col = q * sw + (k % kw) * dw - pw
                    if 0 <= row < h and 0 <= col < w:  # a winner in the padding (all -inf) sends nothing back
                        dx[b, ch, row, col] += grad[b, ch, p, q]
        return dx

    @numba.njit(parallel=PARALLEL)
    def disjoint(grad, winner, h, w):
        """Windows that do not overlap: every input pixel in a window is written once, its output's
        gradient if it is the winner, else 0 (no zero-fill first where the windows cover the image)."""
        n, c, oh, ow = grad.shape
        dx = np.empty((n, c, h, w), grad.dtype)
        zero = grad.dtype.type(0)  # typed: with a plain 0 the select is float64
        covers = (dh == 1 and sh == kh and oh * kh - ph >= h) and (dw == 1 and sw == kw and ow * kw - pw >= w)
        q0, q1 = _first(sw, -pw), _stop(ow, sw, (kw - 1) * dw - pw, w)  # windows whose columns are all inside
        q1 = max(q0, q1)
        for plane in numba.prange(n * c):
            b, ch = _split(plane, c)
            if not covers:
                dx[b, ch] = 0
            for p in range(oh):
                for i in range(kh):
                    row = p * sh + i * dh - ph
                    if row < 0 or row >= h:
                        continue
                    for q in range(q0, q1):  # no column test: 3x faster than the edge loop below (2x2 pooling)
                        k, gv = winner[b, ch, p, q], grad[b, ch, p, q]
                        for j in range(kw):
                            dx[b, ch, row, q * sw + j * dw - pw] = gv if k == i * kw + j else zero
                    for edge in range(2):  # the windows reaching past an edge (none in the usual case)
                        for q in range(q0) if edge == 0 else range(q1, ow):
                            k, gv = winner[b, ch, p, q], grad[b, ch, p, q]
                            for j in range(kw):
                                col = q * sw + j * dw - pw
                                if 0 <= col < w:
                                    dx[b, ch, row, col] = gv if k == i * kw + j else zero
        return dx

    return disjoint if sh >= (kh - 1) * dh + 1 and sw >= (kw - 1) * dw + 1 else kernel


def maxpool_backward(grad, winner, x_shape, kernel, stride, padding, dilation):
    """``(N, C, H, W)`` gradient: each output's gradient added where its window's winner was read."""
    return _maxpool_backward((*kernel, *stride, *padding, *dilation))(grad, winner, *x_shape[2:])


@numba.njit(parallel=PARALLEL, cache=True, fastmath={"reassoc"})  # the sum in any order: vectorised
def channels_first(grad, with_sum):
    """``(N, O, OH, OW)`` → ``(O, N·OH·OW)`` (the gradient as the backward's products want it) and, when
    ``with_sum``, each channel's sum (the bias gradient) from the same pass."""
    n, o, oh, ow = grad.shape
    hw = oh * ow
    src = grad.reshape(n, o, hw)
    out = np.empty((o, n, hw), grad.dtype)
    sums = np.zeros(o if with_sum else 0, grad.dtype)
    for ch in numba.prange(o):
        total = 0.0  # float64: a float32 running sum over N·OH·OW terms would drift
        for b in range(n):
            row = src[b, ch]
            out[ch, b] = row
            for k in range(hw):
                total += row[k]
        if with_sum:
            sums[ch] = total
    return out.reshape(o, n * hw), sums


@numba.njit(parallel=PARALLEL, cache=True, fastmath={"reassoc"})  # the sum in any order: vectorised
def channel_sums(grad):
    """Each channel's sum of an ``(N, O, OH, OW)`` gradient (the bias gradient), accumulated in float64."""
    n, o, oh, ow = grad.shape
    src = grad.reshape(n, o, oh * ow)
    sums = np.zeros(o, np.float64)
    for ch in numba.prange(o):
        total = 0.0
        for b in range(n):
            for k in range(oh * ow):
                total += src[b, ch, k]
        sums[ch] = total
    return sums.astype(grad.dtype)


@numba.njit(parallel=PARALLEL, cache=True)
def relu_forward(x):
    """``(max(x, 0), not [x ≤ 0])`` in one pass: level 1's ReLU (a NaN stays NaN and passes its gradient on)."""
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    positive = np.empty(flat.size, np.bool_)
    zero = x.dtype.type(0)  # typed: with a plain 0 the select is float64
    for k in numba.prange(flat.size):
        v = flat[k]
        keep = not v <= 0
        positive[k] = keep
        out[k] = v if keep else zero
    return out.reshape(x.shape), positive.reshape(x.shape)


@numba.njit(parallel=PARALLEL, cache=True)
def relu_backward(grad, positive):
    """``grad · positive`` in one pass."""
    g, m = grad.reshape(-1), positive.reshape(-1)
    out = np.empty_like(g)
    zero, one = grad.dtype.type(0), grad.dtype.type(1)  # typed factors: the product stays in grad's dtype
    for k in numba.prange(g.size):
        out[k] = g[k] * (one if m[k] else zero)  # a product, as level 1's: a NaN gradient stays NaN
    return out.reshape(grad.shape)
