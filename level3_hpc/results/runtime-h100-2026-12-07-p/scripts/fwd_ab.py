"""10 before and after its waits moved ahead of the wgmma fence (C7519/C7520 gone): forward GPU time, B=4 H=16
fp16, d 64/80/96/128 at 10's table tiles, N 1024/4096/8192, causal and not; best of three medians
(cuda_build.time_gpu). One tree a process: the old one with OLD=1 and its src first on PYTHONPATH; gpu104.sh runs
new, old, new, old and keeps each cell's best."""
import os

import cupy as cp

from hyperion.kernels.attention import fwd_tma
from hyperion.tensor.cuda_build import time_gpu

rng = cp.random.default_rng(0)
label = "old" if os.environ.get("OLD") == "1" else "new"
for d in (64, 80, 96, 128):
    for n in (1024, 4096, 8192):
        for causal in (False, True):
            q, k, v = (rng.standard_normal((4, 16, n, d), dtype=cp.float32).astype(cp.float16) for _ in range(3))
            ms = min(time_gpu(lambda q=q, k=k, v=v, causal=causal: fwd_tma.flash_forward_tma(q, k, v, causal=causal),
                              warmup=2, repeat=9)["median_ms"] for _ in range(3))
            flops = 4 * 4 * 16 * n * n * d / (2 if causal else 1)
            print(f"{label} d={d} N={n} causal={causal} ms={ms:.4f} TFLOP/s={flops / ms / 1e9:.0f}", flush=True)
