"""Task 1.15: Adam.step / AdamW: bias correction, L2 vs decoupled weight decay, AMSGrad, maximize,
state (step count and moments); updates in place; the gradient left untouched. Expected trajectories
are computed in the judge with numpy from the docstring's formulas."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.15"
TITLE = "Adam and AdamW step"
POINTS = 10
TIMEOUT = 60
STEPS = 5

CONFIGS = [
    ("Adam", {"lr": 0.1}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6}),
    ("Adam", {"lr": 0.1, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.1, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("Adam", {"lr": 0.1, "amsgrad": True}),
    ("Adam", {"lr": 0.1, "maximize": True, "weight_decay": 0.05}),
    ("AdamW", {"lr": 0.02, "betas": (0.5, 0.6), "amsgrad": True}),
]


def _adam(
    p0,
    grads,
    lr,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    maximize=False,
    decoupled=False,
):
    b1, b2 = betas
    p = p0.astype(np.float64).copy()
    m, v, vmax, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for t, grad in enumerate(grads, start=1):
        g = -grad if maximize else grad.copy()
        if weight_decay:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = m + (1 - b1) * (g - m)
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v) / np.sqrt(1 - b2**t) + eps
        p = p - lr / (1 - b1**t) * m / denom
        out.append(p.copy())
    return out, m, v


def _trajectory(name, options, seed, dtype=np.float64, shrink=False):
    import hyperion.tensor as ht
    from hyperion import optim
    from hyperion.nn import Parameter

    rng = np.random.default_rng(seed)
    p0 = rng.standard_normal((2, 3)).astype(dtype)
    p = Parameter(p0.copy())
    idle = Parameter(np.ones(3, dtype=dtype))
    alias = p.detach()
    opt = getattr(optim, name)([p, idle], **options)
    grads, params, after = [], [], []
    for t in range(STEPS):
        g = (rng.standard_normal((2, 3)) * (3.0 / (t + 1) ** 2 if shrink else 1.0)).astype(dtype)
        p.grad = ht.tensor(g.copy())
        opt.step()
        grads.append(g)
        params.append(p.detach().numpy().copy())
        after.append(p.grad.numpy().copy())
    state = opt.state.get(p, {})
    step = state.get("step")
    try:
        step_value = float(step)
    except Exception:  # noqa: BLE001
        step_value = -1.0
    return {
        "p0": p0,
        "grads": grads,
        "params": params,
        "after": after,
        "alias": alias.numpy().copy(),
        "idle": idle.detach().numpy().copy(),
        "idle_state": len(opt.state.get(idle, {})),
        "step": [type(step).__name__, step_value],
        "exp_avg": state["exp_avg"].detach().numpy().copy() if "exp_avg" in state else None,
        "exp_avg_sq": state["exp_avg_sq"].detach().numpy().copy() if "exp_avg_sq" in state else None,
    }


@probe
def trajectories():
    return [
        _trajectory(name, options, 60 + i, shrink=bool(options.get("amsgrad")))
        for i, (name, options) in enumerate(CONFIGS)
    ]


def _same_inputs(got, mine):
    assert_close(got["p0"], mine["p0"], rtol=0, atol=0, name="the probe's input")
    for a, b in zip(got["grads"], mine["grads"], strict=True):
        assert_close(a, b, rtol=0, atol=0, name="the probe's input")


def check_trajectories(sub, ref):
    for (name, options), got, mine in zip(CONFIGS, sub, ref, strict=True):
        _same_inputs(got, mine)
        what = f"{name}(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
        opts = dict(options)
        decoupled = opts.pop("decoupled_weight_decay", False) or name == "AdamW"
        if name == "AdamW":
            opts.setdefault("weight_decay", 1e-2)
        want, m, v = _adam(mine["p0"], mine["grads"], decoupled=decoupled, **opts)
        for t, (val, w) in enumerate(zip(got["params"], want, strict=True)):
            assert_close(val, w, rtol=1e-9, atol=1e-12, name=f"{what}: parameter after step {t + 1}")
        for t, (after, g) in enumerate(zip(got["after"], mine["grads"], strict=True)):
            assert_close(
                after, g, rtol=0, atol=0, name=f"{what}: param.grad after step {t + 1} (never modify it)"
            )
        assert_close(
            got["alias"],
            want[-1],
            rtol=1e-9,
            atol=1e-12,
            name=f"{what}: a view of the parameter (update it in place)",
        )
        assert_close(got["idle"], np.ones(3), rtol=0, atol=0, name=f"{what}: a parameter without a gradient")
        assert_true(got["step"][1] == STEPS, f"{what}: state['step'] is {got['step']}, expected {STEPS}")
        assert_true(
            got["exp_avg"] is not None and got["exp_avg_sq"] is not None,
            f"{what}: state['exp_avg'] / state['exp_avg_sq'] missing",
        )
        assert_close(got["exp_avg"], m, rtol=1e-9, atol=1e-12, name=f"{what}: state['exp_avg']")
        assert_close(got["exp_avg_sq"], v, rtol=1e-9, atol=1e-12, name=f"{what}: state['exp_avg_sq']")


@probe
def float32():
    return _trajectory("Adam", {"lr": 0.01, "weight_decay": 0.01}, 70, dtype=np.float32)


def check_float32(sub, ref):
    _same_inputs(sub, ref)
    want, _, _ = _adam(ref["p0"], ref["grads"], lr=0.01, weight_decay=0.01)
    for t, (val, w) in enumerate(zip(sub["params"], want, strict=True)):
        assert_true(val.dtype == np.float32, f"Adam on float32: the parameter became {val.dtype}")
        assert_close(val.astype(np.float64), w, rtol=1e-5, atol=1e-6, name=f"Adam on float32: step {t + 1}")
