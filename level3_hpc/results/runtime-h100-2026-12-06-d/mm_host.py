# ruff: noqa: B023  (as run on the GPU: each lambda is timed inside its own loop iteration)
"""Host µs per call of the MLP step's matmul layouts: cupy.matmul, CublasGemm (planned), torch.matmul on cuda."""

import time

import cupy
import numpy as np
import torch

from hyperion.runtime.capturable_gemm import CublasGemm


def host_us(fn, calls=2000):
    for _ in range(20):
        fn()
    cupy.cuda.runtime.deviceSynchronize()
    torch.cuda.synchronize()
    best = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) * 1e6 / calls)
        cupy.cuda.runtime.deviceSynchronize()
        torch.cuda.synchronize()
    return best


rng = cupy.random.default_rng(0)
r = lambda *s: rng.standard_normal(s, dtype=np.float32)  # noqa: E731
gemm = CublasGemm()
layouts = {"x @ W1.T (128x784 @ 784x256)": (r(128, 784), r(256, 784).T),
           "h @ W2.T (128x256 @ 256x10)": (r(128, 256), r(10, 256).T),
           "g.T @ x (256x128 @ 128x784)": (r(128, 256).T, r(128, 784)),
           "q @ k.T (8x64x128x64 batched)": (r(8, 64, 128, 64), r(8, 64, 128, 64).swapaxes(-1, -2))}
print(f"{'layout':34s} {'cupy.matmul':>12s} {'CublasGemm':>11s} {'torch':>8s}  max|diff|")
for name, (a, b) in layouts.items():
    ta, tb = torch.as_tensor(a, device="cuda"), torch.as_tensor(b, device="cuda")
    diff = float(cupy.abs(gemm(a, b) - cupy.matmul(a, b)).max())
    print(f"{name:34s} {host_us(lambda: cupy.matmul(a, b)):12.1f} {host_us(lambda: gemm(a, b)):11.1f} "
          f"{host_us(lambda: torch.matmul(ta, tb)):8.1f}  {diff:.1e}")
