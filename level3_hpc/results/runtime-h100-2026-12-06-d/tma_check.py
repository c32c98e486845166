# ruff: noqa: B023  (each lambda is timed inside its own loop iteration)
"""14_wgmma_tma on the GPU: correctness against float64 at odd and suite shapes, every configuration, then
kernel-only ms against 12 (the table's pick through matmul_tc_auto) and cuBLAS (torch bf16), in one process."""

import sys

import cupy
import numpy as np

from hyperion.kernels import matmul as mm
from hyperion.kernels.matmul.tma import TMA_CONFIGS, matmul_tma
from hyperion.tensor.cuda_build import time_gpu

mode = sys.argv[1]


def operands(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    a = mm.to_bf16_bits(cupy.asarray(rng.standard_normal((m, k)).astype(np.float32)))
    b = mm.to_bf16_bits(cupy.asarray(rng.standard_normal((k, n)).astype(np.float32)))
    return a, b


def rel_err(got, a, b):
    want = mm.from_bf16_bits(a).astype(cupy.float64) @ mm.from_bf16_bits(b).astype(cupy.float64)
    return float(cupy.linalg.norm(got.astype(cupy.float64) - want) / cupy.linalg.norm(want))


if mode == "smoke":
    a, b = operands(256, 128, 256)
    c = matmul_tma(a, b)
    cupy.cuda.runtime.deviceSynchronize()
    print("smoke 256x128x256 rel err", rel_err(c, a, b), flush=True)
elif mode == "correct":
    for i, cfg in enumerate(TMA_CONFIGS):
        for (m, k, n) in [(67, 48, 40), (256, 128, 64), (300, 520, 136), (130, 200, 264), (1100, 704, 264),
                          (1001, 1000, 1008), (1, 8, 8)]:
            a, b = operands(m, k, n, seed=m + n)
            out = cupy.full((m, n), np.nan, np.float32)
            e = rel_err(matmul_tma(a, b, config=cfg, out=out), a, b)
            print(f"cfg {i} {m}x{k}x{n} rel err {e:.2e} {'OK' if e < 1e-5 else 'WRONG'}", flush=True)
else:
    import torch

    for (m, k, n) in [(4096, 4096, 4096), (8192, 8192, 8192), (3072, 5120, 2048), (2048, 2048, 2048),
                      (1000, 1000, 1000)]:
        a, b = operands(m, k, n)
        ta = torch.as_tensor(a.view(cupy.int16), device="cuda").view(torch.bfloat16)
        tb = torch.as_tensor(b.view(cupy.int16), device="cuda").view(torch.bfloat16)
        row = {"cuBLAS": time_gpu(lambda: ta @ tb, warmup=3, repeat=10, sample_ms=20)["median_ms"],
               "12 (table)": time_gpu(lambda: mm.matmul_tc_auto(a, b), warmup=3, repeat=10, sample_ms=20)["median_ms"]}
        for i, cfg in enumerate(TMA_CONFIGS):
            row[f"14 cfg {i}"] = time_gpu(lambda cfg=cfg: matmul_tma(a, b, config=cfg), warmup=3, repeat=10,
                                          sample_ms=20)["median_ms"]
        row["cuBLAS again"] = time_gpu(lambda: ta @ tb, warmup=3, repeat=10, sample_ms=20)["median_ms"]
        base = min(row["cuBLAS"], row["cuBLAS again"])
        print(f"{m}x{k}x{n} " + "  ".join(f"{name} {ms:.4f} ms ({base / ms:.2f})" for name, ms in row.items()),
              flush=True)
