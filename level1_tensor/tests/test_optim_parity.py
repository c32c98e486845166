"""Every optimizer, for every option combination, follows PyTorch's parameter trajectory.

Both frameworks start from the same parameters and, at each step, get the gradient of the same
fixed function of (step, their own current parameters), computed in float64 numpy. A parameter
whose gradient is ``None`` on some steps checks that it is skipped as PyTorch skips it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hyperion import optim  # noqa: E402
from hyperion.nn import Parameter  # noqa: E402
from hyperion.tensor import tensor  # noqa: E402

STEPS = 100
SHAPES = [(3, 4), (5,), (2, 2, 3)]


class Problem:
    """grad_i = scale_i · (p_i - target_i) + 0.1 · sin(3 p_i) + 0.2 · noise[step, i]."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.inits = [rng.standard_normal(s) for s in SHAPES]
        self.scales = [rng.uniform(0.2, 2.0, s) for s in SHAPES]
        self.targets = [rng.standard_normal(s) for s in SHAPES]
        self.noise = [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]

    def grad(self, step: int, i: int, p: np.ndarray) -> np.ndarray | None:
        if i == len(SHAPES) - 1 and step % 3 == 2:
            return None
        p = p.astype(np.float64)
        return self.scales[i] * (p - self.targets[i]) + 0.1 * np.sin(3 * p) + 0.2 * self.noise[step][i]


def hyperion_params(problem: Problem, dtype: np.dtype) -> list[Parameter]:
    return [Parameter(tensor(x, dtype=dtype)) for x in problem.inits]


def torch_params(problem: Problem, dtype: np.dtype) -> list:
    return [torch.tensor(x.astype(dtype), requires_grad=True) for x in problem.inits]


def run_hyperion(problem, make_opt, dtype, steps=STEPS, params=None, opt=None, start=0, scheduler=None):
    params = hyperion_params(problem, dtype) if params is None else params
    opt = make_opt(params) if opt is None else opt
    sched = scheduler(opt) if callable(scheduler) else scheduler
    trajectory, lrs = [], []
    for step in range(start, start + steps):
        for i, p in enumerate(params):
            g = problem.grad(step, i, p.detach().numpy())
            p.grad = None if g is None else tensor(g, dtype=dtype)
        opt.step()
        if sched is not None:
            sched.step()
            lrs.append(sched.get_last_lr())
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory, lrs, params, opt


def run_torch(problem, make_opt, dtype, steps=STEPS, scheduler=None):
    params = torch_params(problem, dtype)
    opt = make_opt(params)
    sched = scheduler(opt) if scheduler is not None else None
    trajectory, lrs = [], []
    for step in range(steps):
        for i, p in enumerate(params):
            g = problem.grad(step, i, p.detach().numpy())
            p.grad = None if g is None else torch.tensor(g.astype(dtype))
        opt.step()
        if sched is not None:
            sched.step()
            lrs.append(sched.get_last_lr())
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory, lrs


def assert_same_trajectory(ours, theirs, dtype) -> None:
    rtol, atol = (1e-6, 1e-9) if dtype == np.float64 else (2e-5, 2e-6)
    assert len(ours) == len(theirs)
    for step, (a_params, b_params) in enumerate(zip(ours, theirs)):
        for i, (a, b) in enumerate(zip(a_params, b_params)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {step}, parameter {i}")


def compare(hyperion_cls, torch_cls, options, dtype=np.float64) -> None:
    problem = Problem()
    ours, *_ = run_hyperion(problem, lambda ps: hyperion_cls(ps, **options), dtype)
    theirs, _ = run_torch(problem, lambda ps: torch_cls(ps, **options), dtype)
    assert_same_trajectory(ours, theirs, dtype)


def _valid_sgd(o: dict) -> bool:
    return not o["nesterov"] or (o["momentum"] > 0 and o["dampening"] == 0)


SGD_OPTIONS = [
    o
    for o in (
        dict(zip(("momentum", "dampening", "nesterov", "weight_decay", "maximize"), v))
        for v in itertools.product([0.0, 0.9], [0.0, 0.3], [False, True], [0.0, 0.05], [False, True])
    )
    if _valid_sgd(o)
]

ADAM_OPTIONS = [
    dict(zip(("betas", "eps", "weight_decay", "amsgrad", "maximize"), v))
    for v in itertools.product(
        [(0.9, 0.999), (0.8, 0.99)], [1e-8, 1e-3], [0.0, 0.1], [False, True], [False, True]
    )
]

RMSPROP_OPTIONS = [
    dict(zip(("alpha", "eps", "weight_decay", "momentum", "centered", "maximize"), v))
    for v in itertools.product([0.99, 0.9], [1e-8], [0.0, 0.1], [0.0, 0.9], [False, True], [False, True])
]


@pytest.mark.parametrize("options", SGD_OPTIONS, ids=str)
def test_sgd_matches_torch(options):
    compare(optim.SGD, torch.optim.SGD, dict(lr=0.05, **options))


@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=str)
def test_adam_matches_torch(options):
    compare(optim.Adam, torch.optim.Adam, dict(lr=0.01, **options))


@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=str)
def test_adamw_matches_torch(options):
    compare(optim.AdamW, torch.optim.AdamW, dict(lr=0.01, **options))


@pytest.mark.parametrize("options", RMSPROP_OPTIONS, ids=str)
def test_rmsprop_matches_torch(options):
    compare(optim.RMSprop, torch.optim.RMSprop, dict(lr=0.005, **options))


def test_adamw_default_weight_decay_matches_torch():
    compare(optim.AdamW, torch.optim.AdamW, dict(lr=0.01))


@pytest.mark.parametrize(
    ("hyperion_cls", "torch_cls", "options"),
    [
        (optim.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        (optim.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
        (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
        (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.005, momentum=0.9, centered=True, weight_decay=0.1)),
    ],
    ids=["sgd", "adam", "adamw", "rmsprop"],
)
def test_float32_matches_torch(hyperion_cls, torch_cls, options):
    compare(hyperion_cls, torch_cls, options, dtype=np.float32)


def test_param_groups_with_their_own_options():
    problem = Problem(1)

    def groups(ps):
        return [{"params": ps[:2], "lr": 0.01}, {"params": ps[2:], "momentum": 0.5, "weight_decay": 0.1}]

    ours, *_ = run_hyperion(problem, lambda ps: optim.SGD(groups(ps), lr=0.05, momentum=0.9), np.float64)
    theirs, _ = run_torch(problem, lambda ps: torch.optim.SGD(groups(ps), lr=0.05, momentum=0.9), np.float64)
    assert_same_trajectory(ours, theirs, np.float64)


def test_bad_options_are_refused():
    p = [Parameter(tensor([1.0]))]
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="learning rate"):
        optim.Adam(p, lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([{"params": p}, {"params": p}], lr=0.1)
