"""Task 1.21: RMSprop.step (PyTorch's algorithm): alpha, eps, L2 weight decay, momentum, centered, maximize,
parameters without a gradient skipped, updates in place, the gradient left untouched. Expected trajectories
are computed in the judge with numpy from the docstring's formulas (PyTorch's ``torch.optim.RMSprop``)."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.21"
TITLE = "RMSprop step"
POINTS = 6
TIMEOUT = 60
STEPS = 5

CONFIGS = [
    {"lr": 0.01},
    {"lr": 0.01, "alpha": 0.9, "eps": 1e-6},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "centered": True},
    {"lr": 0.005, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    {"lr": 0.01, "weight_decay": 0.05, "maximize": True},
]


@probe
def trajectories():
    import hyperion.tensor as ht
    from hyperion.nn import Parameter
    from hyperion.optim import RMSprop

    out = []
    for i, options in enumerate(CONFIGS):
        rng = np.random.default_rng(2100 + i)
        p0 = rng.standard_normal((3, 2))
        p = Parameter(p0.copy())
        idle = Parameter(np.ones(2))
        alias = p.detach()
        opt = RMSprop([p, idle], **options)
        grads, params, after = [], [], []
        for _ in range(STEPS):
            g = rng.standard_normal((3, 2))
            p.grad = ht.tensor(g.copy())
            opt.step()
            grads.append(g)
            params.append(p.detach().numpy().copy())
            after.append(p.grad.numpy().copy())
        out.append(
            {
                "p0": p0,
                "grads": grads,
                "params": params,
                "after": after,
                "alias": alias.numpy().copy(),
                "idle": idle.detach().numpy().copy(),
            }
        )
    return out


def _rmsprop(
    p0, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False, maximize=False
):
    p = p0.copy()
    sq, buf, ga, out = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for grad in grads:
        g = -grad if maximize else grad.copy()
        if weight_decay:
            g = g + weight_decay * p
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            ga = ga + (1 - alpha) * (g - ga)
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        out.append(p.copy())
    return out


def check_trajectories(sub, ref):
    for options, got, mine in zip(CONFIGS, sub, ref, strict=True):
        assert_close(got["p0"], mine["p0"], rtol=0, atol=0, name="the probe's input")
        what = "RMSprop(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
        want = _rmsprop(mine["p0"], mine["grads"], **options)
        for t, (val, w) in enumerate(zip(got["params"], want, strict=True)):
            assert_close(val, w, rtol=1e-9, atol=1e-12, name=f"{what}: parameter after step {t + 1}")
        for t, (a, g) in enumerate(zip(got["after"], mine["grads"], strict=True)):
            assert_close(
                a, g, rtol=0, atol=0, name=f"{what}: param.grad after step {t + 1} (never modify it)"
            )
        assert_close(
            got["alias"],
            want[-1],
            rtol=1e-9,
            atol=1e-12,
            name=f"{what}: a view of the parameter (update in place)",
        )
        assert_true(bool(np.all(got["idle"] == 1.0)), f"{what}: a parameter without a gradient moved")
