"""Flash host time measured two ways, in turns: the suite's host_us (200 calls timed before the GPU is waited for:
below the launch queue's depth, so the host's own time) and a loop of 3000 calls (what the earlier scripts did:
past the queue's depth the loop waits for the GPU, so it times max(host, GPU) per call); beside them the GPU's
own time per call (graph replay) where a capture works."""
import time

import cupy
import numpy as np
import torch

from hyperion.kernels import attention as fh
from hyperion.kernels.suite import graph_ms, host_us
from hyperion.transformer.flash import cuda as fc

q = cupy.random.default_rng(0).standard_normal((1, 2, 128, 64), dtype=np.float32).astype(cupy.float16)
pad = cupy.zeros((1, 128), bool)
pad[:, 100:] = True
out, lse = fh.flash_forward_hopper(q, q, q)
tx = torch.randn(64, 1024, device="cuda")


def loop_us(fn, n=3000):
    for _ in range(200):
        fn()
    cupy.cuda.runtime.deviceSynchronize()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    took = (time.perf_counter() - start) / n * 1e6
    cupy.cuda.runtime.deviceSynchronize()
    return took


cases = {
    "flash fwd (Hopper dispatch, planned)": lambda: fh.flash_forward_hopper(q, q, q),
    "flash fwd, bool padding mask": lambda: fh.flash_forward_hopper(q, q, q, key_padding_mask=pad),
    "flash bwd (Hopper dispatch, planned)": lambda: fh.flash_backward_hopper(q, q, q, out, lse, q),
    "flash fwd (level 2's 05)": lambda: fc.flash_forward_cuda(q, q, q),
    "torch.softmax 64x1024 (for scale)": lambda: torch.softmax(tx, -1),
}
for rnd in range(3):
    for name, fn in cases.items():
        h = min(host_us(fn) for _ in range(5))
        loop = loop_us(fn)
        print(f"round {rnd} {name:38s} host_us {h:6.2f}  loop-of-3000 {loop:6.2f} us", flush=True)
for name, fn in list(cases.items())[:4]:
    try:
        print(f"GPU time alone (graph) {name:38s} {graph_ms(fn, torch_side=False) * 1e3:6.2f} us", flush=True)
    except Exception as error:  # noqa: BLE001
        print(f"GPU time alone (graph) {name}: {type(error).__name__}: {str(error)[:120]}", flush=True)
