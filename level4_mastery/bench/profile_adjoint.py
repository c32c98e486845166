"""Where the CUDA backward step's time goes, per adjoint3d.cu kernel, at N³ (default 256³) with CPML 10.

    python profile_adjoint.py [N] [kernels, e.g. 5,4,3,1]

Per step, in microseconds (CUDA events over 50 steps after 5 warm-up steps, on random fields): the forward step,
the time-reversal step (``reverse_step``), the checkpointing step (``adjoint_step``), and the host time to
enqueue the 50 reverse steps (if it is near the device time, Python, not the GPU, sets the pace).
"""

import sys
import time

import cupy as cp
import numpy as np

from hyperion.physics import engines3d
from hyperion.physics.bench_grad3d import scene

n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
kernels = [int(k) for k in (sys.argv[2] if len(sys.argv) > 2 else "5,4,3,1").split(",")]
problem = scene(n, 100)
eps = 1.0 + np.random.default_rng(0).random(problem.interior_shape)
repeats = 50


def per_step(run) -> float:
    for i in range(5):
        run(i)
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    start.record()
    for i in range(repeats):
        run(i)
    stop.record()
    stop.synchronize()
    return cp.cuda.get_elapsed_time(start, stop) * 1e3 / repeats


def profile(kernel: int) -> str:
    engines3d.CudaEngine.kernel = kernel
    engine = problem.engine("cuda", eps)
    rng = cp.random.default_rng(0)
    state, adjoint = engine.zero_state(), engine.zero_adjoint()
    for array in (state.E, state.H, adjoint.E, adjoint.H):
        array[...] = rng.standard_normal(array.shape, dtype=cp.float32) * 1e-3
    grad = cp.zeros(engine.shape, cp.float32)
    row = cp.zeros(engine.shell_size, cp.float32)
    e1, e0 = state.E.copy(), state.E.copy()
    forward = per_step(lambda i: engine.step(state, i))
    reverse = per_step(lambda i: engine.reverse_step(state, adjoint, grad, 50, row))
    check = per_step(lambda i: engine.adjoint_step(adjoint, grad, e1, e0))
    cp.cuda.Device().synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        engine.reverse_step(state, adjoint, grad, 50, row)
    host = (time.perf_counter() - start) * 1e6 / repeats
    cp.cuda.Device().synchronize()
    return (f"kernel {kernel}, {n}^3: forward step {forward:.0f} us; reverse step {reverse:.0f} us "
            f"({reverse / forward:.2f}x); checkpoint adjoint step {check:.0f} us ({check / forward:.2f}x); "
            f"host enqueue of a reverse step {host:.0f} us")


for kernel in kernels:
    print(profile(kernel), flush=True)
    cp.get_default_memory_pool().free_all_blocks()
