# ruff: noqa
"""15_wgmma_3xtf32 vs cuBLAS fp32 (cupy.matmul) and our fp32 auto, on the suite's matmul shapes, each config;
worst elementwise error vs float64 (computed on the GPU) of each."""
import sys
import cupy, numpy as np
from hyperion.kernels import matmul as mm
from hyperion.kernels.matmul import tf32x3
from hyperion.kernels.suite import MATMUL_SHAPES, kernel_ms, call_ms

def worst(c, a, b):
    a64, b64 = a.astype(cupy.float64), b.astype(cupy.float64)
    return float(cupy.max(cupy.abs(c.astype(cupy.float64) - a64 @ b64) / (cupy.abs(a64) @ cupy.abs(b64))))

tag = sys.argv[1]
configs = [c for c in tf32x3.CONFIGS if c.get("TC_BN") == 128]
for m, k, n in MATMUL_SHAPES:
    rng = cupy.random.default_rng(m + n)
    a = rng.standard_normal((m, k), dtype=np.float32); b = rng.standard_normal((k, n), dtype=np.float32)
    t_cub = kernel_ms(lambda: cupy.matmul(a, b))
    line = f"{tag} {m}x{k}x{n}: cuBLAS {t_cub:.4f} ms err {worst(cupy.matmul(a, b), a, b):.2e}"
    for cfg in configs:
        t = kernel_ms(lambda: tf32x3.matmul_3xtf32(a, b, cfg))
        line += f"; 15 {cfg} {t:.4f} ({t_cub / t:.3f}) err {worst(tf32x3.matmul_3xtf32(a, b, cfg), a, b):.2e}"
    print(line, flush=True)
