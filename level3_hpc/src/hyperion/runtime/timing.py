"""Time GPU work with CUDA events: warm up, repeat, report the median (METHOD.md's rules).

The timer lives in :mod:`hyperion.tensor.cuda_build` (the CUDA plumbing shared with level 2); this name is
kept for the benchmarks that import it from the runtime.
"""

from __future__ import annotations

from hyperion.tensor.cuda_build import time_gpu

__all__ = ["time_gpu"]
