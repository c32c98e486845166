"""Task 1.14: SGD.step (PyTorch's algorithm): momentum, dampening, Nesterov, L2 weight decay, maximize,
several groups, parameters without a gradient skipped; updates in place; the gradient left untouched.
Expected trajectories are computed in the judge with numpy from the docstring's formulas."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.14"
TITLE = "SGD step"
POINTS = 8
TIMEOUT = 60
STEPS = 4

CONFIGS = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.05, "momentum": 0.9, "dampening": 0.5},
    {"lr": 0.1, "momentum": 0.8, "nesterov": True},
    {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.05},
    {"lr": 0.2, "weight_decay": 0.1},
    {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01, "maximize": True},
    {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.02},
]


def _trajectory(optim_cls, options, seed, dtype=np.float64, steps=STEPS, state_keys=()):
    """Run ``steps`` steps on two parameters (one with no gradient) and record everything."""
    import hyperion.tensor as ht
    from hyperion.nn import Parameter

    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal((3, 2)).astype(dtype)
    p = Parameter(p0.copy())
    idle = Parameter(np.ones(2, dtype=dtype))  # never gets a gradient: must not move
    alias = p.detach()  # shares p's storage: sees in-place updates
    opt = optim_cls([p, idle], **options)
    grads, params, grads_after = [], [], []
    for _ in range(steps):
        g = rng.standard_normal((3, 2)).astype(dtype)
        p.grad = ht.tensor(g.copy())
        opt.step()
        grads.append(g)
        params.append(p.detach().numpy().copy())
        grads_after.append(p.grad.numpy().copy())
    state = opt.state.get(p, {})
    return {
        "p0": p0,
        "grads": grads,
        "params": params,
        "grads_after": grads_after,
        "alias": alias.numpy().copy(),
        "idle": idle.detach().numpy().copy(),
        "idle_state": len(opt.state.get(idle, {})),
        "state": {
            k: (state[k].detach().numpy().copy() if hasattr(state[k], "numpy") else state[k])
            for k in state_keys
            if k in state
        },
    }


def _sgd(p0, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    p, buf, out = p0.astype(np.float64).copy(), None, []
    for grad in grads:
        g = -grad if maximize else grad.copy()
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p.copy())
    return out, buf


@probe
def trajectories():
    from hyperion.optim import SGD

    return [
        _trajectory(SGD, options, 40 + i, state_keys=("momentum_buffer",))
        for i, options in enumerate(CONFIGS)
    ]


def check_trajectories(sub, ref):
    for options, got, mine in zip(CONFIGS, sub, ref, strict=True):
        assert_close(got["p0"], mine["p0"], rtol=0, atol=0, name="the probe's input")
        for a, b in zip(got["grads"], mine["grads"], strict=True):
            assert_close(a, b, rtol=0, atol=0, name="the probe's input")
        what = "SGD(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
        want, buf = _sgd(mine["p0"], mine["grads"], **options)
        for t, (val, w) in enumerate(zip(got["params"], want, strict=True)):
            assert_close(val, w, rtol=1e-10, atol=1e-12, name=f"{what}: parameter after step {t + 1}")
        for t, (after, g) in enumerate(zip(got["grads_after"], mine["grads"], strict=True)):
            assert_close(
                after, g, rtol=0, atol=0, name=f"{what}: param.grad after step {t + 1} (never modify it)"
            )
        assert_close(
            got["alias"],
            want[-1],
            rtol=1e-10,
            atol=1e-12,
            name=f"{what}: a view of the parameter (update it in place)",
        )
        assert_close(got["idle"], np.ones(2), rtol=0, atol=0, name=f"{what}: a parameter without a gradient")
        assert_true(got["idle_state"] == 0, f"{what}: a parameter without a gradient got optimizer state")
        if options.get("momentum"):
            assert_true("momentum_buffer" in got["state"], f"{what}: no state['momentum_buffer']")
            assert_close(
                got["state"]["momentum_buffer"],
                buf,
                rtol=1e-10,
                atol=1e-12,
                name=f"{what}: state['momentum_buffer']",
            )


@probe
def groups_and_float32():
    import hyperion.tensor as ht
    from hyperion.nn import Parameter
    from hyperion.optim import SGD

    rng = np.random.default_rng(50)
    a0, b0 = rng.standard_normal(4).astype(np.float32), rng.standard_normal((2, 2)).astype(np.float32)
    a, b = Parameter(a0.copy()), Parameter(b0.copy())
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    grads, out = [], []
    for _ in range(3):
        ga, gb = rng.standard_normal(4).astype(np.float32), rng.standard_normal((2, 2)).astype(np.float32)
        a.grad, b.grad = ht.tensor(ga), ht.tensor(gb)
        opt.step()
        grads.append([ga, gb])
        out.append([a.detach().numpy().copy(), b.detach().numpy().copy()])
    return {"a0": a0, "b0": b0, "grads": grads, "out": out}


def check_groups_and_float32(sub, ref):
    for k in ("a0", "b0"):
        assert_close(sub[k], ref[k], rtol=0, atol=0, name="the probe's input")
    for x, y in zip(sub["grads"], ref["grads"], strict=True):
        assert_close(x[0], y[0], rtol=0, atol=0, name="the probe's input")
        assert_close(x[1], y[1], rtol=0, atol=0, name="the probe's input")
    want_a, _ = _sgd(ref["a0"], [g[0] for g in ref["grads"]], lr=0.1)
    want_b, _ = _sgd(ref["b0"], [g[1] for g in ref["grads"]], lr=0.5, momentum=0.9)
    for t, (got, wa, wb) in enumerate(zip(sub["out"], want_a, want_b, strict=True)):
        for name, val, w in (
            ("group 0 (lr 0.1)", got[0], wa),
            ("group 1 (lr 0.5, momentum 0.9)", got[1], wb),
        ):
            assert_true(val.dtype == np.float32, f"SGD {name}: a float32 parameter became {val.dtype}")
            assert_close(val.astype(np.float64), w, rtol=1e-5, atol=1e-6, name=f"SGD {name}: step {t + 1}")
