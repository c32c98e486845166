"""Task 3.2: the shared-memory tiled matmul kernel (matmul/03_smem_tiling.cu) on the GPU."""

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import probe

TASK = "3.2"
TITLE = "Shared-memory tiled matmul (CUDA)"
POINTS = 10
TIMEOUT = 180
MEMORY_MB = None
SHAPES = [(1, 1, 1), (31, 33, 65), (128, 96, 160), (257, 129, 63), (64, 1000, 40)]


def _inputs(M, K, N, i):
    import numpy as np

    rng = np.random.default_rng(3200 + i)
    return rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32)


@probe(reference=False)
def matmul_smem_tiled():
    from hyperion.kernels.loader import read_source

    read_source("matmul/03_smem_tiling.cu")  # a skeleton stub raises NotImplementedError here, GPU or not
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
        out[f"c{i}"] = matmul(cupy.asarray(a), cupy.asarray(b), "03_smem_tiling", out=poisoned).get()
    return out


def check_matmul_smem_tiled(sub, ref):
    import numpy as np

    from hyperion_grader.hidden import assert_close

    assert_ran_on_gpu(sub)
    for i, (M, K, N) in enumerate(SHAPES):
        a, b = _inputs(M, K, N, i)
        assert_close(sub[f"c{i}"], a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4, name=f"C for {M}x{K}x{N}")
