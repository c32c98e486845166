# ruff: noqa
"""Matmul 15's ablation on one GPU: each idea switched off alone, against 08's table pick and cuBLAS,
then d = 96 FlashAttention (never timed before) through the suite's own flash benchmark."""
import json
import sys

import cupy
import numpy as np

from hyperion.kernels import matmul as mm
from hyperion.kernels import suite
from hyperion.kernels.loader import get_kernel
from hyperion.kernels._launch import cdiv
from hyperion.kernels.suite import kernel_ms


def run15(a, b, c, cfg):
    (m, k), n = a.shape, b.shape[1]
    kern = get_kernel("matmul/15_conflict_free.cu", "matmul_conflict_free", **cfg)
    grid = (cdiv(n, cfg["BN"]), cdiv(m, cfg["BM"]), 1)
    args = (a, b, c, np.int32(m), np.int32(n), np.int32(k), np.int32(k), np.int32(k % 4 == 0 and n % 4 == 0))
    return lambda: kern(grid, (cfg["NTHREADS"],), args)


if __name__ == "__main__":
    shapes = [(4096, 4096, 4096), (2048, 2048, 2048), (3072, 2048, 5120), (1001, 1003, 999)]
    for m, k, n in [] if "--flash96-only" in sys.argv else shapes:
        rng = cupy.random.default_rng(1)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = cupy.empty((m, n), np.float32)
        want = cupy.matmul(a, b)
        row = {"shape": f"{m}x{k}x{n}", "cublas": kernel_ms(lambda: cupy.matmul(a, b))}
        row["08 table"] = kernel_ms(lambda: mm.matmul_auto(a, b))
        for i in (0, 1, 2, 3):
            base = mm.CONFLICT_FREE_CONFIGS[i]
            variants = {f"15[{i}]": {}} if i else {"15[0]": {}, "15[0] QUADS=0": {"QUADS": 0},
                                                   "15[0] A_PAD=0": {"A_PAD": 0}, "15[0] FRAG_DB=0": {"FRAG_DB": 0},
                                                   "15[0] none": {"QUADS": 0, "A_PAD": 0, "FRAG_DB": 0},
                                                   "15[0] MINB=1": {"MINB": 1}}
            for name, sw in variants.items():
                fn = run15(a, b, c, {**base, **sw})
                fn()
                err = float(cupy.abs(c - want).max() / cupy.abs(want).max())
                row[name] = kernel_ms(fn) if err < 1e-4 else f"wrong {err:.1e}"
        cub = row["cublas"]
        print(json.dumps(row), flush=True)
        print(row["shape"], " ".join(f"{k}={cub / v:.3f}" for k, v in row.items() if isinstance(v, float) and k != "cublas"),
              flush=True)
    if any(a.startswith("--flash96") for a in sys.argv):
        suite.ATTN_DIMS = (96,)
        rows = suite.bench_flash(False, False)
        for r in rows:
            print(f"d=96 N={r['N']} causal={r['causal']} fwd {r['fwd_ratio']:.2f} fb {r['fb_ratio']:.2f} "
                  f"err {r['fwd_err']:.1e} {r['grad_err']:.1e}", flush=True)
