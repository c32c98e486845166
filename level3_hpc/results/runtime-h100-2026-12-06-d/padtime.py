"""GPU ms of each piece of the padded tensor-core product at 1001x999 @ 999x1003 (CUDA events, 50 calls)."""

import cupy
import numpy as np

from hyperion.kernels import matmul as mm


def gpu_ms(fn, n=50):
    for _ in range(3):
        fn()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    for _ in range(n):
        fn()
    stop.record()
    stop.synchronize()
    return cupy.cuda.get_elapsed_time(start, stop) / n


m, k, n = 1001, 999, 1003
rng = cupy.random.default_rng(0)
a = mm.to_bf16_bits(rng.standard_normal((m, k), dtype=np.float32))
b = mm.to_bf16_bits(rng.standard_normal((k, n), dtype=np.float32))
c = mm.matmul_tc_auto(a, b)
kp, np8, pad, product, crop = mm._PAD_PLANS[(m, n, k, "bf16")]
padded = cupy.ndarray((m * kp + kp * np8,), a.dtype)
pa, pb = padded.data.ptr, padded.data.ptr + m * kp * 2
wide = cupy.ndarray((m, np8), np.float32)
a1000 = mm.to_bf16_bits(rng.standard_normal((1000, 1000), dtype=np.float32))
rows = {
    "whole padded call": lambda: mm.matmul_tc_auto(a, b),
    "whole padded call, out given": lambda: mm.matmul_tc_auto(a, b, out=c),
    "pad both": lambda: pad(a.data.ptr, pa, b.data.ptr, pb, m, k, m, kp, k, n, kp, np8),
    "product 1001x1000x1008": lambda: product(pa, pb, wide.data.ptr),
    "crop": lambda: crop(wide.data.ptr, c.data.ptr),
    "1000^3 product": lambda: mm.matmul_tc_auto(a1000, a1000),
    "unaligned kernel (12_wgmma cfg 5)": lambda: mm.matmul_tc(a, b, "bf16", mm.TC12_CONFIGS[5], version="12_wgmma"),
    "unaligned kernel (12_wgmma cfg 6)": lambda: mm.matmul_tc(a, b, "bf16", mm.TC12_CONFIGS[6], version="12_wgmma"),
}
for name, fn in rows.items():
    print(f"{name:36s} {gpu_ms(fn):.4f} ms")
print("choose_tc padded:", mm.choose_tc(m, np8, kp), "plans:", list(mm._TC_PLANS))
import time  # noqa: E402

for name in ("whole padded call", "1000^3 product", "pad both"):
    fn = rows[name]
    cupy.cuda.runtime.deviceSynchronize()
    t0 = time.perf_counter()
    for _ in range(200):
        fn()
    host = (time.perf_counter() - t0) * 1e6 / 200
    cupy.cuda.runtime.deviceSynchronize()
    print(f"host µs {name:30s} {host:.1f}")
