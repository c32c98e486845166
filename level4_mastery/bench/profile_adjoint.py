"""Where the CUDA backward step's time goes, per adjoint3d.cu kernel, at N³ (default 256³) with CPML 10.

    python profile_adjoint.py [N] [kernels, e.g. 8,6,7,4]

Per step, in microseconds (CUDA events over 50 steps after 5 warm-up steps, on random fields): the forward step,
the forward step as the time-reversal gradient runs it (record the shell, step, sample the monitors), the
time-reversal step (``reverse_step``) and the same with the adjoint's load injected (what the backward loop of
``grad3d.gradient`` runs), the checkpointing step (``adjoint_step``), and the host time to enqueue a backward-loop
step (if it is near the device time, Python, not the GPU, sets the pace).
"""

import sys
import time

import cupy as cp
import numpy as np

from hyperion.physics import engines3d
from hyperion.physics.bench_grad3d import scene

n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
kernels = [int(k) for k in (sys.argv[2] if len(sys.argv) > 2 else "8,6,7,4").split(",")]
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
    samples = cp.zeros(len(problem.monitor[0]), cp.float32)
    load = cp.ones(len(problem.monitor[0]), cp.float32) * 1e-3

    def recorded(i: int) -> None:
        engine.record(state, row)
        engine.step(state, i)
        engine.sample(state, samples)

    def backward(i: int) -> None:
        engine.reverse_step(state, adjoint, grad, 50, row)
        engine.inject(adjoint, load)

    forward = per_step(lambda i: engine.step(state, i))
    forward_recorded = per_step(recorded)
    reverse = per_step(lambda i: engine.reverse_step(state, adjoint, grad, 50, row))
    loop = per_step(backward)
    check = per_step(lambda i: engine.adjoint_step(adjoint, grad, e1, e0))
    cp.cuda.Device().synchronize()
    start = time.perf_counter()
    for i in range(repeats):
        backward(i)
    host = (time.perf_counter() - start) * 1e6 / repeats
    cp.cuda.Device().synchronize()
    return (f"kernel {kernel}, {n}^3: forward step {forward:.0f} us (with record + sample {forward_recorded:.0f}); "
            f"reverse step {reverse:.0f} us ({reverse / forward:.2f}x), with the load injected {loop:.0f} us "
            f"({loop / forward:.2f}x); checkpoint adjoint step {check:.0f} us ({check / forward:.2f}x); "
            f"host enqueue of a backward-loop step {host:.0f} us")


for kernel in kernels:
    print(profile(kernel), flush=True)
    cp.get_default_memory_pool().free_all_blocks()
