"""The per-device table of Function overrides (``register_function``, read by ``Backend.function``), and the
backend primitives an optimizer step and a target check use."""

import numpy as np
import pytest

import hyperion.tensor as ht
from hyperion.tensor.backend import get_backend, register_function, registered_functions
from hyperion.tensor.ops.elementwise import Exp


class CountingExp(Exp):
    calls = 0

    def forward(self, x):
        CountingExp.calls += 1
        return super().forward(x)


def test_a_registered_override_runs_and_can_be_removed():
    x = ht.tensor([0.0, 1.0], requires_grad=True)
    register_function("cpu", Exp, CountingExp)
    try:
        assert get_backend("cpu").function(Exp) is CountingExp
        y = x.exp()
        y.sum().backward()
        assert CountingExp.calls == 1
        np.testing.assert_allclose(x.grad.numpy(), np.exp([0.0, 1.0]), rtol=1e-6)
    finally:
        register_function("cpu", Exp, None)
    assert Exp not in registered_functions("cpu")
    x.exp()
    assert CountingExp.calls == 1  # removed: the plain Function runs again


def test_an_override_must_subclass_the_op():
    class NotExp:
        pass

    with pytest.raises(TypeError, match="subclass"):
        register_function("cpu", Exp, NotExp)


def test_steady_host_malloc_is_on_here_and_respects_the_environment(monkeypatch):
    import platform

    from hyperion.tensor import backend

    if platform.system() == "Linux" and "glibc" in " ".join(platform.libc_ver()):
        assert backend.STEADY_HOST_MALLOC is True
    monkeypatch.setenv("HYPERION_MALLOC", "default")
    assert backend.steady_host_malloc() is False
    monkeypatch.delenv("HYPERION_MALLOC")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert backend.steady_host_malloc() is False


def test_add_and_sub_with_alpha_match_torch_through_add_scaled():
    import torch

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    for method, alpha in (("add_", -0.5), ("sub_", 2.0), ("add_", 1)):
        ours, theirs = ht.tensor(a), torch.tensor(a)
        getattr(ours, method)(ht.tensor(b), alpha=alpha)  # b broadcast over the rows
        getattr(theirs, method)(torch.tensor(b), alpha=alpha)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    ints = ht.tensor(np.array([1, 2, 3]))
    ints.add_(ht.tensor(np.array([1, 1, 1])), alpha=3)  # integers stay integers, in place
    assert ints.dtype == np.int64 and ints.numpy().tolist() == [4, 5, 6]


def test_count_outside_counts_targets_outside_the_classes_but_not_the_skipped():
    backend = get_backend("cpu")
    index = np.array([0, 5, -1, 7, -100, 2, 9])
    assert backend.count_outside(index, 6, -100) == 3
    assert backend.count_outside(index, 10, -1) == 1
    assert backend.count_outside(index[:0], 3, -100) == 0
