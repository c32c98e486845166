"""How much of a GPT training step the per-op profiler explains, on any device (the coverage figure).

    python -m hyperion.runtime.bench_profile [--device cpu] [--batch 1] [--context 8] [--repeats 5]

The step of ``bench_gpu`` (level-2 GPT, ``gpt_bench.CONFIG``: zero_grad, forward, loss, backward),
profiled ``repeats`` times after 3 warm-ups: coverage = time inside top-level op spans / profiled
wall time (``Profile.coverage``), the biggest uncovered gaps (``Profile.gaps``) and the top ops.
``bench_gpu``'s profile part calls :func:`coverage` the same way on cuda. On the CPU a small batch and
context (and one BLAS thread: ``OPENBLAS_NUM_THREADS=1``) keep the step host-bound, as it is on the H200.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

from hyperion.runtime.profiler import Profile, profile


def coverage(step: Callable[[], object], repeats: int = 5) -> tuple[float, list[float], Profile]:
    """(median coverage, every repeat's coverage, the last repeat's profile) of ``repeats`` profiled steps."""
    if repeats < 1:
        raise ValueError(f"coverage: repeats must be at least 1, got {repeats}")
    profiles = []
    for _ in range(repeats):
        with profile() as prof:
            step()
        profiles.append(prof)
    shares = [p.coverage() for p in profiles]
    return statistics.median(shares), shares, profiles[-1]


def main(argv: list[str] | None = None) -> None:
    from hyperion.kernels.gpt_bench import CONFIG
    from hyperion.runtime.bench_gpu import WARMUP, _gpt_step

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--context", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    _, step, _ = _gpt_step(args.batch, args.context, device=args.device,
                           config={**CONFIG, "context_length": args.context})
    for _ in range(WARMUP):
        step()
    median, shares, prof = coverage(step, args.repeats)
    print(f"{args.device}, B={args.batch}, T={args.context}: coverage median {median:.1%} "
          f"(each: {', '.join(f'{s:.1%}' for s in shares)}), last step {prof.wall * 1e3:.2f} ms, "
          f"{len(prof.records)} records")
    print("biggest uncovered gaps (op before -> op after):")
    for gap in prof.gaps(8):
        print(f"  {gap['seconds'] * 1e3:8.3f} ms  x{gap['count']:<4d} {gap['before']} -> {gap['after']}")
    print(prof.table(limit=12))


if __name__ == "__main__":
    main()
