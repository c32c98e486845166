# ruff: noqa
"""Host µs per call of rows_layernorm (fp32) at 64x1024 and 4096x1000 (the suite's host-bound cell), of its parts,
and torch's layer_norm at the same shapes; then back-to-back ms per call (CUDA events) of each."""
import time

import cupy as cp
import numpy as np
import torch

from hyperion.kernels import rows as rk
from hyperion.kernels.suite import host_us, kernel_ms

for r, c in ((64, 1024), (4096, 1000), (65536, 1000)):
    x = cp.random.standard_normal((r, c), dtype=cp.float32)
    w, b = cp.ones(c, cp.float32), cp.zeros(c, cp.float32)
    tx = torch.randn(r, c, device="cuda"); tw = torch.ones(c, device="cuda"); tb = torch.zeros(c, device="cuda")
    ours = lambda: rk.rows_layernorm(x, w, b)
    theirs = lambda: torch.nn.functional.layer_norm(tx, (c,), tw, tb)
    alloc = lambda: (cp.ndarray(x.shape, x.dtype), cp.ndarray((r,), np.float32), cp.ndarray((r,), np.float32))
    print(f"{r}x{c}: host us ours {host_us(ours):.1f} torch {host_us(theirs):.1f} allocs {host_us(alloc):.1f}; "
          f"kernel_ms ours {kernel_ms(ours) * 1e3:.1f} us torch {kernel_ms(theirs) * 1e3:.1f} us; "
          f"choice {rk.choose('ln_fwd', 'f32', r, c)}", flush=True)
