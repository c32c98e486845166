# ruff: noqa
"""15_wgmma_3xtf32 vs cuBLAS fp32 (cupy.matmul) and our fp32 auto, on the suite's matmul shapes, each config;
worst elementwise error vs float64 (on the small shapes only, float64 on the host)."""
import cupy, numpy as np, sys
from hyperion.kernels import matmul as mm
from hyperion.kernels.matmul import tf32x3
from hyperion.kernels.suite import MATMUL_SHAPES, kernel_ms, call_ms

def worst(c, a, b):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return float(np.max(np.abs(c.astype(np.float64) - a64 @ b64) / (np.abs(a64) @ np.abs(b64))))

for m, k, n in MATMUL_SHAPES:
    rng = cupy.random.default_rng(m + n)
    a = rng.standard_normal((m, k), dtype=np.float32); b = rng.standard_normal((k, n), dtype=np.float32)
    t_cub = kernel_ms(lambda: cupy.matmul(a, b)); t_auto = kernel_ms(lambda: mm.matmul_auto(a, b))
    line = f"{m}x{k}x{n}: cuBLAS {t_cub:.4f} ms, 08/13 auto {t_auto:.4f} ({t_cub / t_auto:.3f})"
    for i, cfg in enumerate(tf32x3.CONFIGS):
        t = kernel_ms(lambda: tf32x3.matmul_3xtf32(a, b, cfg))
        line += f"; 15 cfg{i} {t:.4f} ({t_cub / t:.3f})"
    tc = call_ms(lambda: tf32x3.matmul_3xtf32(a, b)); tcc = call_ms(lambda: cupy.matmul(a, b))
    line += f"; call-to-call 15 {tc:.4f} cuBLAS {tcc:.4f}"
    if m * k * n <= 2048 ** 3:
        ah, bh = a.get(), b.get()
        line += f"; worst err 15 {worst(tf32x3.matmul_3xtf32(a, b).get(), ah, bh):.2e} cuBLAS {worst(cupy.matmul(a, b).get(), ah, bh):.2e} 08 {worst(mm.matmul_auto(a, b).get(), ah, bh):.2e}"
    print(line, flush=True)
