"""10 at d = 64 and 128: its table's tile against the same with three stages, in turns in one process, three rounds,
best of the medians (cuda_build.time_gpu). B=4 H=16 fp16."""
import cupy as cp

from hyperion.kernels.attention import fwd_tma
from hyperion.tensor.cuda_build import time_gpu

rng = cp.random.default_rng(0)
for d in (64, 128):
    tiles = {"table": fwd_tma.TMA_TILES[d], "3 stages": {**fwd_tma.TMA_TILES[d], "FLASH_STAGES": 3}}
    for n in (1024, 4096, 8192):
        for causal in (False, True):
            q, k, v = (rng.standard_normal((4, 16, n, d), dtype=cp.float32).astype(cp.float16) for _ in range(3))
            best = {key: 9e9 for key in tiles}
            for _ in range(3):
                for key, t in tiles.items():
                    ms = time_gpu(lambda q=q, k=k, v=v, causal=causal, t=t:
                                  fwd_tma.flash_forward_tma(q, k, v, causal=causal, tile=t), warmup=2, repeat=9)
                    best[key] = min(best[key], ms["median_ms"])
            print(f"d={d} N={n} causal={causal} table={best['table']:.4f} S3={best['3 stages']:.4f} "
                  f"table/S3={best['table'] / best['3 stages']:.3f}", flush=True)
