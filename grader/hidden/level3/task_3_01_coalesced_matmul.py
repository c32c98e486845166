"""Task 3.1: the coalesced matmul kernel (matmul/02_coalesced.cu) on the GPU."""

from hyperion_grader.hidden import probe

TASK = "3.1"
TITLE = "Coalesced matmul (CUDA)"
POINTS = 10
TIMEOUT = 180
MEMORY_MB = None
SHAPES = [(1, 1, 1), (67, 45, 33), (128, 96, 160), (257, 129, 63)]
NO_GPU = "not run: no CUDA GPU here ({}); level-3 tasks are graded on a machine with an NVIDIA GPU and CuPy"


def _find_library_without_spawning():
    """CuPy's import calls ``ctypes.util.find_library``, which runs ``/sbin/ldconfig -p``; the sandbox
    refuses to start programs, so look libraries up in the usual folders instead (pure Python)."""
    import ctypes.util
    import glob
    import os

    folders = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    folders += [
        "/usr/local/cuda/lib64",
        "/usr/lib/x86_64-linux-gnu",
        "/lib/x86_64-linux-gnu",
        "/usr/lib64",
        "/lib",
    ]

    def find_library(name):
        for folder in folders:
            hits = sorted(glob.glob(os.path.join(folder, f"lib{name}.so*")))
            if hits:
                return os.path.basename(hits[0])
        return None

    ctypes.util.find_library = find_library


def _inputs(M, K, N, i):
    import numpy as np

    rng = np.random.default_rng(3100 + i)
    return rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32)


@probe(reference=False)
def matmul_coalesced():
    from hyperion.kernels.loader import read_source

    read_source("matmul/02_coalesced.cu")  # a skeleton stub raises NotImplementedError here, GPU or not
    _find_library_without_spawning()
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

    if not sub["gpu"]:
        raise AssertionError(NO_GPU.format(sub["why"]))
    for i, (M, K, N) in enumerate(SHAPES):
        a, b = _inputs(M, K, N, i)
        assert_close(sub[f"c{i}"], a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4, name=f"C for {M}x{K}x{N}")
