"""Experiment 3: the MLP's backward is right, and gradients vanish/explode as (gain/√2)^depth predicts."""

import math

import numpy as np
import pytest

from hyperion.foundations.gradcheck import gradcheck
from hyperion.foundations.gradient_flow import (
    HE_GAIN,
    depth_sweep,
    fixes,
    gradient_norms,
    init_mlp,
    init_sweep,
    mlp_backward,
    mlp_forward,
)

torch = pytest.importorskip("torch")

CONFIGS = [
    {"activation": "relu"},
    {"activation": "tanh"},
    {"activation": "relu", "residual": True, "branch_scale": 0.3},
    {"activation": "tanh", "norm": True},
    {"activation": "relu", "residual": True, "norm": True},
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_mlp_backward_passes_gradcheck(config):
    rng = np.random.default_rng(0)
    weights = init_mlp(3, 4, gain=1.3, seed=1)
    x, G = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))

    def loss(x, *ws):
        return float(np.sum(mlp_forward(list(ws), x, **config)[0] * G))

    out, cache = mlp_forward(weights, x, **config)
    grads = mlp_backward(weights, cache, G)
    assert len(grads["weights"]) == 3 and len(grads["activations"]) == 4
    np.testing.assert_array_equal(grads["activations"][-1], G)
    assert gradcheck(loss, [x, *weights], [grads["activations"][0], *grads["weights"]])


def test_mlp_backward_matches_torch_with_layer_norm_and_residual():
    rng = np.random.default_rng(2)
    weights = init_mlp(4, 6, gain=1.0, seed=3)
    x, G = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    out, cache = mlp_forward(weights, x, "relu", residual=True, norm=True, branch_scale=0.5)
    grads = mlp_backward(weights, cache, G)
    tx = torch.tensor(x, requires_grad=True)
    tw = [torch.tensor(W, requires_grad=True) for W in weights]
    h = tx
    for W in tw:
        h = h + 0.5 * torch.relu(torch.nn.functional.layer_norm(h, (6,), eps=1e-5) @ W.T)
    np.testing.assert_allclose(out, h.detach().numpy(), rtol=1e-12, atol=1e-12)
    (h * torch.tensor(G)).sum().backward()
    np.testing.assert_allclose(grads["activations"][0], tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    for mine, theirs in zip(grads["weights"], tw):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_bad_input_is_refused_with_its_shape():
    with pytest.raises(ValueError, match=r"\(batch, 4\)"):
        mlp_forward(init_mlp(2, 4, 1.0), np.ones((3, 5)))
    with pytest.raises(ValueError, match="activation"):
        mlp_forward(init_mlp(2, 4, 1.0), np.ones((3, 4)), activation="gelu")


def test_relu_gradients_vanish_and_explode_as_gain_over_root_two_to_the_depth():
    depth = 30
    sweep = init_sweep(depth=depth, width=128, batch=32, gains=(0.5, 1.0, HE_GAIN, 2.0))
    ratios = {g: m[0] for g, m in zip(sweep["gains"], sweep["measured"])}  # ‖∂L/∂x‖ / ‖∂L/∂h_L‖
    assert ratios[0.5] < 1e-12 and ratios[1.0] < 1e-3  # vanishing: 0.35^30 ≈ 3e-14, 0.71^30 ≈ 3e-5
    assert ratios[2.0] > 1e3  # exploding: 2^15 ≈ 3e4
    assert 1 / 3 < ratios[HE_GAIN] < 3  # He init keeps it within a small factor
    for m, t in zip(sweep["measured"], sweep["theory"]):
        assert np.all(np.abs(np.log(m / t)) < math.log(3)), "more than a factor 3 from (gain/√2)^(L-l)"


def test_the_ratio_against_depth_follows_the_prediction():
    sweep = depth_sweep(depths=(4, 16, 32), gains=(1.0, HE_GAIN), width=128, batch=32)
    for m, t in zip(sweep["measured"], sweep["theory"]):
        assert np.all(np.abs(np.log(m / t)) < math.log(3))
    assert sweep["measured"][0][-1] < sweep["measured"][0][0] / 100  # gain 1: 16 -> 32 layers keeps shrinking


def test_tanh_with_small_init_vanishes_and_xavier_decays_far_less():
    small = gradient_norms(30, 128, 32, gain=0.5, activation="tanh")["activations"]
    xavier = gradient_norms(30, 128, 32, gain=1.0, activation="tanh")["activations"]
    assert small[0] / small[-1] < 1e-7  # about 0.5^30
    assert xavier[0] / xavier[-1] > 1e-2


def test_residual_branch_scaling_and_pre_norm_fix_what_a_plain_net_breaks():
    result = fixes(depth=30, width=128, batch=32)
    assert result["plain ReLU, gain 1 (std 1/sqrt(n))"]["spread"] > 1e3
    assert result["residual ReLU, gain 1, branch 1"]["spread"] > 1e3  # a bare skip explodes: (1 + g²/2)^(L/2)
    assert result["residual ReLU, gain 1, branch 1/sqrt(L)"]["spread"] < 3
    assert result["plain ReLU, He (gain sqrt 2)"]["spread"] < 3
    assert result["residual ReLU + pre-layer-norm, gain 1"]["spread"] < 20  # polynomial, not exponential
    # layer norm alone does not save a plain net: its backward gains ≈ 1.2 per layer (see the page)
    assert result["plain ReLU + layer norm, gain 1"]["spread"] > 30


def test_weight_gradients_of_a_relu_net_satisfy_eulers_identity():
    # h_L is positively homogeneous of degree 1 in each W_l and L = <G, h_L> is linear in h_L, so
    # <W_l, dL/dW_l> = L for every layer: the reason weight-gradient norms look flat across layers
    rng = np.random.default_rng(12)
    weights = init_mlp(12, 16, gain=1.0, seed=13)
    x, G = rng.standard_normal((8, 16)), rng.standard_normal((8, 16))
    out, cache = mlp_forward(weights, x)
    loss = float(np.sum(out * G))
    grads = mlp_backward(weights, cache, G)["weights"]
    for W, g in zip(weights, grads):
        assert float(np.sum(W * g)) == pytest.approx(loss, rel=1e-10)
