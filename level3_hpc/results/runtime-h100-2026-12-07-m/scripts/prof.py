"""Host time of the Hopper flash dispatch: timeit per call, pieces, and a cProfile of the planned calls.

As run in calls 1 and 2 (`PYTHONPATH=<the levels' src> python3 prof.py`), reformatted for the linter.
"""

import cProfile
import pstats
import sys
import time

import cupy
import numpy as np
import torch

from hyperion.kernels import attention as fh
from hyperion.kernels.attention import fwd_tma, planned

rng = cupy.random.default_rng(0)
q = rng.standard_normal((1, 2, 128, 64), dtype=np.float32).astype(cupy.float16)
out, lse = fh.flash_forward_hopper(q, q, q)
fh.flash_backward_hopper(q, q, q, out, lse, q)
t = torch.from_dlpack(rng.standard_normal((64, 1024), dtype=np.float32))


def us(fn, n=3000):
    for _ in range(200):
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


cases = {
    "fwd planned (hopper dispatch)": lambda: fh.flash_forward_hopper(q, q, q),
    "bwd planned (hopper dispatch)": lambda: fh.flash_backward_hopper(q, q, q, out, lse, q),
    "fwd general (fwd_tma.flash_forward_tma)": lambda: fwd_tma.flash_forward_tma(q, q, q),
    "bwd general (flash_backward_wgmma)": lambda: fh.flash_backward_wgmma(q, q, q, out, lse, q),
    "torch.softmax (64x1024 fp32, for scale)": lambda: torch.softmax(t, -1),  # call 2 only
    "part: _key of 3": lambda: planned._key((q, q, q), False, None, None),
    "part: _key of 6": lambda: planned._key((q, q, q, out, lse, q), False, None, None),
    "part: cupy.ndarray alloc": lambda: cupy.ndarray((1, 2, 128, 64), np.float16),
    "part: get_device_id": lambda: cupy.cuda.get_device_id(),
    "part: q.data.ptr": lambda: q.data.ptr,
    "part: get_current_stream().ptr": lambda: cupy.cuda.get_current_stream().ptr,
}
for name, fn in cases.items():
    print(f"{name:45s} {us(fn):7.2f} us", flush=True)

for name, fn in list(cases.items())[:2]:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(10000):
        fn()
    profile.disable()
    cupy.cuda.runtime.deviceSynchronize()
    print(f"--- cProfile {name}, 10000 calls")
    pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(14)
