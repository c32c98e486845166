"""Where a planned flash forward's host time goes: the whole call (cupyx benchmark: CPU and GPU time apart), then
its parts in a loop each: the key, the look-up, two allocations, one allocation, the launch with prepared pointers."""
import time

import cupy
import numpy as np
from cupyx.profiler import benchmark

from hyperion.kernels import attention as fh
from hyperion.kernels.attention import planned

q = cupy.random.default_rng(0).standard_normal((1, 2, 128, 64), dtype=np.float32).astype(cupy.float16)
fh.flash_forward_hopper(q, q, q)
key = planned._key((q, q, q), False, None, None)
plan = planned._FORWARD[key]
out, lse = plan(q, q, q, None)
p = (q.data.ptr, out.data.ptr, lse.data.ptr)
mem = cupy.cuda.alloc(40960)


def us(fn, n=4000):
    for _ in range(300):
        fn()
    cupy.cuda.runtime.deviceSynchronize()
    best = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best.append((time.perf_counter() - start) / n * 1e6)
        cupy.cuda.runtime.deviceSynchronize()
    return min(best)


r = benchmark(fh.flash_forward_hopper, (q, q, q), n_repeat=3000, n_warmup=300)
print(f"cupyx benchmark: cpu {r.cpu_times.mean() * 1e6:.2f} us, gpu {r.gpu_times.mean() * 1e6:.2f} us (mean)")
cases = {
    "whole call": lambda: fh.flash_forward_hopper(q, q, q),
    "planned.forward": lambda: planned.forward(q, q, q, False, None, None),
    "plan(q, k, v)": lambda: plan(q, q, q, None),
    "_key": lambda: planned._key((q, q, q), False, None, None),
    "dict get": lambda: planned._FORWARD.get(key),
    "get_device_id": cupy.cuda.get_device_id,
    "two ndarrays": lambda: (cupy.ndarray(plan.out_shape, np.float16), cupy.ndarray(plan.lse_shape, np.float32)),
    "one ndarray": lambda: cupy.ndarray(plan.out_shape, np.float16),
    "maps+launch": lambda: plan.launch(plan.maps(p[0], p[0], p[0], *plan.geometry), plan.no_pad, p[1], p[2]),
    "maps alone": lambda: plan.maps(p[0], p[0], p[0], *plan.geometry),
    "cupy.cuda.alloc": lambda: cupy.cuda.alloc(32768),
    "ndarray on memptr": lambda: cupy.ndarray(plan.out_shape, np.float16, memptr=mem),
    "contiguity+ptr": lambda: (q._c_contiguous and q._c_contiguous and q._c_contiguous, q.data.ptr | q.data.ptr),
}
for rnd in range(2):
    for name, fn in cases.items():
        print(f"round {rnd} {name:16s} {us(fn):7.2f} us", flush=True)
print("kernel", plan.kernel, "tma", plan.tma)
