"""Schedulers set the same learning rates as PyTorch's, and so give the same parameter trajectory."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_optim_parity import Problem, assert_same_trajectory, run_hyperion, run_torch  # noqa: E402

from hyperion import optim  # noqa: E402
from hyperion.nn import Parameter  # noqa: E402
from hyperion.optim import lr_scheduler  # noqa: E402
from hyperion.tensor import tensor  # noqa: E402


def warmup_cosine(warmup: int, total: int, min_factor: float):
    """The same schedule written independently, as a factor for torch's LambdaLR."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


CASES = (
    [("step", dict(step_size=s, gamma=g)) for s, g in itertools.product([1, 7, 30], [0.1, 0.5])]
    + [("cosine", dict(T_max=t, eta_min=e)) for t, e in itertools.product([10, 37, 100], [0.0, 1e-3])]
    + [("lambda", dict(lr_lambda=fn)) for fn in (lambda e: 0.95**e, lambda e: 1 / (1 + e))]
    + [
        ("warmup", dict(warmup_steps=w, total_steps=t, min_lr=m))
        for w, t, m in itertools.product([0, 10], [60, 100], [0.0, 0.01])
    ]
)


def make(kind: str, module, opt, options: dict):
    if kind == "step":
        return module.StepLR(opt, **options)
    if kind == "cosine":
        return module.CosineAnnealingLR(opt, **options)
    if kind == "lambda":
        return module.LambdaLR(opt, **options)
    if module is lr_scheduler:
        return lr_scheduler.CosineWarmupLR(opt, **options)
    base = opt.param_groups[0]["lr"]
    factor = warmup_cosine(options["warmup_steps"], options["total_steps"], options["min_lr"] / base)
    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


@pytest.mark.parametrize(("kind", "options"), CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_scheduler_matches_torch(kind, options):
    problem = Problem(2)
    ours, our_lrs, *_ = run_hyperion(
        problem,
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
        np.float64,
        scheduler=lambda o: make(kind, lr_scheduler, o, options),
    )
    theirs, their_lrs = run_torch(
        problem,
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
        np.float64,
        scheduler=lambda o: make(kind, torch.optim.lr_scheduler, o, options),
    )
    np.testing.assert_allclose(np.array(our_lrs), np.array(their_lrs), rtol=1e-6, atol=1e-12)
    assert_same_trajectory(ours, theirs, np.float64)


def test_initial_lr_and_resume_from_state_dict():
    opt = optim.Adam([Parameter(tensor([1.0]))], lr=0.1)
    sched = lr_scheduler.CosineWarmupLR(opt, warmup_steps=5, total_steps=20, min_lr=0.01)
    assert sched.get_last_lr() == [0.0] and opt.param_groups[0]["initial_lr"] == 0.1
    for _ in range(7):
        sched.step()
    saved = sched.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 7

    opt2 = optim.Adam([Parameter(tensor([1.0]))], lr=0.1)
    sched2 = lr_scheduler.CosineWarmupLR(opt2, warmup_steps=5, total_steps=20, min_lr=0.01)
    sched2.load_state_dict(saved)
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr()
    for _ in range(30):
        sched.step()
    assert sched.get_last_lr() == pytest.approx([0.01])


def test_lambda_per_group_count_is_checked():
    opt = optim.SGD([{"params": [Parameter(tensor([1.0]))]}, {"params": [Parameter(tensor([2.0]))]}], lr=0.1)
    with pytest.raises(ValueError, match="one per parameter group"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    sched = lr_scheduler.LambdaLR(opt, [lambda e: 1.0, lambda e: 0.5**e])
    sched.step()
    assert sched.get_last_lr() == [0.1, 0.05]
