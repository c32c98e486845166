"""Initialisers: bounds and standard deviations of Xavier and Kaiming, fans, gains, seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hyperion.nn import Parameter, init
from hyperion.tensor import Generator, empty, manual_seed

torch = pytest.importorskip("torch")


def test_fans_match_torch():
    for shape in [(30, 20), (16, 8, 3, 5), (4, 3, 7)]:
        ours = init.calculate_fan_in_and_fan_out(empty(*shape))
        assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.calculate_fan_in_and_fan_out(empty(5))


@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [
        ("linear", None),
        ("relu", None),
        ("tanh", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("sigmoid", None),
        ("conv2d", None),
        ("selu", None),
    ],
)
def test_gains_match_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param)
    )


def _stats(fn, shape=(256, 128, 3, 3), **kwargs):
    manual_seed(0)
    w = Parameter(empty(*shape))
    out = fn(w, **kwargs)
    assert out is w and w.requires_grad and w.is_leaf
    return w.detach().numpy()


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize(
    ("nonlinearity", "a"), [("relu", 0.0), ("leaky_relu", math.sqrt(5)), ("tanh", 0.0), ("linear", 0.0)]
)
def test_kaiming(mode, nonlinearity, a):
    fan = 128 * 9 if mode == "fan_in" else 256 * 9
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    w = _stats(init.kaiming_uniform_, a=a, mode=mode, nonlinearity=nonlinearity)
    bound = math.sqrt(3) * std
    assert -bound <= w.min() and w.max() <= bound and w.min() < -0.99 * bound and w.max() > 0.99 * bound
    assert w.std() == pytest.approx(std, rel=0.01)
    w = _stats(init.kaiming_normal_, a=a, mode=mode, nonlinearity=nonlinearity)
    assert w.std() == pytest.approx(std, rel=0.01) and abs(w.mean()) < 0.01 * std * 10


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(gain):
    std = gain * math.sqrt(2 / (128 * 9 + 256 * 9))
    w = _stats(init.xavier_uniform_, gain=gain)
    assert abs(w).max() <= math.sqrt(3) * std and w.std() == pytest.approx(std, rel=0.01)
    w = _stats(init.xavier_normal_, gain=gain)
    assert w.std() == pytest.approx(std, rel=0.01)


def test_simple_fills_and_generators():
    w = Parameter(empty(3, 4))
    assert (init.zeros_(w).detach().numpy() == 0).all()
    assert (init.ones_(w).detach().numpy() == 1).all()
    assert (init.constant_(w, 2.5).detach().numpy() == 2.5).all()
    a = init.uniform_(Parameter(empty(1000)), -2, 3, generator=Generator(7)).detach().numpy()
    b = init.uniform_(Parameter(empty(1000)), -2, 3, generator=Generator(7)).detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert a.min() >= -2 and a.max() <= 3
    n = init.normal_(Parameter(empty(20000)), 1.0, 0.5).detach().numpy()
    assert n.mean() == pytest.approx(1.0, abs=0.02) and n.std() == pytest.approx(0.5, rel=0.03)
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_uniform_(w, mode="fan")
