"""Host time of the planned Hopper backward, 11 (the table) against 09 (TMA_BWD_FROM_N emptied, plans cleared),
in turns, three rounds: the suite's host_us (best of five runs of 200 calls), 1x2x128x64 fp16; torch.softmax
64x1024 for the host's speed."""
import cupy
import numpy as np
import torch

from hyperion.kernels import attention as fh
from hyperion.kernels.attention import bwd_tma, planned
from hyperion.kernels.suite import host_us

q = cupy.random.default_rng(0).standard_normal((1, 2, 128, 64), dtype=np.float32).astype(cupy.float16)
out, lse = fh.flash_forward_hopper(q, q, q)
tx = torch.randn(64, 1024, device="cuda")
table = dict(bwd_tma.TMA_BWD_FROM_N)


def with_table(entries):
    bwd_tma.TMA_BWD_FROM_N.clear()
    bwd_tma.TMA_BWD_FROM_N.update(entries)
    planned._BACKWARD.clear()


for rnd in range(3):
    for label, entries in (("11 planned", table), ("09 planned", {})):
        with_table(entries)
        fh.flash_backward_hopper(q, q, q, out, lse, q)
        kernel = next(iter(planned._BACKWARD.values())).kernel
        h = host_us(lambda: fh.flash_backward_hopper(q, q, q, out, lse, q))
        print(f"round {rnd} {label} (plan runs {kernel}): host_us {h:6.2f}", flush=True)
    print(f"round {rnd} torch.softmax: host_us {host_us(lambda: torch.softmax(tx, -1)):6.2f}")
with_table(table)
