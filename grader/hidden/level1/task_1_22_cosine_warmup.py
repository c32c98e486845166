"""Task 1.22: CosineWarmupLR.get_lr, linear warm-up then cosine decay to ``min_lr`` (and ``min_lr`` after
``total_steps``), for two parameter groups with different base rates, including no warm-up at all.
Only the scheduler runs (the optimizer is never stepped); the judge computes the schedule with ``math``."""

import math

from hyperion_grader.hidden import assert_true, probe

TASK = "1.22"
TITLE = "Cosine schedule with warm-up"
POINTS = 4
TIMEOUT = 60
CONFIGS = [(5, 20, 0.0, 30), (0, 10, 0.001, 14), (3, 3, 0.01, 6), (10, 100, 0.0, 110)]
BASES = (0.1, 0.03)


@probe(reference=False)
def schedules():
    from hyperion.nn import Parameter
    from hyperion.optim import SGD
    from hyperion.optim.lr_scheduler import CosineWarmupLR

    out = []
    for warmup, total, min_lr, steps in CONFIGS:
        opt = SGD(
            [{"params": [Parameter([1.0])], "lr": BASES[0]}, {"params": [Parameter([2.0])], "lr": BASES[1]}],
            lr=BASES[0],
        )
        sched = CosineWarmupLR(opt, warmup_steps=warmup, total_steps=total, min_lr=min_lr)
        lrs = [list(sched.get_last_lr())]
        for _ in range(steps):
            sched.step()
            lrs.append([float(g["lr"]) for g in opt.param_groups])
        out.append([[float(v) for v in row] for row in lrs])
    return out


def _lr(base, step, warmup, total, min_lr):
    if step < warmup:
        return base * step / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_lr + (base - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


def check_schedules(sub, ref):
    for (warmup, total, min_lr, steps), rows in zip(CONFIGS, sub, strict=True):
        assert_true(len(rows) == steps + 1, f"expected {steps + 1} rates, got {len(rows)}")
        for step, row in enumerate(rows):
            for base, got in zip(BASES, row, strict=True):
                want = _lr(base, step, warmup, total, min_lr)
                assert_true(
                    abs(got - want) <= 1e-12 + 1e-9 * abs(want),
                    f"CosineWarmupLR(warmup_steps={warmup}, total_steps={total}, min_lr={min_lr}), base lr "
                    f"{base}: step {step} gave {got!r}, expected {want!r}",
                )
