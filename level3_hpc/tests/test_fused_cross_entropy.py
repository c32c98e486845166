"""The fused cross-entropy (``fused/cross_entropy.cu``, registered for "cuda" by ``use_kernels``) run on the CPU
by the CUDA emulator, through the whole Function and the autograd engine, against PyTorch CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hyperion.tensor as ht
from hyperion.kernels import emulate
from hyperion.kernels.fused.cross_entropy import row_threads
from hyperion.nn import functional as F
from hyperion.runtime.functions import KernelCrossEntropy
from hyperion.tensor.backend import register_function
from hyperion.tensor.ops.nn import CrossEntropy

pytestmark = pytest.mark.skipif(not emulate.available(), reason="the CUDA emulator needs g++ on PATH")


class EmulatedCrossEntropy(KernelCrossEntropy):
    launch = {"xp": np, "get_kernel": emulate.get_kernel}


@pytest.fixture(autouse=True)
def _kernel_on_cpu():
    register_function("cpu", CrossEntropy, EmulatedCrossEntropy)
    yield
    register_function("cpu", CrossEntropy, None)


def _ours(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None, **options):
    x = ht.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, ht.tensor(target), **options)
    ran = type(loss._ctx).__name__
    (loss * ht.tensor(weight) if weight is not None else loss).sum().backward()
    return loss.detach().numpy(), x.grad.numpy(), ran


def _torch(logits: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None, **options):
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(x, torch.tensor(target), **options)
    (loss * torch.tensor(weight, dtype=torch.float64) if weight is not None else loss).sum().backward()
    return loss.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("rows, classes", [(64, 7), (5, 1000), (3, 5003), (1, 1)])
@pytest.mark.parametrize("options", [{}, {"ignore_index": 3}, {"label_smoothing": 0.1, "ignore_index": 0},
                                     {"reduction": "sum"}, {"reduction": "none", "label_smoothing": 0.2}])
def test_loss_and_gradient_equal_torch(rows, classes, options):
    rng = np.random.default_rng(rows * classes)
    logits = (3 * rng.standard_normal((rows, classes))).astype(np.float32)
    target = rng.integers(0, classes, rows)
    weight = rng.random(rows).astype(np.float32) if options.get("reduction") == "none" else None
    loss, grad, ran = _ours(logits, target, weight, **options)
    assert ran == "EmulatedCrossEntropy"
    ref_loss, ref_grad = _torch(logits, target, weight, **options)
    np.testing.assert_allclose(loss, ref_loss, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-7)


def test_every_row_ignored_gives_nan_and_zero_gradient():
    with np.errstate(invalid="ignore"):
        loss, grad, ran = _ours(np.ones((4, 3), np.float32), np.full(4, -100))
    assert ran == "EmulatedCrossEntropy" and np.isnan(loss) and not grad.any()


def test_a_minus_infinity_logit_is_a_zero_probability_and_a_nan_logit_poisons_its_row():
    logits = np.array([[0.0, -np.inf, 1.0], [2.0, np.nan, 0.5]], np.float32)
    target = np.array([0, 2])
    loss, _, _ = _ours(logits, target, reduction="none")
    ref, _ = _torch(logits[:1], target[:1], reduction="none")
    np.testing.assert_allclose(loss[0], ref[0], rtol=1e-6)  # finite, as PyTorch (level 1: NaN via 0 * -inf)
    assert np.isnan(loss[1])


def test_a_transposed_view_of_logits_is_read_as_its_values():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((9, 40)).astype(np.float32)
    target = rng.integers(0, 9, 40)
    x = ht.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x.transpose(0, 1), ht.tensor(target))
    loss.backward()
    t = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(t.T, torch.tensor(target)).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_other_dtypes_run_the_parent():
    loss, grad, ran = _ours(np.zeros((3, 4), np.float64), np.array([0, 1, 2]))
    assert ran == "EmulatedCrossEntropy"  # the same class, its level-1 path: float64 to float64's precision
    np.testing.assert_allclose(loss, np.log(4), rtol=1e-15)


def test_row_threads_cover_short_and_long_rows():
    assert [row_threads(c) for c in (1, 10, 128, 129, 1000, 4096, 50257)] == [32, 32, 32, 64, 256, 1024, 1024]
