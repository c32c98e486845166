"""Task 0.4: mlp_backward: the backward pass of the plain MLP (ReLU/tanh, residual with a branch scale,
pre-layer-norm), every weight and activation gradient. Expected values: the reference's backward on the same
inputs, and in the judge a central-difference check of the reference (so both agree with the definition)."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "0.4"
TITLE = "Backward pass of a deep MLP"
POINTS = 10
TIMEOUT = 60

CONFIGS = [  # forward settings
    {"activation": "relu"},
    {"activation": "tanh"},
    {"activation": "relu", "residual": True, "branch_scale": 0.4},
    {"activation": "tanh", "norm": True},
    {"activation": "relu", "residual": True, "norm": True},
    {"activation": "tanh", "residual": True, "norm": True, "branch_scale": 0.7},
]


@probe
def grads():
    from hyperion.foundations.gradient_flow import init_mlp, mlp_backward, mlp_forward

    rng = np.random.default_rng(34)
    out = []
    for i, config in enumerate(CONFIGS):
        depth, width, batch = 3 + i % 3, 5 + i, 4
        weights = init_mlp(depth, width, gain=1.2, seed=40 + i)
        x, g = rng.standard_normal((batch, width)), rng.standard_normal((batch, width))
        y, cache = mlp_forward(weights, x, **config)
        result = mlp_backward(weights, cache, g)
        out.append({
            "x": x, "g": g, "weights": [np.asarray(w) for w in weights],
            "dW": [np.asarray(d) for d in result["weights"]],
            "dh": [np.asarray(d) for d in result["activations"]],
        })
    return out


def _forward(weights, x, activation="relu", residual=False, norm=False, branch_scale=1.0):
    h = x
    for W in weights:
        u = h
        if norm:
            c = h - h.mean(axis=1, keepdims=True)
            u = c / np.sqrt((c**2).mean(axis=1, keepdims=True) + 1e-5)
        z = u @ W.T
        a = np.maximum(z, 0) if activation == "relu" else np.tanh(z)
        h = h + branch_scale * a if residual else a
    return h


def _fd_directional(f, point, direction, eps=1e-6):
    return (f(point + eps * direction) - f(point - eps * direction)) / (2 * eps)


def check_grads(sub, ref):
    rng = np.random.default_rng(0)
    for config, got, mine in zip(CONFIGS, sub, ref, strict=True):
        for k in ("x", "g"):
            assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")
        weights, x, g = mine["weights"], mine["x"], mine["g"]
        what = f"mlp_backward({', '.join(f'{k}={v}' for k, v in config.items())}, depth {len(weights)})"
        assert_true(len(got["dW"]) == len(weights), f"{what}: {len(got['dW'])} weight gradients, "
                                                    f"expected {len(weights)}")
        assert_true(len(got["dh"]) == len(weights) + 1, f"{what}: {len(got['dh'])} activation gradients, "
                                                        f"expected {len(weights) + 1} (h_0 = x ... h_L)")

        def loss_x(z, weights=weights, config=config, g=g):
            return float(np.sum(_forward(weights, z, **config) * g))

        d = rng.standard_normal(x.shape)  # the reference itself, against a directional finite difference
        assert_close(float(np.sum(mine["dh"][0] * d)), _fd_directional(loss_x, x, d), rtol=1e-5, atol=1e-7,
                     name="reference check")
        # named as in the docstring: weights W_1 ... W_L, activations h_0 = x ... h_L
        for symbol, first, got_list, want_list in (("W", 1, got["dW"], mine["dW"]), ("h", 0, got["dh"], mine["dh"])):
            for i, (val, want) in enumerate(zip(got_list, want_list), start=first):
                assert_close(val, want, rtol=1e-8, atol=1e-10, name=f"{what}: gradient with respect to {symbol}_{i}")
