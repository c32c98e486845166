"""Task 3.5: the tensor-core matmul through WMMA (matmul/09_wmma.cu, the fragment loads and mma_sync of
``tc_gemm``), bf16 and fp16 in, fp32 out, on sizes that are and are not multiples of its tiles (and of 8,
which switches the 16-byte cp.async loads off).

Inputs are multiples of 1/4 in [-2, 2]: exact in bf16 and fp16, and every product and partial sum is
exact in fp32 at these sizes, so the judge expects the float64 product of the same inputs (drawn again
from the seed) to 1e-6."""

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import probe

TASK = "3.5"
TITLE = "Tensor-core matmul (WMMA)"
POINTS = 10
TIMEOUT = 240
MEMORY_MB = None
SHAPES = [(16, 16, 16), (33, 47, 65), (128, 64, 256), (200, 136, 72), (1, 8, 300)]


def _inputs(M, K, N, i):
    import numpy as np

    rng = np.random.default_rng(3500 + i)
    a = rng.integers(-8, 9, size=(M, K)).astype(np.float32) / 4
    b = rng.integers(-8, 9, size=(K, N)).astype(np.float32) / 4
    return a, b


@probe(reference=False)
def wmma_matmul():
    from hyperion.kernels.loader import read_source

    read_source("matmul/09_wmma.cu")  # a skeleton stub raises NotImplementedError here, GPU or not
    allow_cuda_import()
    from hyperion.runtime.device import gpu_available

    ok, why = gpu_available()
    if not ok:
        return {"gpu": False, "why": why}
    import cupy
    import numpy as np

    from hyperion.kernels.matmul import matmul_tc

    out = {"gpu": True}
    for i, (M, K, N) in enumerate(SHAPES):
        a, b = _inputs(M, K, N, i)
        for dtype in ("bf16", "f16"):
            if dtype == "bf16":
                x, y = ((v.view(np.uint32) >> 16).astype(np.uint16) for v in (a, b))  # exact: low bits are 0
            else:
                x, y = a.astype(np.float16), b.astype(np.float16)
            poisoned = cupy.full((M, N), np.nan, np.float32)
            c = matmul_tc(cupy.asarray(x), cupy.asarray(y), dtype, out=poisoned, version="09_wmma")
            out[f"c{i}_{dtype}"] = cupy.asnumpy(c)
    return out


def check_wmma_matmul(sub, ref):
    import numpy as np

    from hyperion_grader.hidden import assert_close

    assert_ran_on_gpu(sub)
    for i, (M, K, N) in enumerate(SHAPES):
        a, b = _inputs(M, K, N, i)
        for dtype in ("bf16", "f16"):
            assert_close(
                sub[f"c{i}_{dtype}"],
                a.astype(np.float64) @ b,
                rtol=1e-6,
                atol=1e-6,
                name=f"C for {M}x{K}x{N} ({dtype} in, fp32 out)",
            )
