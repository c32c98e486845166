# ruff: noqa: B023, E501, F821 -- the script as it ran (closures over the loop's arrays, called in the same iteration)
"""The planned Hopper backward (flash_backward_hopper, 11 at every d) in this process's tree: GPU time of the
whole call at B=4 H=16 fp16, d 64/80/96/128, N 1024/4096/8192, causal and not (median of CUDA-event samples,
cuda_build.time_gpu), and its host time (suite.host_us, 1x2x128x64). Run once per tree, in turns: the tree with
the delta kernel (old) and with delta in 11's dQ kernel (new). LABEL names the tree in the output."""
import os
import sys

import cupy as cp
import numpy as np
import torch

from hyperion.kernels import attention as fh
from hyperion.kernels.suite import host_us
from hyperion.tensor.cuda_build import time_gpu

LABEL = os.environ.get("LABEL", "?")
DIMS = [int(x) for x in os.environ.get("DIMS", "64,80,96,128").split(",")]
NS = [int(x) for x in os.environ.get("NS", "1024,4096,8192").split(",")]
rng = cp.random.default_rng(0)
for d in DIMS:
    for n in NS:
        for causal in (False, True):
            q, k, v, do = (rng.standard_normal((4, 16, n, d), dtype=cp.float32).astype(cp.float16) for _ in range(4))
            out, lse = fh.flash_forward_hopper(q, k, v, causal=causal)
            fn = lambda: fh.flash_backward_hopper(q, k, v, out, lse, do, causal=causal)  # noqa: E731
            grads = fn()
            ms = time_gpu(fn, warmup=2, repeat=9)["median_ms"]
            flops = 2.5 * 4 * 4 * 16 * n * n * d / (2 if causal else 1)
            sums = " ".join(f"{float(cp.abs(g.astype(cp.float32)).sum()):.6e}" for g in grads)
            print(f"{LABEL} d={d:3d} N={n:5d} causal={int(causal)} {ms:8.3f} ms {flops / ms / 1e9:6.1f} TFLOP/s |g| {sums}",
                  flush=True)
            del q, k, v, do, out, lse, grads
q = cp.random.default_rng(1).standard_normal((1, 2, 128, 64), dtype=np.float32).astype(cp.float16)
out, lse = fh.flash_forward_hopper(q, q, q)
tx = torch.randn(64, 1024, device="cuda")
for r in range(3):
    print(f"{LABEL} host round {r}: backward {host_us(lambda: fh.flash_backward_hopper(q, q, q, out, lse, q)):6.2f} us,"
          f" torch.softmax {host_us(lambda: torch.softmax(tx, -1)):6.2f} us", flush=True)
sys.exit(0)
