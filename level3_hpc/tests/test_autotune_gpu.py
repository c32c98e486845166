"""Task 3.7: autotune returns a correct configuration, the fastest of those it timed, and skips a broken one."""

from __future__ import annotations

import numpy as np
from level3_gpu import skip_without_gpu

skip_without_gpu()
import cupy  # noqa: E402

from hyperion.kernels.matmul import WARPTILE_CONFIGS, matmul  # noqa: E402
from hyperion.kernels.matmul.autotune import autotune  # noqa: E402


def test_autotune_picks_the_fastest_correct_candidate():
    broken = dict(WARPTILE_CONFIGS[0], NTHREADS=64)  # the static_assert "one warp per warp tile" refuses it
    best, table = autotune(512, 384, 256, configs=[broken, *WARPTILE_CONFIGS[:3]])
    assert len(table) == 4 and "error" in table[0]
    timed = [row for row in table if "ms" in row]
    assert best == min(timed, key=lambda row: row["ms"])["config"]
    a = cupy.random.standard_normal((300, 200), dtype=np.float32)
    b = cupy.random.standard_normal((200, 100), dtype=np.float32)
    assert float(cupy.abs(matmul(a, b, "07_warptile", best) - a @ b).max()) < 1e-3
