"""Timing inside a probe: ours against a baseline, interleaved, in one child, as plain data.

The clock is bound when this module is first imported (before any submission code runs), and the judge
cross-checks the reported total against the child's wall time measured from outside.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_clock = time.perf_counter


def compare_speed(
    fast: Callable[[], object],
    slow: Callable[[], object],
    *,
    repeat: int = 5,
    number: int = 1,
    warmup: int = 1,
) -> dict:
    """Time ``fast`` and ``slow`` alternately ``repeat`` times (``number`` calls each); best of each.

    Returns ``{"kind": "speed", "fast_s", "slow_s", "ratio": slow_s / fast_s, "total_s", "fast_all",
    "slow_all"}``; check it in the judge with :func:`hyperion_grader.checks.assert_speedup`.
    """
    for _ in range(warmup):
        fast()
        slow()
    fast_all: list[float] = []
    slow_all: list[float] = []
    for _ in range(repeat):
        for fn, out in ((fast, fast_all), (slow, slow_all)):
            t0 = _clock()
            for _ in range(number):
                fn()
            out.append((_clock() - t0) / number)
    fast_s, slow_s = min(fast_all), min(slow_all)
    return {
        "kind": "speed",
        "fast_s": fast_s,
        "slow_s": slow_s,
        "ratio": slow_s / max(fast_s, 1e-12),
        "total_s": (sum(fast_all) + sum(slow_all)) * number,
        "fast_all": fast_all,
        "slow_all": slow_all,
    }
