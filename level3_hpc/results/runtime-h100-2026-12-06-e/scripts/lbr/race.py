# ruff: noqa  (an as-run device script, kept as it ran)
"""A few one-launch backward calls for compute-sanitizer (racecheck, synccheck, memcheck)."""
import cupy
import numpy as np

from hyperion.kernels import rows as rk

for rows, C, dtype in [(64, 1024, "f32"), (37, 37, "f32"), (9, 1001, "f16"), (5, 1, "bf16")]:
    rng = cupy.random.default_rng(0)
    x = rng.standard_normal((rows, C), dtype=np.float32)
    dy = rng.standard_normal((rows, C), dtype=np.float32)
    if dtype != "f32":
        x, dy = x.astype(np.float16).view(np.uint16 if dtype == "bf16" else np.float16), dy.astype(np.float16).view(
            np.uint16 if dtype == "bf16" else np.float16)
    w, b = cupy.ones(C, np.float32), cupy.zeros(C, np.float32)
    _, mean, rstd = rk.rows_layernorm(x, w, b, dtype=dtype)
    for _ in range(2):
        rk.rows_layernorm_backward(dy, x, w, mean, rstd, dtype)
    plan = [p for k, p in rk._PLANS.items() if k[:4] == ("ln_bwd", dtype, rows, C)][0]
    print(rows, C, dtype, "one launch" if plan.last_block else "two launches", plan.parts)
cupy.cuda.runtime.deviceSynchronize()
