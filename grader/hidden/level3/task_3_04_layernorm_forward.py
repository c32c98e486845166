"""Task 3.4: the register-cached LayerNorm forward kernel (layernorm/03_register_cached.cu) on the GPU."""

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import probe

TASK = "3.4"
TITLE = "LayerNorm forward, block per row (CUDA)"
POINTS = 10
TIMEOUT = 180
MEMORY_MB = None
SHAPES = [(1, 2), (3, 7), (33, 100), (17, 1023), (8, 4096), (5, 5000)]


def _inputs(rows, C, i):
    import numpy as np

    rng = np.random.default_rng(3400 + i)
    x = (rng.standard_normal((rows, C)) * 3 + 10).astype(np.float32)  # an offset: naive E[x^2]-E[x]^2 suffers
    return x, rng.standard_normal(C).astype(np.float32), rng.standard_normal(C).astype(np.float32)


@probe(reference=False)
def layernorm_forward():
    from hyperion.kernels.loader import read_source

    read_source("layernorm/03_register_cached.cu")
    allow_cuda_import()
    from hyperion.runtime.device import gpu_available

    ok, why = gpu_available()
    if not ok:
        return {"gpu": False, "why": why}
    import cupy

    from hyperion.kernels.layernorm import layernorm_forward as forward

    out = {"gpu": True}
    for i, (rows, C) in enumerate(SHAPES):
        x, w, b = (cupy.asarray(v) for v in _inputs(rows, C, i))
        y, mean, rstd = forward(x, w, b, 1e-5, "03_register_cached")
        out[f"y{i}"], out[f"mean{i}"], out[f"rstd{i}"] = y.get(), mean.get(), rstd.get()
    return out


def check_layernorm_forward(sub, ref):
    import numpy as np

    from hyperion_grader.hidden import assert_close

    assert_ran_on_gpu(sub)
    for i, (rows, C) in enumerate(SHAPES):
        x, w, b = (v.astype(np.float64) for v in _inputs(rows, C, i))
        mu = x.mean(axis=1, keepdims=True)
        rstd = 1 / np.sqrt(((x - mu) ** 2).mean(axis=1, keepdims=True) + 1e-5)
        assert_close(sub[f"mean{i}"], mu[:, 0], rtol=1e-5, atol=1e-5, name=f"mean {rows}x{C}")
        assert_close(sub[f"rstd{i}"], rstd[:, 0], rtol=1e-4, atol=1e-6, name=f"rstd {rows}x{C}")
        assert_close(sub[f"y{i}"], (x - mu) * rstd * w + b, rtol=1e-4, atol=1e-4, name=f"y {rows}x{C}")
