"""Time GPU work with CUDA events: warm up, repeat, report the median (METHOD.md's rules).

Each sample times ``inner`` back-to-back calls between two events and divides: a single short kernel
timed alone would also count the host's launch overhead (the GPU sits idle between the start event and
the launch), which for a 0.1 ms kernel launched from Python is not small. ``inner`` is chosen so that
one sample covers at least ``sample_ms`` of GPU time.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable


def time_gpu(fn: Callable[[], object], warmup: int = 3, repeat: int = 20, sample_ms: float = 2.0) -> dict:
    """Median/min milliseconds per call of ``fn()``, from ``repeat`` event-timed samples."""
    import cupy

    for _ in range(warmup):
        fn()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    once = cupy.cuda.get_elapsed_time(start, stop)
    inner = max(1, min(200, int(sample_ms / max(once, 1e-3))))
    times: list[float] = []
    for _ in range(repeat):
        start.record()
        for _ in range(inner):
            fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / inner)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": repeat, "inner": inner}
