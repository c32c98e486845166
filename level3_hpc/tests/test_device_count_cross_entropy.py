"""The cross-entropy that never reads the row count on the host: same loss and gradient as level 1
(to the bit) and as PyTorch, on the CPU backend (the class is registered for "cuda" by use_kernels)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hyperion.tensor as ht
from hyperion.nn import functional as F
from hyperion.runtime.functions import DeviceCountCrossEntropy
from hyperion.tensor.backend import register_function
from hyperion.tensor.ops.nn import CrossEntropy


def _loss_and_grad(logits: np.ndarray, target: np.ndarray, **options) -> tuple[np.ndarray, np.ndarray]:
    x = ht.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, ht.tensor(target), **options)
    _loss_and_grad.ran = type(loss._ctx).__name__
    loss.backward()
    return loss.detach().numpy(), x.grad.numpy()


@pytest.fixture
def device_count_on_cpu():
    register_function("cpu", CrossEntropy, DeviceCountCrossEntropy)
    yield
    register_function("cpu", CrossEntropy, None)


@pytest.mark.parametrize("options", [{}, {"ignore_index": 3}, {"label_smoothing": 0.1, "ignore_index": 0}])
def test_same_loss_and_gradient_as_level_1_and_torch(device_count_on_cpu, options):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((64, 7)).astype(np.float32)
    target = rng.integers(0, 7, 64)
    ours = _loss_and_grad(logits, target, **options)
    assert _loss_and_grad.ran == "DeviceCountCrossEntropy"
    register_function("cpu", CrossEntropy, None)
    level1 = _loss_and_grad(logits, target, **options)
    np.testing.assert_array_equal(ours[0], level1[0])
    np.testing.assert_array_equal(ours[1], level1[1])
    t = torch.tensor(logits, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(t, torch.tensor(target), **options)
    tl.backward()
    np.testing.assert_allclose(ours[0], tl.item(), rtol=1e-6)
    np.testing.assert_allclose(ours[1], t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_every_row_ignored_gives_nan_and_zero_gradient(device_count_on_cpu):
    logits = np.ones((4, 3), np.float32)
    with np.errstate(invalid="ignore"):
        loss, grad = _loss_and_grad(logits, np.full(4, -100))
    assert _loss_and_grad.ran == "DeviceCountCrossEntropy"
    assert np.isnan(loss) and not grad.any()
