"""The compiled CPU Conv2d, MaxPool2d and ReLU (``hyperion.kernels.conv_cpu``): the same values and gradients as
level 1's numpy Functions and PyTorch, finite differences, level 1's tie and NaN rules, and the switch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import hyperion.tensor as ht
from hyperion.kernels.conv_cpu import COMPILED, CompiledConv2d, CompiledMaxPool2d, CompiledReLU, _compiled
from hyperion.runtime.backend import use_cpu_kernels
from hyperion.tensor import functional as F
from hyperion.tensor.backend import registered_functions
from hyperion.tensor.testing import gradcheck

# (x shape, weight shape, stride, padding, dilation): each geometry is compiled once (its own loops)
CONVS = [
    ((2, 3, 9, 8), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1)),  # the CNN's shape of layer
    ((2, 3, 8, 9), (5, 3, 3, 2), (2, 1), (1, 2), (1, 2)),  # rows left over by the stride, dilation
    ((1, 2, 5, 5), (3, 2, 2, 2), (2, 2), (2, 2), (2, 2)),  # padding wider than a dilated tap's reach
    ((3, 1, 6, 7), (2, 1, 1, 1), (3, 2), (0, 1), (1, 1)),  # 1x1 kernel
    ((2, 2, 4, 4), (3, 2, 4, 4), (1, 1), (0, 0), (1, 1)),  # kernel as large as the input
    ((2, 3, 6, 7), (4, 3, 3, 3), (1, 1), (3, 0), (2, 1)),  # stride 1 (col2im's row-segment path), wide padding
]
# (x shape, kernel, stride, padding, dilation)
POOLS = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1)),  # the CNN's
    ((2, 2, 7, 9), (3, 3), (1, 1), (1, 1), (1, 1)),  # overlapping windows, padding
    ((1, 2, 9, 7), (2, 3), (2, 2), (1, 1), (2, 1)),  # dilation, rows left over
    ((2, 2, 7, 7), (2, 2), (2, 2), (1, 1), (1, 1)),  # disjoint windows over padding, covering the image
    ((1, 3, 9, 8), (2, 2), (3, 3), (1, 0), (1, 1)),  # disjoint windows with pixels in none of them
]


@pytest.fixture
def compiled():
    use_cpu_kernels()
    yield
    use_cpu_kernels(False)


def _run(fn, arrays, grad_seed=1):
    """Output and input gradients of ``sum(fn(*inputs) * g)`` for a fixed random ``g``."""
    tensors = [ht.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    g = np.random.default_rng(grad_seed).standard_normal(out.shape).astype(arrays[0].dtype)
    (out * ht.tensor(g)).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in tensors], g


def _conv(stride, padding, dilation):
    return lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)


def _pool(kernel, stride, padding, dilation):
    return lambda x: F.max_pool2d(x, kernel, stride, padding, dilation)


def _both(fn, arrays):
    """(level 1's results, the compiled results) of the same call."""
    use_cpu_kernels(False)
    level1, _ = _run(fn, arrays)
    use_cpu_kernels()
    try:
        fast, g = _run(fn, arrays)
    finally:
        use_cpu_kernels(False)
    return level1, fast, g


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONVS, ids=[str(c[1]) + str(c[2:]) for c in CONVS])
def test_conv2d_equals_level1_and_torch(case, dtype):
    x_shape, w_shape, stride, padding, dilation = case
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, (w_shape[0],))]
    level1, fast, g = _both(_conv(stride, padding, dilation), arrays)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for a, b in zip(level1, fast):
        np.testing.assert_allclose(b, a, **tol)  # the products are BLAS's either way; col2im adds in the same order
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = TF.conv2d(*ts, stride=stride, padding=padding, dilation=dilation)
    out.backward(torch.tensor(g))
    for ours, theirs in zip(fast, [out.detach(), *[t.grad for t in ts]]):
        np.testing.assert_allclose(ours, theirs.numpy(), **tol)


@pytest.mark.parametrize("case", CONVS, ids=[str(c[1]) + str(c[2:]) for c in CONVS])
def test_im2col_and_col2im_equal_level1s_bit_for_bit(case):
    """The column matrix is a copy and col2im adds in level 1's tap order: both exactly level 1's."""
    from hyperion.kernels.conv_cpu import kernels
    from hyperion.tensor.backend import get_backend
    from hyperion.tensor.ops import conv as level1

    x_shape, (_, _, kh, kw), stride, padding, dilation = case
    x = np.random.default_rng(2).standard_normal(x_shape).astype(np.float32)
    out_hw = tuple(level1.output_size(x_shape[2 + a], (kh, kw)[a], stride[a], padding[a], dilation[a]) for a in (0, 1))
    backend = get_backend("cpu")
    padded = level1.pad2d(backend, x, padding)
    want = level1.im2col(backend, padded, (kh, kw), out_hw, stride, dilation)
    np.testing.assert_array_equal(kernels.im2col(x, (kh, kw), out_hw, stride, padding, dilation), want)
    cols = np.random.default_rng(3).standard_normal(want.shape).astype(np.float32)
    want_x = level1.unpad2d(level1.col2im(backend, cols, padded.shape, (kh, kw), out_hw, stride, dilation), padding)
    np.testing.assert_array_equal(kernels.col2im(cols, x_shape, (kh, kw), out_hw, stride, padding, dilation), want_x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONVS, ids=[str(c[1]) + str(c[2:]) for c in CONVS])
def test_a_first_layer_weight_gradient_equals_torch(case, dtype, compiled):
    """No input gradient wanted (a network's first layer): small kernels take the per-image products."""
    x_shape, w_shape, stride, padding, dilation = case
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, (w_shape[0],)))
    tw, tb = ht.tensor(w, requires_grad=True), ht.tensor(b, requires_grad=True)
    out = F.conv2d(ht.tensor(x), tw, tb, stride=stride, padding=padding, dilation=dilation)
    g = rng.standard_normal(out.shape).astype(dtype)
    (out * ht.tensor(g)).sum().backward()
    ts = [torch.tensor(a, requires_grad=i > 0) for i, a in enumerate((x, w, b))]
    TF.conv2d(*ts, stride=stride, padding=padding, dilation=dilation).backward(torch.tensor(g))
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tw.grad.numpy(), ts[1].grad.numpy(), **tol)
    np.testing.assert_allclose(tb.grad.numpy(), ts[2].grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOLS, ids=[str(c[1:]) for c in POOLS])
def test_max_pool2d_with_ties_equals_level1_and_torch(case, dtype):
    x_shape, kernel, stride, padding, dilation = case
    x = np.round(np.random.default_rng(0).standard_normal(x_shape)).astype(dtype)  # many ties in a window
    level1, fast, g = _both(_pool(kernel, stride, padding, dilation), [x])
    for a, b in zip(level1, fast):
        np.testing.assert_array_equal(b, a) if kernel == stride else np.testing.assert_allclose(b, a, rtol=1e-6)
    t = torch.tensor(x, requires_grad=True)
    out = TF.max_pool2d(t, kernel, stride, padding, dilation)
    out.backward(torch.tensor(g))
    np.testing.assert_array_equal(fast[0], out.detach().numpy())
    np.testing.assert_allclose(fast[1], t.grad.numpy(), rtol=1e-6)


def test_nan_and_infinity_follow_level_1(compiled):
    x = np.zeros((1, 2, 4, 4))
    x[0, 0, 0, 1] = np.nan  # a NaN after the maximum: the output is NaN, the gradient stays at the maximum
    x[0, 0, 0, 0] = 2.0
    x[0, 1, 2, 2] = -np.inf
    x[0, 1, 3, 3] = np.inf
    use_cpu_kernels(False)
    level1, _ = _run(_pool((2, 2), (2, 2), (0, 0), (1, 1)), [x])
    use_cpu_kernels()
    fast, _ = _run(_pool((2, 2), (2, 2), (0, 0), (1, 1)), [x])
    assert np.isnan(fast[0][0, 0, 0, 0])
    for a, b in zip(level1, fast):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_equals_level1_and_torch(dtype):
    x = np.random.default_rng(0).standard_normal((3, 4, 5, 6)).astype(dtype)
    x.flat[:5] = [0.0, -0.0, np.nan, -np.inf, np.inf]
    level1, fast, g = _both(F.relu, [x])
    for a, b in zip(level1, fast):
        np.testing.assert_array_equal(b, a)  # NaN where level 1 has NaN (the input's), nowhere else
    t = torch.tensor(x, requires_grad=True)
    out = torch.relu(t)
    out.backward(torch.tensor(g))
    np.testing.assert_array_equal(fast[0], out.detach().numpy())  # relu(-inf) = 0, relu(NaN) = NaN
    np.testing.assert_array_equal(fast[1], t.grad.numpy())


def test_gradients_match_finite_differences(compiled):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)), x, w, b)
    distinct = rng.permutation(2 * 2 * 7 * 7).reshape(2, 2, 7, 7) / 10.0  # no ties: the max is differentiable
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), distinct)
    assert gradcheck(lambda x: F.max_pool2d(x, 2, 1, dilation=2), distinct)
    assert gradcheck(lambda x: F.relu(x), rng.standard_normal((2, 3, 4, 5)))


def test_the_cnn_step_runs_compiled_and_matches_level1(compiled):
    from hyperion.examples.mnist import build_model
    from hyperion.tensor.ops.conv import Conv2d, MaxPool2d
    from hyperion.tensor.ops.elementwise import ReLU

    assert registered_functions("cpu") == {Conv2d: CompiledConv2d, MaxPool2d: CompiledMaxPool2d, ReLU: CompiledReLU}
    x = ht.tensor(np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32))
    losses = []
    for on in (True, False):
        use_cpu_kernels(on)
        ht.manual_seed(0)
        model = build_model("cnn").eval()
        loss = F.cross_entropy(model(x), ht.tensor(np.arange(4)))
        loss.backward()
        losses.append((loss.item(), model[0].weight.grad.numpy().copy()))
    assert losses[0][0] == pytest.approx(losses[1][0], rel=1e-6)
    np.testing.assert_allclose(losses[0][1], losses[1][1], rtol=1e-4, atol=1e-6)


def test_switch_and_fallbacks():
    use_cpu_kernels(False)
    assert not set(COMPILED) & set(registered_functions("cpu"))
    assert _compiled(np.zeros((1, 1, 2, 2), np.float32), np.zeros((1, 1, 1, 1), np.float32), None)
    assert not _compiled(np.zeros((1, 1, 2, 2), np.float16))  # another dtype: level 1's code
    assert not _compiled(np.zeros((1, 1, 2, 2), np.float32), np.zeros((1, 1, 1, 1), np.float64))  # mixed
    assert not _compiled(np.zeros((1, 2, 2), np.float32))


def test_the_epoch_benchmark_runs_every_mode_side_by_side():
    pytest.importorskip("zarr", reason="the bundled MNIST needs the data extra: pip install 'hyperion-tensor[data]'")
    from hyperion.kernels.conv_cpu import bench

    result = bench.run(quick=True, rounds=2, batches=3)
    assert result["batches"] == 3 and set(result["median_s"]) == set(bench.MODES)
    assert all(len(v) == 2 and min(v) > 0 for v in result["seconds"].values())
    assert set(result["vs_torch_paired"]) == {"level 1 (numpy)", "compiled (level 3)"}
    assert "| compiled (level 3) |" in bench.markdown(result)
    assert not registered_functions("cpu")  # each Hyperion epoch switched the kernels off again
