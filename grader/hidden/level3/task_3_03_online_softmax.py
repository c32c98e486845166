"""Task 3.3: the online softmax kernel (softmax/03_online_warp.cu) on the GPU."""

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import probe

TASK = "3.3"
TITLE = "Online softmax, one warp per row (CUDA)"
POINTS = 10
TIMEOUT = 180
MEMORY_MB = None
SHAPES = [(1, 1), (3, 7), (33, 100), (17, 1023), (9, 5000)]


def _input(rows, C, i):
    import numpy as np

    x = (np.random.default_rng(3300 + i).standard_normal((rows, C)) * 5).astype(np.float32)
    if i == 2:
        x[0, :10] = -np.inf  # masked entries
        x[1, 5] = 80.0  # a large value: exp would overflow without subtracting the max
    return x


@probe(reference=False)
def softmax_online():
    from hyperion.kernels.loader import read_source

    read_source("softmax/03_online_warp.cu")
    allow_cuda_import()
    from hyperion.runtime.device import gpu_available

    ok, why = gpu_available()
    if not ok:
        return {"gpu": False, "why": why}
    import cupy
    import numpy as np

    from hyperion.kernels.softmax import softmax

    out = {"gpu": True}
    for i, (rows, C) in enumerate(SHAPES):
        y = cupy.full((rows, C), np.nan, np.float32)
        out[f"y{i}"] = softmax(cupy.asarray(_input(rows, C, i)), "03_online_warp", out=y).get()
    return out


def check_softmax_online(sub, ref):
    import numpy as np

    from hyperion_grader.hidden import assert_close

    assert_ran_on_gpu(sub)
    for i, (rows, C) in enumerate(SHAPES):
        x = _input(rows, C, i).astype(np.float64)
        e = np.exp(x - x.max(axis=1, keepdims=True))
        assert_close(
            sub[f"y{i}"], e / e.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6, name=f"softmax {rows}x{C}"
        )
