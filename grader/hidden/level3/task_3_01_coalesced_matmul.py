"""Task 3.1: the coalesced matmul kernel (matmul/02_coalesced.cu) on the GPU."""

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import probe

TASK = "3.1"
TITLE = "Coalesced matmul (CUDA)"
POINTS = 10
TIMEOUT = 180
MEMORY_MB = None
SHAPES = [(1, 1, 1), (67, 45, 33), (128, 96, 160), (257, 129, 63)]


def _inputs(M, K, N, i):
    import numpy as np

    rng = np.random.default_rng(3100 + i)
    return rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32)


@probe(reference=False)
def matmul_coalesced():
    from hyperion.kernels.loader import read_source

    read_source("matmul/02_coalesced.cu")  # a skeleton stub raises NotImplementedError here, GPU or not
    allow_cuda_import()
    from hyperion.runtime.device import gpu_available

    ok, why = gpu_available()
    if not ok:
        return {"gpu": False, "why": why}
    import cupy
    import numpy as np

    from hyperion.kernels.matmul import matmul

    out = {"gpu": True}
    for i, (M, K, N) in enumerate(SHAPES):
        a, b = _inputs(M, K, N, i)
        poisoned = cupy.full((M, N), np.nan, np.float32)
        out[f"c{i}"] = matmul(cupy.asarray(a), cupy.asarray(b), "02_coalesced", out=poisoned).get()
    return out


def check_matmul_coalesced(sub, ref):
    import numpy as np

    from hyperion_grader.hidden import assert_close

    assert_ran_on_gpu(sub)
    for i, (M, K, N) in enumerate(SHAPES):
        a, b = _inputs(M, K, N, i)
        assert_close(sub[f"c{i}"], a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4, name=f"C for {M}x{K}x{N}")
