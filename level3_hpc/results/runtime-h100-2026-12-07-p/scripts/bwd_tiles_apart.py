"""11's two kernels tuned apart: the whole backward call with the dK/dV kernel on each candidate tile (dQ on the
table's) and the dQ kernel on each (dK/dV on the table's). B=4 H=16 fp16, N 4096/8192, causal and not; two
rounds in turns; the better of two medians (cuda_build.time_gpu)."""
import time
from concurrent.futures import ThreadPoolExecutor

import cupy as cp

from hyperion.kernels import attention as fh
from hyperion.kernels.attention import bwd_tma
from hyperion.kernels.matmul.sm90a import build_cubin
from hyperion.tensor.cuda_build import time_gpu

CANDIDATES = [{"FLASH_BT": 64, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
              {"FLASH_BT": 64, "FLASH_WG": 1, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 2},
              {"FLASH_BT": 128, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
              {"FLASH_BT": 64, "FLASH_WG": 2, "FLASH_STAGES": 3, "FLASH_MIN_BLOCKS": 1},
              {"FLASH_BT": 64, "FLASH_WG": 3, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1}]


def name(t):
    return f"BT{t['FLASH_BT']}/WG{t['FLASH_WG']}/S{t['FLASH_STAGES']}/MB{t['FLASH_MIN_BLOCKS']}"


def fits(d, t):
    return not (t["FLASH_BT"] == 128 and d > 80) and not (t["FLASH_WG"] == 3 and d > 64)


t0 = time.time()
with ThreadPoolExecutor(16) as pool:
    list(pool.map(lambda job: build_cubin(bwd_tma.SOURCE, FLASH_D=job[0], **job[1]),
                  [(d, t) for d in (64, 80, 96, 128) for t in CANDIDATES if fits(d, t)]))
print(f"precompiled in {time.time() - t0:.0f} s", flush=True)
rng = cp.random.default_rng(0)
for d in (64, 80, 96, 128):
    base_kv, base_q = bwd_tma.BWD_TMA_TILES[d], bwd_tma.DQ_TMA_TILES[d]
    for n in (4096, 8192):
        for causal in (False, True):
            q, k, v, do = (rng.standard_normal((4, 16, n, d), dtype=cp.float32).astype(cp.float16) for _ in range(4))
            out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal)
            variants = {"table": (base_kv, base_q)}
            for t in CANDIDATES:
                if fits(d, t) and t != base_kv:
                    variants[f"dkdv {name(t)}"] = (t, base_q)
                if fits(d, t) and t != base_q:
                    variants[f"dq {name(t)}"] = (base_kv, t)
            times = {key: [] for key in variants}
            args = (q, k, v, out, lse, do)
            try:
                for _ in range(2):
                    for key, pair in variants.items():
                        def call(pair=pair, args=args, causal=causal):
                            return bwd_tma.flash_backward_tma(*args, causal=causal, tile=pair)

                        times[key].append(time_gpu(call, warmup=2, repeat=7)["median_ms"])
            except Exception as error:  # noqa: BLE001
                print(f"d={d} N={n} causal={causal}: {type(error).__name__}: {str(error)[:200]}", flush=True)
                continue
            best = {key: min(v) for key, v in times.items()}
            line = " ".join(f"{key}={best[key]:.3f}" for key in sorted(best, key=best.get)[:4])
            print(f"d={d} N={n} causal={causal} table={best['table']:.3f} | fastest: {line}", flush=True)
