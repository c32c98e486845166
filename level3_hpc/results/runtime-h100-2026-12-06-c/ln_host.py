"""Host µs of the LayerNorm row calls (64x1024 fp32) and of their parts, then a cProfile of each call."""

import cProfile
import io
import pstats
import time

import cupy
import numpy as np

from hyperion.kernels import rows as rk


def host_us(fn, calls=2000):
    for _ in range(20):
        fn()
    cupy.cuda.runtime.deviceSynchronize()
    best = 1e9
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) * 1e6 / calls)
        cupy.cuda.runtime.deviceSynchronize()
    return best


rng = cupy.random.default_rng(0)
x = rng.standard_normal((64, 1024), dtype=np.float32)
dy = rng.standard_normal((64, 1024), dtype=np.float32)
w, b = cupy.ones(1024, np.float32), cupy.zeros(1024, np.float32)
y, mean, rstd = rk.rows_layernorm(x, w, b)
plan = rk._plan("ln_fwd", "f32", 64, 1024, None, x.data.ptr % 16, True)
bplan = rk._plan("ln_bwd", "f32", 64, 1024, None, x.data.ptr % 16, True)
print("fwd plan", plan if isinstance(plan, str) else plan.launch.head[1:7],
      "bwd plan parts", getattr(bplan, "parts", bplan))
wp, bp = w.data.ptr, b.data.ptr
pbuf, gbuf, dxbuf = cupy.empty(2 * bplan.parts * 1024, np.float32), cupy.empty(2048, np.float32), cupy.empty_like(x)
pp, gp = pbuf.data.ptr, gbuf.data.ptr
cases = {
    "ln fwd": lambda: rk.rows_layernorm(x, w, b),
    "ln bwd": lambda: rk.rows_layernorm_backward(dy, x, w, mean, rstd),
    "softmax": lambda: rk.rows_softmax(x),
    "alloc": lambda: cupy.ndarray((64, 1024), np.float32),
    "3 allocs": lambda: (cupy.ndarray((64, 1024), np.float32), cupy.ndarray((64,), np.float32),
                         cupy.ndarray((64,), np.float32)),
    "_check": lambda: rk._check(x, "f32", "x"),
    "_vector x2": lambda: (rk._vector(w, 1024, "weight"), rk._vector(b, 1024, "bias")),
    "_plan": lambda: rk._plan("ln_fwd", "f32", 64, 1024, None, x.data.ptr % 16, True),
    "fwd launch": lambda: plan.launch(x.data.ptr, wp, bp, y.data.ptr, mean.data.ptr, rstd.data.ptr, 64, 1024,
                                      1e-5, True, True),
    "bwd 2 launches": lambda: (bplan.launch(dy.data.ptr, x.data.ptr, wp, mean.data.ptr, rstd.data.ptr,
                                            dxbuf.data.ptr, pp, gp, 64, 1024, True, True),
                               bplan.reduce(pp, gp, bplan.parts, 1024)),
    "slice x2": lambda: (w[:512], w[512:]),
}
for name, fn in cases.items():
    print(f"{name:16s} {host_us(fn):6.2f} us", flush=True)
for name in ("ln fwd", "ln bwd"):
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(3000):
        cases[name]()
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(14)
    print(name, s.getvalue()[-3500:])
