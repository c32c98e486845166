"""The per-device table of Function overrides: ``register_function`` is what ``Backend.function`` reads."""

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
