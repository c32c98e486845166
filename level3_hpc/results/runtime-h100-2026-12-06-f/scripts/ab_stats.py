# ruff: noqa
"""09 with L/delta copied asynchronously (the tree) against 09 before (HEAD's copy, run from a temporary file
next to it): backward alone, same process, alternating; d 64/128, N 4096/8192, causal and not."""
import shutil
from pathlib import Path

import cupy
import numpy as np

from hyperion.kernels import attention as fh
from hyperion.kernels.suite import kernel_ms

OLD = "attention/09_before_async_stats.cu"
if __name__ == "__main__":
    root = Path(fh.__file__).parent
    shutil.copy(".device/09_before_async_stats.cu", root / "09_before_async_stats.cu")
    new_source = fh.BWD_SOURCE
    for d in (64, 128):
        for n in (4096, 8192):
            rng = cupy.random.default_rng(n + d)
            q, k, v, do = (rng.standard_normal((4, 16, n, d), dtype=np.float32).astype(cupy.float16) for _ in range(4))
            for causal in (False, True):
                out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal)
                times = {}
                for rep in range(2):
                    for name, src in (("new", new_source), ("old", OLD)):
                        fh.BWD_SOURCE = src
                        grads = fh.flash_backward_wgmma(q, k, v, out, lse, do, causal=causal)
                        if rep == 0 and name == "new":
                            ref = grads
                        elif rep == 0:
                            diff = max(float(cupy.abs(a.astype(cupy.float32) - b.astype(cupy.float32)).max()) for a, b in zip(grads, ref))
                        times.setdefault(name, []).append(kernel_ms(lambda: fh.flash_backward_wgmma(q, k, v, out, lse, do, causal=causal)))
                fh.BWD_SOURCE = new_source
                nw, od = min(times["new"]), min(times["old"])
                print(f"d={d} N={n} causal={causal}: bwd new {nw:.3f} old {od:.3f} ms -> old/new {od / nw:.3f}; max |new - old| {diff:.2e}", flush=True)
