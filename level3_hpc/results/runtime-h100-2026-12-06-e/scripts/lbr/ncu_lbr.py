# ruff: noqa  (an as-run device script, kept as it ran)
import sys
import cupy
import numpy as np
from hyperion.kernels import rows as rk
for spec in sys.argv[1:]:
    rows, C, dtype = spec.split("x")
    rows, C = int(rows), int(C)
    for floats in (0, 1 << 30):
        rk.LAST_BLOCK_FLOATS = floats
        rk.clear_plans()
        rng = cupy.random.default_rng(0)
        x = rng.standard_normal((rows, C), dtype=np.float32)
        dy = rng.standard_normal((rows, C), dtype=np.float32)
        if dtype == "f16":
            x, dy = x.astype(np.float16), dy.astype(np.float16)
        w, b = rng.standard_normal(C, dtype=np.float32), cupy.zeros(C, np.float32)
        _, mean, rstd = rk.rows_layernorm(x, w, b, dtype=dtype)
        cupy.cuda.runtime.deviceSynchronize()
        cupy.cuda.nvtx.RangePush(f"{spec}-{'one' if floats else 'two'}")
        for _ in range(3):
            rk.rows_layernorm_backward(dy, x, w, mean, rstd, dtype)
        cupy.cuda.runtime.deviceSynchronize()
        cupy.cuda.nvtx.RangePop()
