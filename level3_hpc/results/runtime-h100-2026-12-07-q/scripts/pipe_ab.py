# ruff: noqa: B023, E501, F821 -- the script as it ran (closures over the loop's arrays, called in the same iteration)
"""11's dQ kernel with FLASH_PIPE=1 (a tile's dQ product in flight while the next tile's S, dP are issued) against
the table's (FLASH_PIPE=0), the dK/dV kernel on the table's tile in both: the whole backward call, B=4 H=16 fp16,
d 64/80/96/128, N 1024/4096/8192, causal and not; in turns, two rounds, the better of two medians. Gradients of
the two compared bit for bit (same arithmetic, same order)."""
import cupy as cp

from hyperion.kernels import attention as fh
from hyperion.kernels.attention import bwd_tma
from hyperion.tensor.cuda_build import time_gpu

rng = cp.random.default_rng(0)
for d in (64, 80, 96, 128):
    base = (bwd_tma.BWD_TMA_TILES[d], bwd_tma.DQ_TMA_TILES[d])
    piped = (base[0], {**base[1], "FLASH_PIPE": 1})
    for n in (1024, 4096, 8192):
        for causal in (False, True):
            q, k, v, do = (rng.standard_normal((4, 16, n, d), dtype=cp.float32).astype(cp.float16) for _ in range(4))
            out, lse = fh.flash_forward_hopper(q, k, v, causal=causal)
            runs = {name: (lambda t=t: bwd_tma.flash_backward_tma(q, k, v, out, lse, do, causal=causal, tile=t))
                    for name, t in (("pipe0", base), ("pipe1", piped))}
            same = all(bool(cp.all(a == b)) for a, b in zip(runs["pipe0"](), runs["pipe1"]()))
            times = {name: [] for name in runs}
            for _ in range(2):
                for name, fn in runs.items():
                    times[name].append(time_gpu(fn, warmup=2, repeat=7)["median_ms"])
            a, b = min(times["pipe0"]), min(times["pipe1"])
            print(f"d={d:3d} N={n:5d} causal={int(causal)} pipe0 {a:8.3f} pipe1 {b:8.3f} ms  pipe0/pipe1 {a / b:.3f}"
                  f"  bitwise equal: {same}", flush=True)
            del q, k, v, do, out, lse
