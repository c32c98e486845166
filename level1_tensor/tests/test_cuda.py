"""The same checks on device "cuda" (CuPy): results equal to the CPU's. Skipped without CuPy and a GPU.

Run on a GPU machine:  pytest -q level1_tensor/tests/test_cuda.py
"""

from __future__ import annotations

import numpy as np
import pytest

import hyperion.tensor as ht
from hyperion.tensor import functional as F

if not ht.cuda_is_available():
    try:
        ht.get_backend("cuda")
    except ht.DeviceError as error:
        reason = str(error)
    pytest.skip(f"CUDA tests need CuPy and an NVIDIA GPU: {reason}", allow_module_level=True)

RTOL, ATOL = 1e-5, 1e-5


def _both(data: np.ndarray, requires_grad: bool = True) -> tuple[ht.Tensor, ht.Tensor]:
    cpu = ht.tensor(data, dtype=data.dtype, requires_grad=requires_grad)
    gpu = ht.tensor(data, dtype=data.dtype, device="cuda", requires_grad=requires_grad)
    return cpu, gpu


def _close(gpu: ht.Tensor, cpu: ht.Tensor, scale: float = 1.0) -> None:
    assert gpu.device == "cuda" and cpu.device == "cpu"
    np.testing.assert_allclose(gpu.detach().cpu().numpy(), cpu.detach().numpy(), rtol=RTOL * scale, atol=ATOL * scale)


def test_creation_on_cuda():
    for t in (ht.zeros(2, 3, device="cuda"), ht.ones(4, device="cuda"), ht.full((2,), 3.0, device="cuda"),
              ht.arange(5, device="cuda"), ht.tensor([[1.0, 2.0]], device="cuda"), ht.eye(3, device="cuda")):
        assert t.device == "cuda" and t.is_cuda
    np.testing.assert_array_equal(ht.arange(5, device="cuda").cpu().numpy(), np.arange(5))
    ht.manual_seed(3)
    a = ht.randn(4, 5, device="cuda")
    ht.manual_seed(3)
    np.testing.assert_array_equal(a.cpu().numpy(), ht.randn(4, 5).numpy())  # same seed, same numbers
    assert ht.zeros_like(a).device == "cuda"
    assert "device='cuda'" in repr(a)


def test_to_cpu_cuda_round_trip_and_gradient_moves_back():
    data = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    x = ht.tensor(data, requires_grad=True)
    y = x.cuda()
    assert y.device == "cuda" and y.requires_grad
    back = (y * 2).to("cpu")
    np.testing.assert_array_equal(back.detach().numpy(), data * 2)
    back.sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 2, np.float32))
    assert x.to("cuda", ht.float64).dtype == ht.float64
    assert ht.tensor([1.5]).cuda().item() == 1.5 and ht.tensor([[1, 2]]).cuda().tolist() == [[1, 2]]


def test_mixing_devices_names_both():
    with pytest.raises(ht.DeviceError, match="'cpu'.*'cuda'"):
        ht.ones(2) + ht.ones(2, device="cuda")


@pytest.mark.parametrize("name, fn, kind", [
    ("add_broadcast", lambda a, b: a + b[0], "normal"),
    ("mul_div", lambda a, b: a * b / (b * b + 1), "normal"),
    ("exp_log_sqrt", lambda a, b: (a.exp() + 1).log() * (b * b + 1).sqrt(), "normal"),
    ("activations", lambda a, b: F.gelu(a) + F.gelu(b, approximate="tanh") + ht.sigmoid(a) * ht.tanh(b), "normal"),
    ("maximum_where", lambda a, b: ht.where(a > b, ht.maximum(a, b), ht.relu(b)), "normal"),
    ("reductions", lambda a, b: a.sum(0) + b.mean(0, keepdim=True).T.squeeze(1) + a.amax(0) + b.std(0), "normal"),
    ("max_dim", lambda a, b: a.max(1).values + b.min(1).values, "normal"),
    ("matmul", lambda a, b: a @ b.T, "normal"),
    ("batched_matmul", lambda a, b: a.view(2, 2, 3) @ b.T.reshape(3, 4)[None], "normal"),
    ("softmax", lambda a, b: F.softmax(a, 1) * F.log_softmax(b, 0), "normal"),
    ("logsumexp", lambda a, b: a.logsumexp(1) + b.logsumexp(1), "normal"),
    ("layer_norm", lambda a, b: F.layer_norm(a, 3, b[0], b[1]), "normal"),
    ("indexing", lambda a, b: a[ht.tensor([0, 2, 2], device="cuda") if a.is_cuda else ht.tensor([0, 2, 2])]
     + b[1:, ::2].sum(), "normal"),
    ("cat_stack_split", lambda a, b: ht.cat(list(a.split(1, 0)) + [b], 0) * ht.stack([a, b]).sum(0).sum(), "normal"),
])
def test_elementwise_matmul_softmax_forward_backward_equal_cpu(name, fn, kind):
    rng = np.random.default_rng(1)
    a_np, b_np = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    (a, ga), (b, gb) = _both(a_np), _both(b_np)
    out_cpu, out_gpu = fn(a, b), fn(ga, gb)
    _close(out_gpu, out_cpu, 10)
    g = rng.standard_normal(out_cpu.shape).astype(np.float32)
    out_cpu.backward(ht.tensor(g))
    out_gpu.backward(ht.tensor(g, device="cuda"))
    _close(ga.grad, a.grad, 10)
    _close(gb.grad, b.grad, 10)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_equal_cpu(reduction):
    rng = np.random.default_rng(2)
    (x, gx) = _both(rng.standard_normal((5, 4)).astype(np.float32) * 1e4)
    target = rng.integers(0, 4, 5)
    target[1] = -100
    kwargs = {"label_smoothing": 0.1, "reduction": reduction}
    loss = F.cross_entropy(x, ht.tensor(target), **kwargs)
    gloss = F.cross_entropy(gx, ht.tensor(target, device="cuda"), **kwargs)
    _close(gloss, loss, 10)
    loss.sum().backward()
    gloss.sum().backward()
    _close(gx.grad, x.grad, 10)


@pytest.mark.parametrize("conv", [F.conv2d, F.conv2d_naive])
def test_conv_and_pools_forward_backward_equal_cpu(conv):
    rng = np.random.default_rng(3)
    (x, gx) = _both(rng.standard_normal((2, 3, 7, 6)).astype(np.float32))
    (w, gw) = _both(rng.standard_normal((4, 3, 3, 2)).astype(np.float32))
    (b, gb) = _both(rng.standard_normal(4).astype(np.float32))

    def net(x_, w_, b_):
        y = conv(x_, w_, b_, stride=(2, 1), padding=1, dilation=(1, 2))
        return F.max_pool2d(y, 2, 1) .sum() + F.avg_pool2d(y, 2, padding=1).sum()

    _close(net(gx, gw, gb), net(x, w, b), 10)
    net(x, w, b).backward()
    net(gx, gw, gb).backward()
    for gpu, cpu in ((gx, x), (gw, w), (gb, b)):
        _close(gpu.grad, cpu.grad, 10)


def test_views_on_cuda_share_storage():
    x = ht.arange(12, device="cuda").float().view(3, 4)
    views = [x.T, x[1], x[:, ::2], x.view(2, 6), x.unsqueeze(0).expand(2, 3, 4), x.narrow(1, 1, 2)]
    assert all(v.untyped_storage_id() == x.untyped_storage_id() and v.device == "cuda" for v in views)
    assert x.T.strides == (1, 4) and x[1].storage_offset() == 4
    x[1] = 0.0
    x.T[3].fill_(-1.0)
    expected = np.arange(12, dtype=np.float32).reshape(3, 4)
    expected[1], expected[:, 3] = 0, -1
    np.testing.assert_array_equal(x.cpu().numpy(), expected)
    assert not x.T.reshape(12).untyped_storage_id() == x.untyped_storage_id()
    np.testing.assert_array_equal(x.T.contiguous().cpu().numpy(), expected.T)


def test_dropout_masks_are_drawn_on_the_device_reproducibly():
    x = ht.ones(256, 512, device="cuda", requires_grad=True)
    ht.manual_seed(7)
    a = F.dropout(x, 0.25)
    ht.manual_seed(7)
    b = F.dropout(x, 0.25)
    out = a.detach().cpu().numpy()
    np.testing.assert_array_equal(out, b.detach().cpu().numpy())  # same seed, same mask on one device
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.01
    a.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), out)  # the gradient passes through the same mask


def test_cuda_concatenate_matches_numpy_and_refuses_mismatched_parts():
    """The CuPy backend's concatenate (copy kernels, no pointer table from the host): numpy's result on every
    axis, dtypes promoted, and a clear error for parts that disagree off the axis."""
    backend = ht.get_backend("cuda")
    import cupy

    rng = np.random.default_rng(0)
    parts = [rng.standard_normal((2, k, 3)).astype(np.float32) for k in (1, 4, 2)]
    for axis in (1, -2):
        got = backend.concatenate([cupy.asarray(p) for p in parts], axis)
        np.testing.assert_array_equal(cupy.asnumpy(got), np.concatenate(parts, axis=axis))
    mixed = [cupy.ones((2, 2), dtype=cupy.float32), cupy.ones((1, 2), dtype=cupy.float64)]
    assert backend.concatenate(mixed, 0).dtype == cupy.float64
    with pytest.raises(ValueError, match="agree except along axis"):
        backend.concatenate([cupy.ones((2, 3)), cupy.ones((2, 1))], 0)


def test_number_operands_are_uploaded_once_and_keep_their_sign():
    x = ht.tensor(np.array([1.0, -2.0], np.float32), device="cuda")
    backend = x._backend
    first = backend.scalar(0.5, np.dtype(np.float32))
    assert backend.scalar(0.5, np.dtype(np.float32)) is first  # one upload per (dtype, value)
    assert backend.scalar(0.5, np.dtype(np.float64)) is not first
    np.testing.assert_array_equal((1 / (x * 0.0)).cpu().numpy(), [np.inf, -np.inf])
    np.testing.assert_array_equal((1 / (x * -0.0)).cpu().numpy(), [-np.inf, np.inf])  # -0.0 is not 0.0
    np.testing.assert_array_equal((x * 3 + 0.5).cpu().numpy(), [3.5, -5.5])
    assert float(first.get()) == 0.5  # the ops did not write into the shared operand
