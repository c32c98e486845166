# ruff: noqa
"""Row candidates at given shapes, the suite's timing (kernel_ms): every candidate once, then the best 6 and the
table's pick re-timed in 3 interleaved rounds with torch (median). Prints bandwidth (GB/s of the bytes each
kernel must move) beside a cupy copy of the same rows.  usage: row_sweep.py R C kind:dtype [kind:dtype ...]"""
import os
import statistics
import sys
from dataclasses import replace

import cupy
import numpy as np
import torch

from hyperion.kernels import rows as rk
from hyperion.kernels.suite import _row_cases, kernel_ms, precompile


def main():
    r, c = int(sys.argv[1]), int(sys.argv[2])
    specs = [s.split(":") for s in sys.argv[3:]]
    iters = [int(i) for i in os.environ.get("ITERS", "1").split(",")]
    cands_of = lambda k, d: [replace(cfg, iters=i) for cfg in rk.candidates(k, d, c) for i in (iters if k != "ln_bwd" else [1])]
    jobs = {("rows", (k, d, cfg)) for k, d in specs for cfg in cands_of(k, d)}
    bad = [x for x in precompile(sections=(), extra=tuple(sorted(jobs, key=str))) if not x.startswith("ok")]
    print("precompile failures:", len(bad), bad[:3], flush=True)
    for kind, dtype in specs:
        size = 4 if dtype == "f32" else 2
        nbytes = r * c * size * (3 if kind == "ln_bwd" else 2)
        src = cupy.empty(r * c * size // 4, np.float32); dst = cupy.empty_like(src)
        t_copy = kernel_ms(lambda: cupy.copyto(dst, src))
        cases, error = _row_cases(r, c, dtype, torch.Generator(device="cuda").manual_seed(r + c))
        theirs, mine = cases[kind]
        want = theirs()
        cands = cands_of(kind, dtype) + ([rk.LEGACY] if dtype == "f32" else [])
        first = {}
        for cfg in cands:
            try:
                e = error(kind, mine(cfg), want)
                if e < 2e-2:
                    first[cfg] = kernel_ms(lambda cfg=cfg: mine(cfg))
                else:
                    print("  wrong", cfg, e)
            except Exception as exc:
                print("  failed", cfg, str(exc).splitlines()[0][:120])
        pick = rk.choose(kind, dtype, r, c)
        best = sorted(first, key=first.get)[:int(os.environ.get('TOP', '6'))]
        if pick not in best and pick in first:
            best.append(pick)
        rounds = {cfg: [] for cfg in best}; tt = []
        for _ in range(3):
            tt.append(kernel_ms(theirs))
            for cfg in best:
                rounds[cfg].append(kernel_ms(lambda cfg=cfg: mine(cfg)))
        t_theirs = statistics.median(tt)
        gbs = lambda ms: nbytes / ms / 1e6
        print(f"{kind} {dtype} {r}x{c}: copy of the row bytes {t_copy:.4f} ms ({2 * r * c * size / t_copy / 1e6:.0f} GB/s); "
              f"torch {t_theirs:.4f} ms ({gbs(t_theirs):.0f} GB/s) rounds {['%.4f' % t for t in tt]}; pick {pick}", flush=True)
        for cfg in sorted(best, key=lambda k: statistics.median(rounds[k])):
            m = statistics.median(rounds[cfg])
            print(f"  {m:.4f} ms ratio {t_theirs / m:.3f} {gbs(m):.0f} GB/s rounds {['%.4f' % t for t in rounds[cfg]]}"
                  f"{' PICK' if cfg == pick else ''} {cfg}", flush=True)


if __name__ == "__main__":
    main()
