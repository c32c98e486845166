"""On the GPU: the fused cross-entropy and the short column sums ``use_kernels`` brings, and CuPy's one-kernel
``add_scaled_`` and ``count_outside``, against PyTorch CPU, numpy and level 1's composition."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from level3_gpu import skip_without_gpu

skip_without_gpu()
import hyperion.tensor as ht  # noqa: E402
from hyperion import nn, optim  # noqa: E402
from hyperion.nn import functional as F  # noqa: E402
from hyperion.runtime.backend import use_kernels  # noqa: E402
from hyperion.tensor.backend import CupyBackend, get_backend  # noqa: E402


@pytest.fixture
def kernels():
    backend = use_kernels(True, matmul_version=None)
    yield backend
    use_kernels(False)


@pytest.mark.parametrize("rows, classes", [(128, 10), (7, 1000), (3, 50257), (1, 1)])
@pytest.mark.parametrize("options", [{}, {"ignore_index": 3}, {"label_smoothing": 0.1, "ignore_index": 0},
                                     {"reduction": "sum"}, {"reduction": "none", "label_smoothing": 0.2}])
def test_fused_cross_entropy_equals_torch(kernels, rows, classes, options):
    rng = np.random.default_rng(rows + classes)
    logits = (3 * rng.standard_normal((rows, classes))).astype(np.float32)
    target = rng.integers(0, classes, rows)
    weight = rng.random(rows).astype(np.float32)
    x = ht.tensor(logits, device="cuda", requires_grad=True)
    loss = F.cross_entropy(x, ht.tensor(target, device="cuda"), **options)
    (loss * ht.tensor(weight, device="cuda") if loss.ndim else loss).sum().backward()
    t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(t, torch.tensor(target), **options)
    (ref * torch.tensor(weight, dtype=torch.float64) if ref.ndim else ref).sum().backward()
    assert kernels.calls["cross_entropy kernel"] == 1
    np.testing.assert_allclose(loss.detach().numpy(), ref.detach().numpy(), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_fused_cross_entropy_every_row_ignored_and_bad_targets(kernels):
    x = ht.tensor(np.ones((4, 3), np.float32), device="cuda", requires_grad=True)
    loss = F.cross_entropy(x, ht.tensor(np.full(4, -100), device="cuda"))
    loss.backward()
    assert np.isnan(loss.item()) and not x.grad.numpy().any()
    with pytest.raises(IndexError, match="target 3 is out of range for 3 classes"):
        F.cross_entropy(x, ht.tensor(np.array([0, 3, 1, 2]), device="cuda"))
    with pytest.raises(IndexError, match="target -2 is out of range"):
        F.cross_entropy(x, ht.tensor(np.array([0, -2, 1, 2]), device="cuda"))


def test_count_outside_and_add_scaled_on_cupy():
    import cupy

    backend = get_backend("cuda")
    index = cupy.asarray([0, 5, -1, 7, -100, 2, 9])
    assert backend.count_outside(index, 6, -100) == 3  # -1, 7, 9
    assert backend.count_outside(index, 10, -1) == 1  # -100
    for n in (60_001, 100_003):  # many strides of the one block; past 65,536: level 1's composition
        big = np.random.default_rng(n).integers(-3, 1000, n)
        expected = int(((big != -1) & ((big < 0) | (big >= 990))).sum())
        assert backend.count_outside(cupy.asarray(big), 990, -1) == expected > 0
    assert backend.count_outside(cupy.asarray(big)[::2], 990, -1) == int(
        ((big[::2] != -1) & ((big[::2] < 0) | (big[::2] >= 990))).sum())  # a strided view: level 1's path
    full = backend.full((2, 3), 1.5, np.float32)
    assert full.dtype == np.float32 and (full.get() == 1.5).all()
    target = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    x = cupy.ones(3, dtype=cupy.float32)
    assert backend.add_scaled_(target, x, -0.5) is target  # broadcast over the rows, in place
    np.testing.assert_array_equal(target.get(), np.arange(6, dtype=np.float32).reshape(2, 3) - 0.5)


def test_the_mlp_step_trains_like_torch_with_the_kernels(kernels):
    """Three SGD steps of the level-1 MLP benchmark on cuda: parameters equal PyTorch CPU's."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((128, 784), dtype=np.float32), rng.integers(0, 10, 128)
    ours = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    theirs = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    ours.to("cuda")
    opt, topt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9), torch.optim.SGD(theirs.parameters(), lr=0.1,
                                                                                       momentum=0.9)
    hx, hy = ht.tensor(x, device="cuda"), ht.tensor(y, device="cuda")
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(ours(hx), hy).backward()
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        topt.step()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    calls = kernels.calls  # every fused path of the step ran: 3 steps, one ReLU, two bias gradients, 4 updates each
    assert (calls["relu kernel"], calls["column sum kernel"], calls["cross_entropy kernel"],
            calls["add_scaled kernel"]) == (3, 6, 3, 12), calls


def test_add_scaled_kernel_equals_level_one_on_cupy(kernels):
    """``fused/add_scaled.cu`` gives level 1's CuPy kernel's bits; other layouts go to level 1's path."""
    import cupy

    rng = np.random.default_rng(7)
    for shape in ((784, 256), (10,), (3, 300_001)):
        target, x = (cupy.asarray(rng.standard_normal(shape).astype(np.float32)) for _ in range(2))
        x.ravel()[:3] = cupy.asarray([np.nan, np.inf, -0.0], np.float32)
        before = kernels.calls["add_scaled kernel"]
        ours, theirs = target.copy(), target.copy()
        assert kernels.add_scaled_(ours, x, -0.01) is ours
        CupyBackend().add_scaled_(theirs, x, -0.01)
        assert kernels.calls["add_scaled kernel"] == before + 1
        np.testing.assert_array_equal(ours.get(), theirs.get())
    target, row = cupy.zeros((4, 3), np.float32), cupy.ones(3, np.float32)  # broadcast: level 1's path
    before = kernels.calls["add_scaled kernel"]
    kernels.add_scaled_(target, row, 2.0)
    kernels.add_scaled_(target[:, :2], cupy.ones((4, 2), np.float32), 1.0)  # a strided view: level 1's path
    assert kernels.calls["add_scaled kernel"] == before
    np.testing.assert_array_equal(target.get(), np.array([[3, 3, 2]] * 4, np.float32))


def test_relu_kernel_equals_level_one_on_cupy(kernels):
    """fp32 through ``fused/relu.cu`` equals plain CuPy (level 1) bit for bit, NaN and infinities included."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((257, 129)).astype(np.float32)
    grad = rng.standard_normal(x.shape).astype(np.float32)
    x[0, :5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    grad[1, :3] = np.nan
    got = []
    for enable in (True, False):
        use_kernels(enable, matmul_version=None)
        t = ht.tensor(x, device="cuda", requires_grad=True)
        y = t.relu()
        (y * ht.tensor(grad, device="cuda")).sum().backward()
        got.append((type(y._ctx).__name__, y.detach().numpy(), t.grad.numpy()))
    assert (got[0][0], got[1][0]) == ("KernelReLU", "ReLU")
    np.testing.assert_array_equal(got[0][1], got[1][1])
    np.testing.assert_array_equal(got[0][2], got[1][2])


def test_short_column_sums_run_one_kernel_and_long_ones_cupy(kernels):
    import cupy

    rng = np.random.default_rng(5)
    for rows, cols, path in ((128, 256, "column sum kernel"), (3, 10, "column sum kernel"), (2000, 7, None)):
        x = rng.standard_normal((rows, cols)).astype(np.float32)
        before = kernels.calls["column sum kernel"]
        for keepdims in (False, True):
            got = kernels.sum(cupy.asarray(x), (0,), keepdims)
            np.testing.assert_allclose(got.get(), x.astype(np.float64).sum(0, keepdims=keepdims), rtol=1e-5,
                                       atol=1e-5)
        assert kernels.calls["column sum kernel"] - before == (2 if path else 0)
