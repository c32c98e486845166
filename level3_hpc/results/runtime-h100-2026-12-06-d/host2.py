# ruff: noqa: B023  (as run on the GPU: each lambda is timed inside its own loop iteration)
"""Host µs: where CublasGemm's call goes (the cuBLAS call alone, an allocation, a trivial ctypes call), and the
optimizer update through level 1's CuPy kernel against level 3's planned launch."""

import ctypes
import time

import cupy
import numpy as np

from hyperion.runtime.backend import KernelBackend
from hyperion.runtime.capturable_gemm import CublasGemm
from hyperion.tensor.backend import CupyBackend


def host_us(fn, calls=2000):
    for _ in range(20):
        fn()
    cupy.cuda.runtime.deviceSynchronize()
    best = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) * 1e6 / calls)
        cupy.cuda.runtime.deviceSynchronize()
    return best


rng = cupy.random.default_rng(0)
a, b = rng.standard_normal((128, 784), dtype=np.float32), rng.standard_normal((256, 784), dtype=np.float32).T
gemm = CublasGemm(lt=False)
out = gemm(a, b)
call = next(iter(gemm.plans.values()))
lt = CublasGemm()
lt(a, b)
print("Lt plan:", type(next(iter(lt.plans.values()))).__name__)
ptr = ctypes.c_void_p
version = ctypes.c_int()
rows = {
    "CublasGemm() (cuBLASLt planned) 128x784 @ 784x256": lambda: lt(a, b),
    "CublasGemm(lt=False) (GemmEx) 128x784 @ 784x256": lambda: gemm(a, b),
    "  cuBLAS call alone (fixed output)": lambda: gemm.function(*call.head, ptr(b.data.ptr), *call.b_args,
                                                                ptr(a.data.ptr), *call.a_args, ptr(out.data.ptr),
                                                                *call.tail),
    "  cupy.ndarray((128, 256))": lambda: cupy.ndarray((128, 256), np.float32),
    "  get_current_stream().ptr": lambda: cupy.cuda.get_current_stream().ptr,
    "  ctypes: cublasGetVersion_v2": lambda: gemm.lib.cublasGetVersion_v2(gemm.handle, ctypes.byref(version)),
    "cupy.matmul(a, b)": lambda: cupy.matmul(a, b),
}
target, x = rng.standard_normal((256, 784), dtype=np.float32), rng.standard_normal((256, 784), dtype=np.float32)
level1, level3 = CupyBackend(), KernelBackend(matmul_version=None)
rows["add_scaled_ level 1 (CuPy ElementwiseKernel)"] = lambda: level1.add_scaled_(target, x, -0.01)
rows["add_scaled_ level 3 (planned launch)"] = lambda: level3.add_scaled_(target, x, -0.01)
for name, fn in rows.items():
    print(f"{name:48s} {host_us(fn):7.1f} µs")
