# ruff: noqa
"""Every LayerNorm candidate (rows.candidates) at ROWS x C for the kinds/dtypes given, timed as the suite times
them (kernel_ms, CUDA events over back-to-back calls) against PyTorch; the 8 fastest and the table's pick."""
import sys

import torch

from hyperion.kernels import rows as rk
from hyperion.kernels.suite import _row_cases, kernel_ms

if __name__ == "__main__":
    r, c = int(sys.argv[1]), int(sys.argv[2])
    for spec in sys.argv[3:]:
        kind, dtype = spec.split(":")
        cases, error = _row_cases(r, c, dtype, torch.Generator(device="cuda").manual_seed(r + c))
        theirs, mine = cases[kind]
        want = theirs()
        t_theirs = kernel_ms(theirs)
        times = {}
        R = rk.RowConfig
        extra = [R(256, 256, 3, smem_acc=1, min_blocks=3), R(256, 256, 3, smem_acc=1, min_blocks=4),
                 R(512, 512, 2, smem_acc=1, min_blocks=2)] if (kind, dtype) == ("ln_bwd", "f16") and c == 4097 else []
        for cfg in rk.candidates(kind, dtype, c) + extra + ([] if kind == "ln_bwd" and dtype != "f32" else [rk.LEGACY]):
            try:
                e = error(kind, mine(cfg), want)
                times[cfg] = kernel_ms(lambda cfg=cfg: mine(cfg)) if e < 2e-2 else None
            except Exception as exc:
                print("  failed", cfg, str(exc).splitlines()[0][:120])
        pick = rk.choose(kind, dtype, r, c)
        print(f"{kind} {dtype} {r}x{c}: torch {t_theirs:.4f} ms; table's pick {times.get(pick)} {pick}", flush=True)
        for cfg, t in sorted(((k, v) for k, v in times.items() if v), key=lambda kv: kv[1])[:8]:
            print(f"  {t:.4f} ms ratio {t_theirs / t:.3f} {cfg}", flush=True)
