"""2-D convolution and pooling, two ways.

``Conv2dNaive`` is the teaching reference: a loop over output positions, each a dot product of
one input window with every filter. ``Conv2d`` is the fast version, *im2col*: copy every window
into the columns of one matrix so that the whole convolution is a single matrix product (BLAS
does the heavy lifting). Both are tested against each other, finite differences and PyTorch.

Shapes: input ``(N, C, H, W)``, weight ``(O, C, KH, KW)``, output ``(N, O, OH, OW)`` with
``OH = (H + 2·pad - dil·(KH-1) - 1) // stride + 1``.

The building block is the *tap*: for one kernel offset ``(i, j)``, the input pixels that offset
touches in every window form a strided grid of the padded input — one slice, no copy::

    tap(i, j) = xp[:, :, i·dil : ... : stride, j·dil : ... : stride]      # (N, C, OH, OW)

im2col stacks the ``KH·KW`` taps; pooling takes their max or mean; backward adds gradients back
through the same slices.
"""

from __future__ import annotations

from hyperion.tensor.autograd import Function
from hyperion.tensor.backend import Array, Backend

Pair = tuple[int, int]


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pad2d(backend: Backend, x: Array, padding: Pair, value: float = 0.0) -> Array:
    if padding == (0, 0):
        return x
    (ph, pw) = padding
    return backend.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), value)


def unpad2d(x: Array, padding: Pair) -> Array:
    ph, pw = padding
    return x[:, :, ph : x.shape[2] - ph, pw : x.shape[3] - pw]


def tap(xp: Array, i: int, j: int, out_hw: Pair, stride: Pair, dilation: Pair) -> Array:
    """The ``(N, C, OH, OW)`` view of padded ``xp`` seen by kernel offset ``(i, j)`` of every window."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return xp[:, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw]


def im2col(backend: Backend, xp: Array, kernel: Pair, out_hw: Pair, stride: Pair, dilation: Pair) -> Array:
    """Task 1.11: every window of padded ``xp`` as a column: a ``(KH·KW·C, N·OH·OW)`` matrix.

    Allocate ``cols`` of shape ``(KH, KW, C, N, OH, OW)`` and fill ``cols[i, j]`` with
    :func:`tap` ``(i, j)`` (its axes N and C swapped). Row ``(i, j, c)`` of the result then holds
    input channel ``c`` at kernel offset ``(i, j)`` for every output pixel: ``KH·KW`` block copies
    instead of ``N·OH·OW`` small ones. Return it reshaped to two dimensions.
    """
    # BEGIN SOLUTION
    (kh, kw), (oh, ow) = kernel, out_hw
    n, c = xp.shape[:2]
    cols = backend.empty((kh, kw, c, n, oh, ow), xp.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[i, j] = tap(xp, i, j, out_hw, stride, dilation).transpose(1, 0, 2, 3)
    return cols.reshape(kh * kw * c, n * oh * ow)
    # END SOLUTION


def col2im(
    backend: Backend,
    cols: Array,
    padded_shape: tuple[int, ...],
    kernel: Pair,
    out_hw: Pair,
    stride: Pair,
    dilation: Pair,
) -> Array:
    """Task 1.11: the adjoint of :func:`im2col`: add every column entry back where it was copied from.

    ``cols`` is ``(KH·KW·C, N·OH·OW)``. View it as ``(KH, KW, C, N, OH, OW)``; start from zeros of
    ``padded_shape`` with axes N and C swapped — the blocks' own order, so every add walks both
    arrays in memory order (on 2 cores: 7 ms instead of 11 for the MNIST CNN's conv2) — and, for each
    offset ``(i, j)``, *add* block ``(i, j)`` into :func:`tap` ``(i, j)`` of it: overlapping windows
    share input pixels, so their contributions must accumulate. Return it with N and C swapped back
    (a view).
    """
    # BEGIN SOLUTION
    (kh, kw), (oh, ow) = kernel, out_hw
    n, c = padded_shape[:2]
    blocks = cols.reshape(kh, kw, c, n, oh, ow)
    out = backend.zeros((c, n, *padded_shape[2:]), cols.dtype)
    for i in range(kh):
        for j in range(kw):
            tap(out, i, j, out_hw, stride, dilation)[...] += blocks[i, j]
    return out.transpose(1, 0, 2, 3)
    # END SOLUTION


class Conv2d(Function):
    """Convolution as one matrix product over gathered windows (im2col)."""

    def forward(
        self,
        x: Array,
        weight: Array,
        bias: Array | None = None,
        stride: Pair = (1, 1),
        padding: Pair = (0, 0),
        dilation: Pair = (1, 1),
    ) -> Array:
        """Task 1.11: im2col forward.

        Pad ``x``, compute the output size, and gather ``cols = im2col(...)`` of shape
        ``(KH·KW·C, N·OH·OW)``. Lay the weight out to match the rows: ``(O, KH, KW, C)`` flattened
        to ``(O, KH·KW·C)``. One product gives ``(O, N·OH·OW)``; add the bias as a column, reshape
        to ``(O, N, OH, OW)`` and move ``O`` behind ``N``, copied into that order (the layers after it
        then walk memory in order, as after PyTorch's convolution). Save what backward needs.
        """
        # BEGIN SOLUTION
        b = self.backend
        o, c, kh, kw = weight.shape
        xp = pad2d(b, x, padding)
        out_hw = (
            output_size(x.shape[2], kh, stride[0], padding[0], dilation[0]),
            output_size(x.shape[3], kw, stride[1], padding[1], dilation[1]),
        )
        cols = im2col(b, xp, (kh, kw), out_hw, stride, dilation)
        wmat = b.contiguous(weight.transpose(0, 2, 3, 1)).reshape(o, kh * kw * c)
        out = b.matmul(wmat, cols)
        if bias is not None:
            out += bias.reshape(o, 1)
        self.cols, self.wmat, self.weight_shape, self.padded_shape = cols, wmat, weight.shape, xp.shape
        self.out_hw, self.stride, self.padding, self.dilation = out_hw, stride, padding, dilation
        self.has_bias = bias is not None
        return b.contiguous(out.reshape(o, x.shape[0], *out_hw).transpose(1, 0, 2, 3))
        # END SOLUTION

    def backward(self, grad: Array) -> tuple[Array | None, ...]:
        """Task 1.11: im2col backward.

        With ``g`` the gradient as a ``(O, N·OH·OW)`` matrix (move ``O`` first): the weight
        gradient is ``g @ colsᵀ``, reshaped to ``(O, KH, KW, C)`` and permuted back to
        ``(O, C, KH, KW)``; the bias gradient sums ``g`` over its columns; the input gradient is
        ``col2im(wmatᵀ @ g)`` with the padding cut off again, copied into ``(N, C, H, W)`` order — skip
        it (return ``None``) when ``self.needs_input_grad[0]`` is false, as for the first layer.
        """
        # BEGIN SOLUTION
        b = self.backend
        o, c, kh, kw = self.weight_shape
        g = b.contiguous(grad.transpose(1, 0, 2, 3)).reshape(o, -1)
        # the longer of O and KH·KW·C as the product's rows: OpenBLAS on 2 cores splits (288 x 25088) @
        # (25088 x 64) well and (64 x 25088) @ (25088 x 288) badly (MNIST CNN conv2: median 27 ms against 640)
        if self.cols.shape[0] > o:
            grad_w = b.matmul(self.cols, g.T).T.reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
        else:
            grad_w = b.matmul(g, self.cols.T).reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
        grad_x = None
        if not self.needs_input_grad or self.needs_input_grad[0]:
            dcols = b.matmul(self.wmat.T, g)
            padded = col2im(b, dcols, self.padded_shape, (kh, kw), self.out_hw, self.stride, self.dilation)
            grad_x = b.contiguous(unpad2d(padded, self.padding))
        grads = (grad_x, grad_w)
        return grads + (b.sum(g, (1,), False),) if self.has_bias else grads
        # END SOLUTION


class Conv2dNaive(Function):
    """The teaching reference: one window at a time. Slow; use for understanding and testing."""

    def forward(
        self,
        x: Array,
        weight: Array,
        bias: Array | None = None,
        stride: Pair = (1, 1),
        padding: Pair = (0, 0),
        dilation: Pair = (1, 1),
    ) -> Array:
        b = self.backend
        xp = pad2d(b, x, padding)
        o, c, kh, kw = weight.shape
        (sh, sw), (dh, dw) = stride, dilation
        oh = output_size(x.shape[2], kh, sh, padding[0], dh)
        ow = output_size(x.shape[3], kw, sw, padding[1], dw)
        out = b.zeros((x.shape[0], o, oh, ow), x.dtype)
        wmat = weight.reshape(o, -1)
        for i in range(oh):
            for j in range(ow):
                window = xp[
                    :, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw
                ]
                out[:, :, i, j] = b.matmul(window.reshape(x.shape[0], -1), wmat.T)
        if bias is not None:
            out += bias.reshape(1, o, 1, 1)
        self.xp, self.weight, self.has_bias = xp, weight, bias is not None
        self.stride, self.padding, self.dilation = stride, padding, dilation
        return out

    def backward(self, grad: Array) -> tuple[Array, ...]:
        b = self.backend
        xp, weight = self.xp, self.weight
        o, c, kh, kw = weight.shape
        (sh, sw), (dh, dw) = self.stride, self.dilation
        dxp = b.zeros(xp.shape, xp.dtype)
        dw_ = b.zeros(weight.shape, weight.dtype)
        wmat = weight.reshape(o, -1)
        for i in range(grad.shape[2]):
            for j in range(grad.shape[3]):
                rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                g = grad[:, :, i, j]  # (N, O)
                window = xp[:, :, rows, cols]
                dw_ += b.matmul(g.T, window.reshape(xp.shape[0], -1)).reshape(weight.shape)
                dxp[:, :, rows, cols] += b.matmul(g, wmat).reshape(window.shape)
        grads = (unpad2d(dxp, self.padding), dw_)
        return grads + (b.sum(grad, (0, 2, 3), False),) if self.has_bias else grads


class MaxPool2d(Function):
    """Max over each window; the gradient goes to the first largest element of the window (as PyTorch).

    Forward walks the ``KH·KW`` taps with whole-tensor operations, keeping the running maximum and
    which tap holds it: only a strictly larger value takes over, so a tie stays with the first. Backward
    sends each output's gradient back through the tap that won — one masked product per tap, written
    straight into the tap where windows do not overlap (each input pixel lies in one window), added
    where they do.
    """

    def forward(
        self, x: Array, kernel: Pair, stride: Pair, padding: Pair = (0, 0), dilation: Pair = (1, 1)
    ) -> Array:
        b = self.backend
        xp = pad2d(b, x, padding, float("-inf"))
        out_hw = (
            output_size(x.shape[2], kernel[0], stride[0], padding[0], dilation[0]),
            output_size(x.shape[3], kernel[1], stride[1], padding[1], dilation[1]),
        )
        taps = [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]
        out = b.copy(tap(xp, 0, 0, out_hw, stride, dilation))
        winner = b.zeros(out.shape, "int8" if len(taps) <= 127 else "int32")  # which tap holds the max
        for k, (i, j) in enumerate(taps[1:], start=1):
            t = tap(xp, i, j, out_hw, stride, dilation)
            took = t > out
            out = b.maximum(out, t)
            winner += took * (k - winner)  # winner = k where took (integer arithmetic: no gather)
        self.winner, self.taps, self.padded_shape, self.out_hw = winner, taps, xp.shape, out_hw
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.disjoint = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
        return out

    def backward(self, grad: Array) -> Array:
        b = self.backend
        dxp = b.zeros(self.padded_shape, grad.dtype)
        for k, (i, j) in enumerate(self.taps):
            routed = grad * (self.winner == k)
            window = tap(dxp, i, j, self.out_hw, self.stride, self.dilation)
            if self.disjoint:
                window[...] = routed
            else:
                window[...] += routed
        return unpad2d(dxp, self.padding)


class AvgPool2d(Function):
    """Mean over each window (zero padding counted, as PyTorch's default ``count_include_pad``)."""

    def forward(self, x: Array, kernel: Pair, stride: Pair, padding: Pair = (0, 0)) -> Array:
        b = self.backend
        xp = pad2d(b, x, padding)
        out_hw = (
            output_size(x.shape[2], kernel[0], stride[0], padding[0], 1),
            output_size(x.shape[3], kernel[1], stride[1], padding[1], 1),
        )
        total = b.zeros((x.shape[0], x.shape[1], *out_hw), x.dtype)
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                total += tap(xp, i, j, out_hw, stride, (1, 1))
        self.padded_shape, self.out_hw, self.kernel, self.stride, self.padding = (
            xp.shape,
            out_hw,
            kernel,
            stride,
            padding,
        )
        return total / x.dtype.type(kernel[0] * kernel[1])

    def backward(self, grad: Array) -> Array:
        b = self.backend
        share = grad / grad.dtype.type(self.kernel[0] * self.kernel[1])
        dxp = b.zeros(self.padded_shape, grad.dtype)
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                tap(dxp, i, j, self.out_hw, self.stride, (1, 1))[...] += share
        return unpad2d(dxp, self.padding)
