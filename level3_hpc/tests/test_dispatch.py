"""Level 1's dispatch point for fused Functions, on the CPU: a backend's ``function(op)`` decides which
Function class runs, so level 3 can swap in kernels without touching level 1's ops (no GPU needed)."""

from __future__ import annotations

import numpy as np

import hyperion.tensor as ht
import hyperion.tensor.functional as TF
from hyperion.runtime.functions import FUSED
from hyperion.tensor.backend import Backend, get_backend, register_backend
from hyperion.tensor.ops.nn import Softmax


class CountingSoftmax(Softmax):
    runs = 0

    def forward(self, x, dim):
        CountingSoftmax.runs += 1
        return super().forward(x, dim)


class SwappingBackend(Backend):
    def function(self, op):
        return CountingSoftmax if op is Softmax else op


def test_backend_function_picks_the_class_that_runs():
    cpu = get_backend("cpu")
    assert cpu.function(Softmax) is Softmax  # the default: level 1's own composition
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    ref = ht.softmax(ht.tensor(x), -1).numpy()
    try:
        register_backend("cpu", SwappingBackend(np))
        t = ht.tensor(x, requires_grad=True)
        out = ht.softmax(t, -1)
        out.sum().backward()
    finally:
        register_backend("cpu", cpu)
    assert CountingSoftmax.runs == 1
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-6)
    assert t.grad is not None and np.abs(t.grad.numpy()).max() < 1e-5  # d(sum softmax)/dx = 0


def test_kernel_functions_subclass_what_they_replace():
    for op, kernel in FUSED.items():
        assert issubclass(kernel, op) and kernel is not op
    assert TF.gelu(ht.tensor(np.ones(3, np.float32))).shape == (3,)  # cpu path untouched
