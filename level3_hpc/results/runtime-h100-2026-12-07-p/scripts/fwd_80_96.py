"""08 against 10 (waits ahead of the fence) at d = 80 and 96, where fwd_tma.TMA_FROM_N still takes 08 (d = 80) or
takes 10 from N = 4096 (d = 96): forward GPU time in one process, variants in turns, three rounds, best of the
medians (cuda_build.time_gpu); 10 at its table's tile and two others. B=4 H=16 fp16."""
import time
from concurrent.futures import ThreadPoolExecutor

import cupy as cp

from hyperion.kernels import attention as fh
from hyperion.kernels.attention import fwd_tma
from hyperion.kernels.matmul.sm90a import build_cubin
from hyperion.tensor.cuda_build import time_gpu

TILES = [{"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
         {"FLASH_BC": 64, "FLASH_WG": 2, "FLASH_STAGES": 3, "FLASH_MIN_BLOCKS": 1},
         {"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_STAGES": 3, "FLASH_MIN_BLOCKS": 1}]
t0 = time.time()
with ThreadPoolExecutor(16) as pool:
    list(pool.map(lambda job: build_cubin(job[0], FLASH_D=job[1], **job[2]),
                  [(fwd_tma.SOURCE, d, t) for d in (80, 96) for t in TILES]
                  + [(fh.SOURCE, d, fh.forward_tile(d, n, False)) for d in (80, 96) for n in (1024,)]))
print(f"precompiled in {time.time() - t0:.0f} s", flush=True)
rng = cp.random.default_rng(0)
for d in (80, 96):
    for n in (1024, 2048, 4096, 8192):
        for causal in (False, True):
            q, k, v = (rng.standard_normal((4, 16, n, d), dtype=cp.float32).astype(cp.float16) for _ in range(3))
            variants = {"08": lambda q=q, k=k, v=v, causal=causal: fh.flash_forward_wgmma(q, k, v, causal=causal)}
            for i, t in enumerate(TILES):
                variants[f"10/{i}"] = (lambda q=q, k=k, v=v, causal=causal, t=t:
                                       fwd_tma.flash_forward_tma(q, k, v, causal=causal, tile=t))
            best = {key: 9e9 for key in variants}
            for _ in range(3):
                for key, fn in variants.items():
                    best[key] = min(best[key], time_gpu(fn, warmup=2, repeat=9)["median_ms"])
            b10 = min(best[key] for key in best if key != "08")
            cells = " ".join(f"{key}={ms:.4f}" for key, ms in best.items())
            print(f"d={d} N={n} causal={causal} {cells} 08/best10={best['08'] / b10:.3f}", flush=True)
