# ruff: noqa
"""One 09 backward (after a warm-up) at d = 64, N = 4096, B 4, H 16: argv[1] = causal (0/1), argv[2] = group."""
import sys

import cupy
import numpy as np

from hyperion.kernels import attention as fh

if __name__ == "__main__":
    causal, group = bool(int(sys.argv[1])), int(sys.argv[2])
    rng = cupy.random.default_rng(0)
    q, k, v, do = (rng.standard_normal((4, 16, 4096, 64), dtype=np.float32).astype(cupy.float16) for _ in range(4))
    out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal)
    for _ in range(2):
        fh.flash_backward_wgmma(q, k, v, out, lse, do, causal=causal, group=group)
    cupy.cuda.runtime.deviceSynchronize()
