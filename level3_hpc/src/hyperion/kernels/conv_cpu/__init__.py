"""Convolution, max pooling and ReLU on the CPU: level 1's Functions with their memory-bound work compiled (numba).

Level 1's ``Conv2d`` is im2col + one BLAS product each way, and its ``MaxPool2d`` walks the window's taps with
whole-tensor numpy operations. The products already run near the cores' peak; the rest -- im2col, col2im,
the layout change of the output, the pooling passes -- is one single-threaded pass over memory per tap, and on
the MNIST CNN it was half of the step. :mod:`~hyperion.kernels.conv_cpu.kernels` does each of those in one
compiled pass (tap loops unrolled, rows vectorised; on one core, beside OpenBLAS's two), and ReLU (two numpy
passes forward) in one.

    from hyperion.runtime.backend import use_cpu_kernels
    use_cpu_kernels()          # "cpu" Conv2d, MaxPool2d and ReLU run these from now on
    use_cpu_kernels(False)     # back to level 1's numpy

The classes subclass level 1's Functions and take the compiled path for float32 / float64 numpy arrays (of
four dimensions for the convolution and the pooling; anything else runs the inherited level-1 code), so a
result never depends on whether they are on (up to the rounding of sums taken in another order);
``python -m hyperion.kernels.conv_cpu.bench`` times the MNIST CNN epoch both ways beside PyTorch.
"""

from __future__ import annotations

import numpy as np

from hyperion.tensor.ops.conv import Conv2d, MaxPool2d, output_size
from hyperion.tensor.ops.elementwise import ReLU

Pair = tuple[int, int]
SMALL_K = 32  # C·KH·KW up to which a first layer's weight gradient is one product per image (measured at 9)


def _compiled(*arrays) -> bool:
    """The case the kernels cover: 4-D float32 / float64 numpy arrays (bias: 1-D or None)."""
    first = arrays[0]
    return (type(first) is np.ndarray and first.ndim == 4 and first.dtype in (np.float32, np.float64)
            and all(a is None or (type(a) is np.ndarray and a.dtype == first.dtype) for a in arrays[1:]))


def _out_hw(x_shape, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> Pair:
    return (output_size(x_shape[2], kernel[0], stride[0], padding[0], dilation[0]),
            output_size(x_shape[3], kernel[1], stride[1], padding[1], dilation[1]))


class CompiledConv2d(Conv2d):
    """im2col, col2im and the output's layout change compiled; the two products stay BLAS."""

    def forward(self, x, weight, bias=None, stride: Pair = (1, 1), padding: Pair = (0, 0),
                dilation: Pair = (1, 1)):
        self.compiled = _compiled(x, weight, bias)
        if not self.compiled:
            return super().forward(x, weight, bias, stride, padding, dilation)
        from hyperion.kernels.conv_cpu import kernels

        o, c, kh, kw = weight.shape
        out_hw = _out_hw(x.shape, (kh, kw), stride, padding, dilation)
        cols = kernels.im2col(np.ascontiguousarray(x), (kh, kw), out_hw, stride, padding, dilation)
        wmat = np.ascontiguousarray(weight.transpose(0, 2, 3, 1)).reshape(o, kh * kw * c)
        out = self.backend.matmul(wmat, cols)
        self.cols, self.wmat, self.weight_shape, self.x_shape = cols, wmat, weight.shape, x.shape
        self.out_hw, self.stride, self.padding, self.dilation = out_hw, stride, padding, dilation
        self.has_bias = bias is not None
        no_bias = np.empty(0, x.dtype)
        return kernels.nchw_plus_bias(out, no_bias if bias is None else bias, x.shape[0], *out_hw)

    def backward(self, grad):
        if not self.compiled:
            return super().backward(grad)
        from hyperion.kernels.conv_cpu import kernels

        b = self.backend
        o, c, kh, kw = self.weight_shape
        grad = np.ascontiguousarray(grad)
        needs_x = not self.needs_input_grad or self.needs_input_grad[0]
        if not needs_x and kh * kw * c <= SMALL_K:
            # a first layer (no input gradient) with few taps: the weight gradient as one small product per
            # image, summed -- no channel-first copy of the gradient (128x32x28x28: 1 ms against 3.5)
            n, hw = grad.shape[0], self.out_hw[0] * self.out_hw[1]
            per_image = b.matmul(grad.reshape(n, o, hw), self.cols.reshape(-1, n, hw).transpose(1, 2, 0))
            grad_w = per_image.sum(axis=0).reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
            grads = (None, grad_w)
            return grads + (kernels.channel_sums(grad),) if self.has_bias else grads
        g, grad_b = kernels.channels_first(grad, self.has_bias)
        # the longer side as the product's rows, as level 1 does (OpenBLAS splits that one well on 2 cores)
        grad_w = (b.matmul(self.cols, g.T).T if self.cols.shape[0] > o else b.matmul(g, self.cols.T))
        grad_w = grad_w.reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
        grad_x = None
        if needs_x:
            grad_x = kernels.col2im(b.matmul(self.wmat.T, g), self.x_shape, (kh, kw), self.out_hw, self.stride,
                                    self.padding, self.dilation)
        grads = (grad_x, grad_w)
        return grads + (grad_b,) if self.has_bias else grads


class CompiledMaxPool2d(MaxPool2d):
    """Max pooling in one compiled pass each way (level 1's tie rule: the first tap holding the maximum)."""

    def forward(self, x, kernel: Pair, stride: Pair, padding: Pair = (0, 0), dilation: Pair = (1, 1)):
        self.compiled = _compiled(x)
        if not self.compiled:
            return super().forward(x, kernel, stride, padding, dilation)
        from hyperion.kernels.conv_cpu import kernels

        out_hw = _out_hw(x.shape, kernel, stride, padding, dilation)
        out, self.winner = kernels.maxpool_forward(np.ascontiguousarray(x), kernel, out_hw, stride, padding,
                                                   dilation)
        self.x_shape, self.kernel, self.stride, self.padding, self.dilation = x.shape, kernel, stride, padding, dilation
        return out

    def backward(self, grad):
        if not self.compiled:
            return super().backward(grad)
        from hyperion.kernels.conv_cpu import kernels

        return kernels.maxpool_backward(np.ascontiguousarray(grad), self.winner, self.x_shape, self.kernel,
                                        self.stride, self.padding, self.dilation)


class CompiledReLU(ReLU):
    """ReLU in one compiled pass each way (level 1's values: ``max(x, 0)``, the mask ``not x ≤ 0`` saved)."""

    def forward(self, x):
        self.compiled = type(x) is np.ndarray and x.dtype in (np.float32, np.float64)
        if not self.compiled:
            return super().forward(x)
        from hyperion.kernels.conv_cpu import kernels

        out, self.positive = kernels.relu_forward(np.ascontiguousarray(x))
        return out

    def backward(self, grad):
        if not self.compiled or grad.shape != self.positive.shape:
            return super().backward(grad)
        from hyperion.kernels.conv_cpu import kernels

        return kernels.relu_backward(np.ascontiguousarray(grad), self.positive)


COMPILED = {Conv2d: CompiledConv2d, MaxPool2d: CompiledMaxPool2d, ReLU: CompiledReLU}
