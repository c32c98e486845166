"""The fused ReLU (``fused/relu.cu``, registered for "cuda" by ``use_kernels``) run on the CPU by the CUDA
emulator, through the Function and the autograd engine: equal to level 1's composition bit for bit (NaN,
infinities, signed zeros, NaN gradients) and to PyTorch's gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hyperion.tensor as ht
from hyperion.kernels import emulate
from hyperion.runtime.functions import KernelReLU
from hyperion.tensor.backend import register_function
from hyperion.tensor.ops.elementwise import ReLU

pytestmark = pytest.mark.skipif(not emulate.available(), reason="the CUDA emulator needs g++ on PATH")


class EmulatedReLU(KernelReLU):
    launch = {"xp": np, "get_kernel": emulate.get_kernel}


def _relu(x: np.ndarray, grad: np.ndarray, fused: bool) -> tuple[np.ndarray, np.ndarray, str]:
    register_function("cpu", ReLU, EmulatedReLU if fused else None)
    try:
        t = ht.tensor(x, requires_grad=True)
        y = t.relu()
        ran = type(y._ctx).__name__
        (y * ht.tensor(grad)).sum().backward()
        return y.detach().numpy(), t.grad.numpy(), ran
    finally:
        register_function("cpu", ReLU, None)


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 3.0, -2.0], dtype=np.float32)


@pytest.mark.parametrize("shape", [(9,), (128, 256), (3, 5, 7), (0, 4), (70_001,)])
def test_relu_equals_level_one_and_torch(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    grad = rng.standard_normal(shape).astype(np.float32)
    if x.size >= SPECIAL.size:
        x.reshape(-1)[: SPECIAL.size] = SPECIAL
        grad.reshape(-1)[SPECIAL.size: 2 * SPECIAL.size] = np.nan  # NaN gradients where x is finite
    y, dx, ran = _relu(x, grad, fused=True)
    y1, dx1, ran1 = _relu(x, grad, fused=False)
    assert (ran, ran1) == ("EmulatedReLU", "ReLU")
    np.testing.assert_array_equal(y, y1)
    np.testing.assert_array_equal(dx, dx1)  # NaN where level 1 has NaN, nowhere else
    tx = torch.tensor(x, requires_grad=True)
    torch.relu(tx).backward(torch.tensor(grad))
    np.testing.assert_array_equal(y, torch.relu(torch.tensor(x)).numpy())
    keep = ~np.isnan(x) & ~np.isnan(grad)  # torch zeroes a NaN input's gradient and a NaN gradient at x <= 0;
    # level 1 (and we) pass the first on and keep the second NaN (grad * mask)
    np.testing.assert_array_equal(dx[keep], tx.grad.numpy()[keep])


def test_other_dtypes_run_level_one():
    x = np.array([-1.0, 2.0])
    y, dx, ran = _relu(x, np.ones(2), fused=True)
    assert ran == "EmulatedReLU" and y.dtype == np.float64
    np.testing.assert_array_equal(dx, [0.0, 1.0])


def test_lazy_mode_fuses_level_ones_relu_not_the_kernel():
    """``KernelReLU.fusible``: under ``lazy()`` the registered kernel gives way to level 1's ReLU, so
    ``(a*b+c).relu().sum()`` stays one generated kernel (an opaque ReLU would split it in three)."""
    from hyperion.runtime.lazy import lazy

    rng = np.random.default_rng(0)
    a, b, c = (ht.tensor(rng.standard_normal((64, 33)).astype(np.float32)) for _ in range(3))
    register_function("cpu", ReLU, EmulatedReLU)
    try:
        with lazy("cpu") as run:
            value = (a * b + c).relu().sum().item()
    finally:
        register_function("cpu", ReLU, None)
    assert run.kernels == 1 and not run.fallbacks, run
    want = np.maximum(a.numpy() * b.numpy() + c.numpy(), 0).sum(dtype=np.float64)
    assert value == pytest.approx(want, rel=1e-6)
