"""11 (TMA backward) against 09 (cp.async backward): GPU time of the whole backward call (delta + dK/dV + dQ),
B=4 H=16 fp16, d 64/80/96/128, N 1024/4096/8192, causal and not; every candidate tile of 11 (one tile for both
its kernels). Variants in turns, two rounds; the better of two medians of CUDA-event samples
(cuda_build.time_gpu). ONLY09=1: the tree before 11 (no bwd_tma), 09 alone."""
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import cupy as cp

from hyperion.kernels import attention as fh
from hyperion.kernels.matmul.sm90a import build_cubin
from hyperion.tensor.cuda_build import time_gpu

ONLY09 = os.environ.get("ONLY09") == "1"
if not ONLY09:
    from hyperion.kernels.attention import bwd_tma

CANDIDATES = [{"FLASH_BT": 64, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
              {"FLASH_BT": 64, "FLASH_WG": 1, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 2},
              {"FLASH_BT": 128, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
              {"FLASH_BT": 64, "FLASH_WG": 2, "FLASH_STAGES": 3, "FLASH_MIN_BLOCKS": 1}]
DIMS = [int(x) for x in os.environ.get("DIMS", "64,80,96,128").split(",")]
NS = [int(x) for x in os.environ.get("NS", "1024,4096,8192").split(",")]


def tiles_for(d):
    return [t for t in CANDIDATES if not (t["FLASH_BT"] == 128 and d > 80)]


def precompile():
    jobs = [] if ONLY09 else [(bwd_tma.SOURCE, {"FLASH_D": d, **t}) for d in DIMS for t in tiles_for(d)]
    for d in DIMS:
        jobs += [(fh.BWD_SOURCE, {"FLASH_D": d, **t}) for t in {str(x): x for x in (fh.BWD_TILES[d],
                                                                                    fh.DQ_TILES[d])}.values()]
    jobs += [(fh.SOURCE, {"FLASH_D": d, **fh.WGMMA_TILES[d]}) for d in DIMS]
    t0 = time.time()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda j: build_cubin(j[0], **j[1]), jobs))
    print(f"precompiled {len(jobs)} modules in {time.time() - t0:.0f} s", flush=True)


def cell(d, n, causal, rng):
    q, k, v, do = (rng.standard_normal((4, 16, n, d), dtype=cp.float32).astype(cp.float16) for _ in range(4))
    out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal)
    variants = {"09": lambda: fh.flash_backward_wgmma(q, k, v, out, lse, do, causal=causal)}
    for i, t in enumerate(CANDIDATES):
        if t in tiles_for(d) and not ONLY09:
            variants[i] = lambda t=t: bwd_tma.flash_backward_tma(q, k, v, out, lse, do, causal=causal, tile=t)
    want = variants["09"]()
    got = want if ONLY09 else variants[0]()
    err = max(float(cp.abs(a.astype(cp.float32) - b.astype(cp.float32)).max()) for a, b in zip(got, want))
    times = {key: [] for key in variants}
    for _ in range(2):
        for key, fn in variants.items():
            times[key].append(time_gpu(fn, warmup=2, repeat=7)["median_ms"])
    best = {key: min(v) for key, v in times.items()}
    b11 = min((best[i] for i in variants if i != "09"), default=best["09"])
    cells = " | ".join(f"{best[i]:.3f}" if i in best else "-" for i in range(len(CANDIDATES)))
    return f"| {d} | {n} | {causal} | {best['09']:.3f} | {cells} | {best['09'] / b11:.3f} | max|11-09| {err:.2e}"


def main():
    precompile()
    if "--compile-only" in sys.argv:
        return
    rng = cp.random.default_rng(0)
    names = [f"11 BT{t['FLASH_BT']} WG{t['FLASH_WG']} S{t['FLASH_STAGES']} MB{t['FLASH_MIN_BLOCKS']}"
             for t in CANDIDATES]
    print("| d | N | causal | 09 ms | " + " | ".join(names) + " | best 09/11 |")
    print("|---" * (5 + len(CANDIDATES)) + "|---|")
    for d in DIMS:
        for n in NS:
            for causal in (False, True):
                print(cell(d, n, causal, rng), flush=True)


main()
