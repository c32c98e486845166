"""Task 3.2: the shared-memory tiled matmul kernel (matmul/03_smem_tiling.cu) on the GPU, correct and fast.

Two probes, half the points each (PARTIAL): the product is right on awkward shapes, and at 4096^3 fp32 the
kernel reaches at least THRESHOLD of cuBLAS's throughput (``cupy.matmul``), timed in the same box with
CUDA events, kernel and cuBLAS interleaved over ROUNDS rounds, median of each. The level's recorded H200
run measured 17.4 % for the reference and 12.3 % for 02_coalesced (no shared memory): 14 % leaves the
reference a 1.24x margin and is above what the untiled kernel reaches (``level3_hpc/REPORT.md``).
Like Task 3.7, the timing runs inside the sandbox, on the learner's Python wrapper: a hand-in that
patches CuPy's events could fool it (the grader's README, "The GPU tasks on an H200").
"""

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import probe

TASK = "3.2"
TITLE = "Shared-memory tiled matmul (CUDA), at least 14% of cuBLAS"
POINTS = 10
PARTIAL = True  # correct: 5 points; at least THRESHOLD of cuBLAS: 5 points
EXCLUSIVE = True  # timed: no other task on the GPU meanwhile
TIMEOUT = 180
MEMORY_MB = None
SIZE = 4096
THRESHOLD = 0.14  # fraction of cuBLAS's fp32 throughput
ROUNDS = 7
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


@probe(reference=False)
def speed_vs_cublas():
    from hyperion.kernels.loader import read_source

    read_source("matmul/03_smem_tiling.cu")
    allow_cuda_import()
    from hyperion.runtime.device import gpu_available

    ok, why = gpu_available()
    if not ok:
        return {"gpu": False, "why": why}
    import statistics

    import cupy
    import numpy as np

    from hyperion.kernels.matmul import matmul

    rng = cupy.random.default_rng(3211)
    a = rng.standard_normal((SIZE, SIZE), dtype=np.float32)
    b = rng.standard_normal((SIZE, SIZE), dtype=np.float32)
    c = cupy.full((SIZE, SIZE), np.nan, np.float32)
    want = cupy.matmul(a, b)
    matmul(a, b, "03_smem_tiling", out=c)
    err = float(cupy.linalg.norm(c - want) / cupy.linalg.norm(want))
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    runs = {"tiled": lambda: matmul(a, b, "03_smem_tiling", out=c), "cublas": lambda: cupy.matmul(a, b, out=want)}
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(ROUNDS + 1):  # round 0 warms up (compile, clocks) and is dropped
        for name, run in runs.items():
            start.record()
            for _ in range(3):
                run()
            stop.record()
            stop.synchronize()
            samples[name].append(cupy.cuda.get_elapsed_time(start, stop) / 3)
    ms = {name: statistics.median(times[1:]) for name, times in samples.items()}
    return {"gpu": True, "rel_err": err, "tiled_ms": ms["tiled"], "cublas_ms": ms["cublas"]}


def check_speed_vs_cublas(sub, ref):
    from hyperion_grader.hidden import assert_true

    assert_ran_on_gpu(sub)
    assert_true(sub["rel_err"] < 1e-4, f"the 4096^3 product is wrong (relative error {sub['rel_err']:.1e})")
    share = sub["cublas_ms"] / sub["tiled_ms"]
    assert_true(
        share >= THRESHOLD,
        f"at {SIZE}^3 your tiled kernel takes {sub['tiled_ms']:.2f} ms and cuBLAS {sub['cublas_ms']:.2f} ms: "
        f"{100 * share:.1f} % of cuBLAS, below the {100 * THRESHOLD:.0f} % wanted (is every tile of A and B "
        "loaded once into shared memory and reused by the whole block?)",
    )
