"""2-D convolution and pooling, two ways.

``Conv2dNaive`` is the teaching reference: a loop over output positions, each a dot product of
one input window with every filter. ``Conv2d`` is the fast version, *im2col*: gather all windows
into one matrix (a strided view of the padded input, then one copy) so the whole convolution is a
single matrix product. Both are tested against each other and against PyTorch.

Shapes: input ``(N, C, H, W)``, weight ``(O, C, KH, KW)``, output ``(N, O, OH, OW)`` with
``OH = (H + 2·pad - dil·(KH-1) - 1) // stride + 1``.
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


def windows(backend: Backend, xp: Array, kernel: Pair, stride: Pair, dilation: Pair) -> Array:
    """All sliding windows of padded ``xp`` as a view ``(N, C, OH, OW, KH, KW)`` — no copy.

    ``sliding_window_view`` gives every (dilated) window at stride 1; slicing with the stride and
    the dilation then keeps the ones we need. Only strides change, never data.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    view = backend.windows(xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), (2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def col2im(
    backend: Backend, cols: Array, padded_shape: tuple[int, ...], stride: Pair, dilation: Pair
) -> Array:
    """The adjoint of :func:`windows`: add each window's values back where they came from.

    ``cols`` is ``(N, C, OH, OW, KH, KW)``. Kernel offset ``(i, j)`` of every window lands on a
    strided grid of the padded input; one vectorised add per offset covers all windows at once.
    """
    n, c, oh, ow, kh, kw = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    out = backend.zeros(padded_shape, cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += (
                cols[:, :, :, :, i, j]
            )
    return out


def unpad2d(x: Array, padding: Pair) -> Array:
    ph, pw = padding
    return x[:, :, ph : x.shape[2] - ph, pw : x.shape[3] - pw]


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

        Pad ``x``; take the windows view ``(N, C, OH, OW, KH, KW)``; move ``C`` next to the kernel
        axes and copy into a matrix ``cols`` of shape ``(N·OH·OW, C·KH·KW)``; multiply by the
        weight as a ``(O, C·KH·KW)`` matrix, transposed; reshape to ``(N, OH, OW, O)``, add the
        bias and move ``O`` to axis 1. Save ``cols`` (and what else backward needs).
        """
        # BEGIN SOLUTION
        b = self.backend
        xp = pad2d(b, x, padding)
        win = windows(b, xp, weight.shape[2:], stride, dilation)
        n, c, oh, ow, kh, kw = win.shape
        cols = b.contiguous(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * oh * ow, c * kh * kw)
        wmat = weight.reshape(weight.shape[0], -1)
        out = b.matmul(cols, wmat.T).reshape(n, oh, ow, weight.shape[0])
        if bias is not None:
            out += bias
        self.cols, self.weight, self.padded_shape, self.has_bias = cols, weight, xp.shape, bias is not None
        self.stride, self.padding, self.dilation = stride, padding, dilation
        return out.transpose(0, 3, 1, 2)
        # END SOLUTION

    def backward(self, grad: Array) -> tuple[Array, ...]:
        """Task 1.11: im2col backward.

        With ``g`` the gradient as a ``(N·OH·OW, O)`` matrix: the weight gradient is ``gᵀ @ cols``
        reshaped to the weight's shape; the bias gradient sums ``grad`` over ``N, OH, OW``; the
        gradient of ``cols`` is ``g @ W``, reshaped to ``(N, OH, OW, C, KH, KW)``, which
        :func:`col2im` adds back into the padded input (then remove the padding).
        """
        # BEGIN SOLUTION
        b = self.backend
        n, o, oh, ow = grad.shape
        _, c, kh, kw = self.weight.shape
        g = b.contiguous(grad.transpose(0, 2, 3, 1)).reshape(-1, o)
        grad_w = b.matmul(g.T, self.cols).reshape(self.weight.shape)
        dcols = b.matmul(g, self.weight.reshape(o, -1)).reshape(n, oh, ow, c, kh, kw)
        dx = col2im(b, dcols.transpose(0, 3, 1, 2, 4, 5), self.padded_shape, self.stride, self.dilation)
        grads = (unpad2d(dx, self.padding), grad_w)
        return grads + (b.sum(grad, (0, 2, 3), False),) if self.has_bias else grads
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
    """Max over each window; the gradient goes to the (first) largest element of the window."""

    def forward(
        self, x: Array, kernel: Pair, stride: Pair, padding: Pair = (0, 0), dilation: Pair = (1, 1)
    ) -> Array:
        b = self.backend
        xp = pad2d(b, x, padding, float("-inf"))
        win = windows(b, xp, kernel, stride, dilation)
        n, c, oh, ow, kh, kw = win.shape
        flat = win.reshape(n, c, oh, ow, kh * kw)
        self.argmax = b.argmax(flat, 4, True)
        self.padded_shape, self.kernel, self.stride, self.padding, self.dilation = (
            xp.shape,
            kernel,
            stride,
            padding,
            dilation,
        )
        return b.max(flat, (4,), False)

    def backward(self, grad: Array) -> Array:
        b = self.backend
        kh, kw = self.kernel
        hit = b.arange(0, kh * kw, 1, self.argmax.dtype) == self.argmax
        cols = (hit * grad[..., None]).reshape(grad.shape + (kh, kw))
        dx = col2im(b, cols, self.padded_shape, self.stride, self.dilation)
        return unpad2d(dx, self.padding)


class AvgPool2d(Function):
    """Mean over each window (zero padding counted, as PyTorch's default ``count_include_pad``)."""

    def forward(self, x: Array, kernel: Pair, stride: Pair, padding: Pair = (0, 0)) -> Array:
        b = self.backend
        xp = pad2d(b, x, padding)
        win = windows(b, xp, kernel, stride, (1, 1))
        self.padded_shape, self.kernel, self.stride, self.padding = xp.shape, kernel, stride, padding
        return b.sum(win, (4, 5), False) / x.dtype.type(kernel[0] * kernel[1])

    def backward(self, grad: Array) -> Array:
        b = self.backend
        kh, kw = self.kernel
        share = grad / grad.dtype.type(kh * kw)
        cols = b.xp.broadcast_to(share[..., None, None], grad.shape + (kh, kw))
        dx = col2im(b, cols, self.padded_shape, self.stride, (1, 1))
        return unpad2d(dx, self.padding)
