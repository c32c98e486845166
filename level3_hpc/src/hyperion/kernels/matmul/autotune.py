"""Autotuning: pick a kernel's tile sizes by measuring them on the GPU at hand.

The warp-tiled matmul (07) takes its tile sizes as ``-D`` defines (``BM, BN, BK, WM, WN, WNITER, TM,
TN, NTHREADS``). Which combination is fastest depends on the GPU (registers, shared memory, SM count)
and on the problem size, and is hard to predict: on the H200 at 4096³ the first candidate of
``WARPTILE_CONFIGS`` ran at 22.6 TFLOP/s and the best at 34.6 (``level3_hpc/REPORT.md``). So the
library measures: compile each candidate, check it, time it, keep the fastest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.kernels.matmul import TUNED, WARPTILE_CONFIGS, matmul
from hyperion.runtime.timing import time_gpu


def autotune(M: int, N: int, K: int, version: str = "07_warptile",
             configs: list[dict[str, int]] | None = None, seed: int = 0) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Task 3.7: the fastest correct tile configuration of ``version`` for an ``M x K @ K x N`` fp32 matmul.

    For each candidate of ``configs`` (default: ``WARPTILE_CONFIGS``): run ``matmul(a, b, version,
    config, out=c)`` on random CuPy inputs (``seed``) into a NaN-filled ``c``; a candidate that raises
    (it does not compile, or its thread count does not match its tiles) or whose relative error
    ``‖c - a@b‖/‖a@b‖`` against ``cupy.matmul`` exceeds 1e-4 (or is not finite) is skipped; the others
    are timed with :func:`hyperion.runtime.timing.time_gpu` (its ``median_ms``). Return the fastest
    config and a table: one dict per candidate with ``config`` and either ``ms`` or ``error``. Raise
    ``ValueError`` if ``version`` is not tunable (not in ``TUNED``) or no candidate works.
    """
    # BEGIN SOLUTION
    import cupy

    if version not in TUNED:
        raise ValueError(f"autotune: {version!r} has no tile sizes to tune; tunable: {list(TUNED)}")
    rng = np.random.default_rng(seed)
    a = cupy.asarray(rng.standard_normal((M, K), dtype=np.float32))
    b = cupy.asarray(rng.standard_normal((K, N), dtype=np.float32))
    want = cupy.matmul(a, b).astype(cupy.float64)
    scale = max(float(cupy.linalg.norm(want)), 1e-300)
    table: list[dict[str, Any]] = []
    best: tuple[float, dict[str, int]] | None = None
    for config in WARPTILE_CONFIGS if configs is None else configs:
        entry: dict[str, Any] = {"config": dict(config)}
        table.append(entry)
        c = cupy.full((M, N), np.nan, np.float32)
        try:
            matmul(a, b, version, config, out=c)
            err = float(cupy.linalg.norm(c.astype(cupy.float64) - want)) / scale
        except Exception as error:  # noqa: BLE001 - a candidate that fails is reported and skipped
            entry["error"] = f"{type(error).__name__}: {error}"
            continue
        if not np.isfinite(err) or err > 1e-4:
            entry["error"] = f"wrong result (relative error {err:.2e})"
            continue
        entry["ms"] = time_gpu(lambda config=config, c=c: matmul(a, b, version, config, out=c))["median_ms"]
        if best is None or entry["ms"] < best[0]:
            best = (entry["ms"], dict(config))
    if best is None:
        raise ValueError(f"autotune: no candidate of {version} works: {[e.get('error') for e in table]}")
    return best[1], table
    # END SOLUTION
