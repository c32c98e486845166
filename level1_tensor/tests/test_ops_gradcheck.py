"""Every op's gradient against central finite differences in float64 (hyperion.tensor.testing.gradcheck).

Inputs are numpy arrays; ``gradcheck`` makes them float64 tensors, backpropagates a random
projection of the output and compares each input's ``.grad`` with finite differences. Values are
chosen away from kinks (|x|, relu, max ties, clamp bounds) where the derivative jumps.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from torch_compare import FEW, broadcastable_shapes, seeds, shapes, values

import hyperion.tensor as ht
from hyperion.tensor import functional as F
from hyperion.tensor.testing import gradcheck

rng0 = np.random.default_rng(0)


def r(*shape, kind="normal"):
    return values(rng0, shape, np.float64, kind)


@functools.cache
def c(*shape):
    """A constant float64 tensor (fixed weights giving each output element its own slope), one per shape."""
    return ht.tensor(r(*shape), dtype=np.float64)


def idx(*data):
    return ht.tensor(np.array(data, dtype=np.int64))


MASK = ht.tensor(np.array([[True, False, True], [False, False, True]]))
CASES = {
    # elementwise
    "add": (lambda a, b: a + b, [r(2, 3), r(3)]),
    "sub": (lambda a, b: a - b, [r(2, 1), r(1, 3)]),
    "mul": (lambda a, b: a * b, [r(2, 3), r(2, 1)]),
    "div": (lambda a, b: a / b, [r(2, 3), r(3, kind="positive")]),
    "neg": (lambda a: -a, [r(2, 3)]),
    "pow_scalar": (lambda a: a**3 + a**-0.5 * 0 + a**2.5, [r(2, 3, kind="positive")]),
    "pow_tensor": (lambda a, b: a**b, [r(2, 3, kind="positive"), r(2, 3)]),
    "rpow": (lambda a: 1.7**a, [r(4)]),
    "exp": (ht.exp, [r(2, 3)]),
    "log": (ht.log, [r(2, 3, kind="positive")]),
    "sqrt": (ht.sqrt, [r(2, 3, kind="positive")]),
    "abs": (ht.abs, [r(2, 3, kind="distinct")]),
    "maximum": (ht.maximum, [r(2, 3, kind="distinct"), r(3, kind="distinct") + 0.05]),
    "minimum": (ht.minimum, [r(2, 3, kind="distinct"), r(2, 1, kind="distinct") + 0.05]),
    "where": (lambda a, b: ht.where(MASK, a, b), [r(2, 3), r(3)]),
    "clamp": (lambda a: a.clamp(-0.3, 0.2), [r(3, 4, kind="distinct")]),
    "clamp_tensor": (lambda a, lo: ht.clamp(a, lo), [r(3, 4, kind="distinct"), r(4, kind="distinct") + 0.05]),
    "relu": (ht.relu, [r(3, 4, kind="distinct")]),
    "gelu": (F.gelu, [r(3, 4)]),
    "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), [r(3, 4)]),
    "sigmoid": (ht.sigmoid, [r(3, 4) * 3]),
    "tanh": (ht.tanh, [r(3, 4)]),
    # reductions
    "sum_all": (lambda a: a.sum(), [r(2, 3)]),
    "sum_dim": (lambda a: a.sum(1), [r(2, 3, 2)]),
    "sum_tuple_keepdim": (lambda a: a.sum((0, -1), keepdim=True), [r(2, 3, 2)]),
    "mean_all": (lambda a: a.mean(), [r(2, 3)]),
    "mean_tuple": (lambda a: a.mean((0, 2)), [r(2, 3, 2)]),
    "mean_keepdim": (lambda a: a.mean(-1, keepdim=True), [r(2, 3)]),
    "amax": (lambda a: a.amax(), [r(3, 4, kind="distinct")]),
    "amax_dim": (lambda a: a.amax((0, 1), keepdim=True), [r(2, 3, 2, kind="distinct")]),
    "amin_dim": (lambda a: a.amin(1), [r(2, 3, 2, kind="distinct")]),
    "max_dim": (lambda a: a.max(1).values, [r(3, 4, kind="distinct")]),
    "max_dim_keepdim": (lambda a: a.max(0, keepdim=True).values, [r(3, 4, kind="distinct")]),
    "min_dim": (lambda a: a.min(-1).values, [r(3, 4, kind="distinct")]),
    "var": (lambda a: a.var(), [r(3, 4)]),
    "var_dim": (lambda a: a.var(1, keepdim=True), [r(3, 4)]),
    "var_tuple_correction0": (lambda a: ht.var(a, (0, 2), correction=0), [r(2, 3, 2)]),
    "std": (lambda a: a.std(), [r(3, 4)]),
    "std_dim": (lambda a: a.std(0), [r(3, 4)]),
    "std_tuple_keepdim": (lambda a: a.std((1, 2), keepdim=True), [r(2, 3, 2)]),
    # matmul
    "matmul_1d_1d": (ht.matmul, [r(4), r(4)]),
    "matmul_1d_2d": (ht.matmul, [r(4), r(4, 3)]),
    "matmul_2d_1d": (ht.matmul, [r(2, 4), r(4)]),
    "matmul_2d": (ht.matmul, [r(2, 4), r(4, 3)]),
    "matmul_batched_broadcast": (ht.matmul, [r(2, 1, 2, 3), r(3, 3, 2)]),
    "matmul_batched_1d": (ht.matmul, [r(3), r(2, 3, 2)]),
    "linear": (F.linear, [r(2, 3, 4), r(5, 4), r(5)]),
    # movement
    "cat": (lambda a, b: ht.cat([a, b, a], 1), [r(2, 3), r(2, 1)]),
    "stack": (lambda a, b: ht.stack([a, b], -1), [r(2, 3), r(2, 3)]),
    "split": (lambda a: ht.cat([p * (i + 1) for i, p in enumerate(a.split(2, 1))], 1), [r(2, 5)]),
    "split_sizes": (lambda a: a.split([1, 3], 0)[1], [r(4, 2)]),
    "chunk": (lambda a: a.chunk(3, 0)[1] * a.chunk(3, 0)[2], [r(6, 2)]),
    "permute": (lambda a: a.permute(2, 0, 1) * c(4, 2, 3), [r(2, 3, 4)]),
    "transpose": (lambda a: a.transpose(0, 1) @ c(2, 2), [r(2, 3)]),
    "T": (lambda a: a.T * c(4, 3), [r(3, 4)]),
    "mT": (lambda a: a.mT * c(2, 4, 3), [r(2, 3, 4)]),
    "expand": (lambda a: a.expand(4, 3, 2) * c(4, 3, 2), [r(3, 1)]),
    "view": (lambda a: a.view(6, 2) * c(6, 2), [r(3, 4)]),
    "reshape_copy": (lambda a: a.T.reshape(-1) * c(12), [r(3, 4)]),
    "squeeze_unsqueeze": (lambda a: a.squeeze(1).unsqueeze(0) * c(1, 3, 2), [r(3, 1, 2)]),
    "flatten": (lambda a: a.flatten(1) * c(2, 12), [r(2, 3, 4)]),
    "narrow": (lambda a: a.narrow(1, 1, 2), [r(3, 4)]),
    "basic_index": (lambda a: a[1, ::2, None, -1], [r(3, 4, 2)]),
    "basic_index_ellipsis": (lambda a: a[..., 1:] * a[..., :-1], [r(2, 4)]),
    "int_tensor_index": (lambda a: a[idx(0, 2, 2, -1)], [r(4, 3)]),
    "int_tensor_index_2": (lambda a: a[idx(1, 1), idx(0, 2)], [r(4, 3)]),
    "bool_mask": (lambda a: a[MASK] * 2, [r(2, 3)]),
    "clone_contiguous": (lambda a: a.T.contiguous() * a.T.clone(), [r(2, 3)]),
    # nn
    "softmax": (lambda a: F.softmax(a, 1), [r(3, 4)]),
    "softmax_dim0": (lambda a: F.softmax(a, 0), [r(3, 4)]),
    "log_softmax": (lambda a: F.log_softmax(a, -1), [r(3, 4)]),
    "logsumexp": (lambda a: a.logsumexp(1), [r(3, 4)]),
    "logsumexp_tuple_keepdim": (lambda a: a.logsumexp((0, 1), keepdim=True), [r(3, 4)]),
    "cross_entropy": (lambda a: F.cross_entropy(a, idx(1, 0, 3)), [r(3, 4)]),
    "cross_entropy_ignore_smooth": (
        lambda a: F.cross_entropy(a, idx(1, -100, 3), label_smoothing=0.2), [r(3, 4)]),
    "cross_entropy_sum_ignore_index": (
        lambda a: F.cross_entropy(a, idx(1, 2, 2), ignore_index=2, reduction="sum"), [r(3, 4)]),
    "cross_entropy_none": (lambda a: F.cross_entropy(a, idx(1, 0, 3), reduction="none"), [r(3, 4)]),
    "cross_entropy_ncd": (
        lambda a: F.cross_entropy(a, ht.tensor(np.array([[0, 2], [1, 1]])), label_smoothing=0.1),
        [r(2, 3, 2)]),
    "cross_entropy_ncdd": (
        lambda a: F.cross_entropy(a, ht.tensor(np.array([[[0, 2, 1], [1, 1, 0]]])), reduction="none"),
        [r(1, 3, 2, 3)]),
    "nll_loss": (lambda a: F.nll_loss(a, idx(1, 0, 3)), [r(3, 4)]),
    "nll_loss_ignore_sum": (lambda a: F.nll_loss(a, idx(1, 0, 3), ignore_index=0, reduction="sum"), [r(3, 4)]),
    "mse_loss": (F.mse_loss, [r(3, 4), r(3, 4)]),
    "mse_loss_sum": (lambda a, b: F.mse_loss(a, b, reduction="sum"), [r(3, 4), r(3, 4)]),
    "layer_norm": (lambda a: F.layer_norm(a, 4), [r(3, 4)]),
    "layer_norm_affine": (lambda a, w, b: F.layer_norm(a, (3, 4), w, b), [r(2, 3, 4), r(3, 4), r(3, 4)]),
    "layer_norm_weight_only": (lambda a, w: F.layer_norm(a, 4, w), [r(3, 4), r(4)]),
    "layer_norm_bias_only": (lambda a, b: F.layer_norm(a, 4, bias=b), [r(3, 4), r(4)]),
    # a fresh generator per call: every evaluation draws the same mask
    "dropout": (lambda a: F.dropout(a, 0.4, generator=ht.Generator(3)), [r(4, 5)]),
    "embedding": (lambda w: F.embedding(idx(0, 3, 3, 0, 3), w), [r(4, 3)]),
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b), [r(2, 2, 5, 5), r(3, 2, 3, 3), r(3)]),
    "conv2d_stride_pad_dil": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
        [r(1, 2, 5, 6), r(2, 2, 2, 3), r(2)]),
    "conv2d_naive": (lambda x, w, b: F.conv2d_naive(x, w, b), [r(2, 2, 5, 5), r(3, 2, 3, 3), r(3)]),
    "conv2d_naive_stride_pad_dil": (
        lambda x, w: F.conv2d_naive(x, w, stride=2, padding=1, dilation=2), [r(1, 2, 6, 5), r(2, 2, 2, 2)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [r(2, 2, 4, 4, kind="distinct")]),
    "max_pool2d_overlap_pad_dil": (
        lambda x: F.max_pool2d(x, 3, stride=1, padding=1, dilation=1), [r(1, 2, 4, 5, kind="distinct")]),
    "max_pool2d_dilation": (lambda x: F.max_pool2d(x, 2, 1, dilation=2), [r(1, 1, 5, 5, kind="distinct")]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), [r(2, 2, 4, 4)]),
    "avg_pool2d_stride_pad": (lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=1), [r(1, 2, 5, 4)]),
    "checkpoint": (lambda a, b: ht.checkpoint(lambda x, y: ht.tanh(x @ y).sum(0), a, b), [r(3, 4), r(4, 2)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_finite_differences(name):
    fn, inputs = CASES[name]
    assert gradcheck(fn, *[x.copy() for x in inputs])


def test_cast_gradient_matches_finite_differences():
    # through float32 and back: float32 rounding needs a larger step and tolerance
    assert gradcheck(lambda a: a.to(ht.float32).to(ht.float64) * 3, r(5), eps=1e-2, atol=1e-4)
    assert gradcheck(lambda a: a.float().to(ht.float64) ** 2, r(5), eps=1e-2, atol=1e-3, rtol=1e-3)


@given(shapes_=broadcastable_shapes(2, min_dims=1), seed=seeds)
@FEW
def test_broadcast_binary_gradients_match_finite_differences(shapes_, seed):
    rng = np.random.default_rng(seed)
    a, b = (values(rng, s, np.float64, "positive") for s in shapes_)
    assert gradcheck(lambda x, y: x * y / (x + y) - y**x, a, b)


@given(shape=shapes(min_dims=1, max_dims=3), seed=seeds)
@FEW
def test_composite_expression_gradients_match_finite_differences(shape, seed):
    rng = np.random.default_rng(seed)
    x = values(rng, shape, np.float64)
    assert gradcheck(lambda t: (F.softmax(t * 2, -1) * ht.tanh(t)).sum(-1) + t.exp().mean(), x)


def test_gradcheck_catches_a_wrong_gradient():
    """The oracle itself: a Function with a deliberately wrong backward must fail the check."""
    from hyperion.foundations.gradcheck import GradcheckError
    from hyperion.tensor import Function

    class WrongSquare(Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, grad):
            return grad * self.x  # should be 2x

    with pytest.raises(GradcheckError):
        gradcheck(lambda t: WrongSquare.apply(t), r(3))


def test_every_differentiable_function_has_its_backward_checked():
    """The cases above (and test_ops_fft's) run the backward of every differentiable Function level 1
    defines, so a new op cannot land without a finite-difference check. Not here: ``ToDevice`` (two
    devices: test_cuda.py checks it on a GPU) and ``ViewFunction`` (the base class of the view ops)."""
    import importlib
    import pkgutil

    import test_ops_fft

    from hyperion.tensor import autograd, ops

    for module in pkgutil.iter_modules(ops.__path__):
        importlib.import_module(f"hyperion.tensor.ops.{module.name}")

    def subclasses(cls):
        return {s for sub in cls.__subclasses__() for s in {sub} | subclasses(sub)}

    defined = {cls for cls in subclasses(autograd.Function)
               if cls.__module__.startswith("hyperion.tensor.") and cls.differentiable}
    checked = set()

    def record(ctx, phase, arrays, options, finish):
        if phase == "backward":
            checked.add(type(ctx))
        return finish(ctx.backward(*arrays) if phase == "backward" else ctx.forward(*arrays, **options))

    previous = autograd.set_op_hook(record)
    try:
        for name in CASES:
            test_gradient_matches_finite_differences(name)
        test_cast_gradient_matches_finite_differences()
        test_ops_fft.test_gradients_match_finite_differences(6, "ortho")
    finally:
        autograd.set_op_hook(previous)
    unchecked = {f"{c.__module__}.{c.__name__}" for c in defined - checked}
    assert unchecked == {"hyperion.tensor.ops.movement.ToDevice", "hyperion.tensor.ops.movement.ViewFunction"}
