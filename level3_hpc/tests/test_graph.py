"""Graph mode on the CPU: capture, topological schedule, fused elementwise chains, replay equal to eager."""

from __future__ import annotations

import numpy as np
import pytest

import hyperion.tensor as ht
from hyperion import nn
from hyperion.runtime.graph import CaptureError, capture, topological_order

RNG = np.random.default_rng(0)


def t(*shape):
    return ht.tensor(RNG.standard_normal(shape).astype(np.float32))


def test_mul_add_relu_sum_is_one_kernel_and_matches_eager():
    a, b, c = t(64, 33), t(64, 33), t(64, 33)
    f = lambda a, b, c: (a * b + c).relu().sum()  # noqa: E731
    g = capture(f, a, b, c)
    assert (g.eager_kernels, g.kernels) == (4, 1)
    for args in ((a, b, c), (t(64, 33), t(64, 33), t(64, 33))):
        # the fused loop accumulates in float64, numpy's sum pairwise in float32
        np.testing.assert_allclose(g(*args).item(), f(*args).item(), rtol=1e-6)


def test_a_chain_with_broadcast_and_scalar_operands_fuses_and_matches_bitwise():
    x, bias = t(16, 33), t(33)
    f = lambda x, bias: ((x * 2.0 + bias) - x).relu()  # noqa: E731
    g = capture(f, x, bias)
    assert (g.eager_kernels, g.kernels) == (4, 1)
    np.testing.assert_array_equal(g(x, bias).numpy(), f(x, bias).numpy())


def test_a_value_used_twice_is_computed_once_inside_the_kernel():
    def f(x):
        square = x * x  # read twice below: one temporary of the fused loop feeds both
        return square + square.exp()

    x = t(8, 8)
    g = capture(f, x)
    assert (g.eager_kernels, g.kernels) == (3, 1)
    assert [k.ops for k in g.schedule] == [["mul", "exp", "add"]]
    np.testing.assert_allclose(g(x).numpy(), f(x).numpy(), rtol=1e-6)


def test_opaque_ops_replay_and_a_second_capture_compiles_nothing():
    ht.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 4))
    x = t(5, 20)
    capture(lambda x: (model(x) * 0.5 + 1.0).tanh(), x)
    g = capture(lambda x: (model(x) * 0.5 + 1.0).tanh(), x)
    assert g.stats.compiles == 0 and g.stats.fallbacks == {"matmul": 2}
    x2 = t(5, 20)
    with ht.no_grad():
        np.testing.assert_allclose(g(x2).numpy(), (model(x2) * 0.5 + 1.0).tanh().numpy(), rtol=1e-6, atol=1e-7)


def test_gpt_loss_replays_equal_to_eager():
    from hyperion.transformer.gpt import GPT, GPTConfig

    ht.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, context_length=16, n_layer=2, n_head=2, n_embd=32))
    model.eval()
    tokens = lambda: ht.tensor(RNG.integers(0, 65, (2, 16)))  # noqa: E731
    x, y = tokens(), tokens()
    g = capture(lambda x, y: model(x, y)[1], x, y)
    for args in ((x, y), (tokens(), tokens())):
        with ht.no_grad():
            eager = model(*args)[1].item()
        assert abs(g(*args).item() - eager) <= 5e-7 * abs(eager)


def test_an_input_copied_outside_an_op_is_refused():
    x = t(4)
    with pytest.raises(CaptureError, match="never reached an op"):
        capture(lambda x: ht.tensor(x.numpy()) * 2.0, x)
    with pytest.raises(ValueError, match="captured as"):
        capture(lambda x: x * 2.0, x)(t(5))


def test_topological_order():
    assert topological_order([[], [0], [0], [1, 2]]) == [0, 1, 2, 3]
    assert topological_order([[1], [], [1, 1], [0, 2]]) == [1, 0, 2, 3]
    order = topological_order([[3], [], [1], [2]])
    assert order == [1, 2, 3, 0]
    with pytest.raises(ValueError, match="cycle"):
        topological_order([[1], [0], []])


def test_a_tree_of_producers_fuses_into_one_loop():
    a, b, c, d = t(10, 7), t(10, 7), t(10, 7), t(10, 7)
    f = lambda a, b, c, d: (a * b + c * d).relu()  # noqa: E731
    g = capture(f, a, b, c, d)
    assert (g.eager_kernels, g.kernels) == (4, 1)
    np.testing.assert_array_equal(g(a, b, c, d).numpy(), f(a, b, c, d).numpy())
