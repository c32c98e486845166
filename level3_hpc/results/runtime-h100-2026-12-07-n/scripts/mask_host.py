"""Host time of a padded flash call: a contiguous bool mask viewed as uint8 (new) against converted (old), in turns."""
import time

import cupy
import numpy as np

from hyperion.kernels import attention as fh
from hyperion.transformer.flash import cuda as level2

rng = cupy.random.default_rng(0)
q = rng.standard_normal((1, 2, 128, 64), dtype=np.float32).astype(cupy.float16)
pad = cupy.zeros((1, 128), bool)
pad[:, 100:] = True
new = level2._pad_mask


def old(mask, batch, n_k):
    if mask is None:
        return new(None, batch, n_k)
    return cupy.ascontiguousarray(cupy.asarray(mask), dtype=cupy.uint8)


def us(fn, n=3000):
    for _ in range(200):
        fn()
    cupy.cuda.runtime.deviceSynchronize()
    best = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best.append((time.perf_counter() - start) / n * 1e6)
        cupy.cuda.runtime.deviceSynchronize()
    return min(best)


out, lse = fh.flash_forward_hopper(q, q, q, key_padding_mask=pad)
cases = {"fwd bool mask": lambda: fh.flash_forward_hopper(q, q, q, key_padding_mask=pad),
         "bwd bool mask": lambda: fh.flash_backward_hopper(q, q, q, out, lse, q, key_padding_mask=pad),
         "fwd no mask": lambda: fh.flash_forward_hopper(q, q, q)}
for rnd in range(2):
    for which, fn in (("old", old), ("new", new)):
        level2._pad_mask = fn
        for name, case in cases.items():
            print(f"round {rnd} {which} {name:16s} {us(case):7.2f} us", flush=True)
level2._pad_mask = new
