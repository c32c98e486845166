"""Helpers for hidden tests of CUDA code (level 3): importing CuPy inside the sandbox, and "not run".

A probe calls :func:`allow_cuda_import` before it imports CuPy, returns ``{"gpu": False, "why": ...}``
when there is no GPU, and its check starts with :func:`assert_ran_on_gpu`: without a GPU the task
scores 0 with a message saying it was not run, never points for kernels that did not run.
"""

from __future__ import annotations

NO_GPU = "not run: no CUDA GPU here ({}); CUDA tasks are graded on a machine with an NVIDIA GPU and CuPy"


def allow_cuda_import() -> None:
    """CuPy's import calls ``ctypes.util.find_library``, which runs ``/sbin/ldconfig -p``; the sandbox
    refuses to start programs, so look libraries up in the usual folders instead (pure Python)."""
    import ctypes.util
    import glob
    import os

    folders = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    folders += ["/usr/local/cuda/lib64", "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib"]

    def find_library(name: str) -> str | None:
        for folder in folders:
            hits = sorted(glob.glob(os.path.join(folder, f"lib{name}.so*")))
            if hits:
                return os.path.basename(hits[0])
        return None

    ctypes.util.find_library = find_library


def assert_ran_on_gpu(sub: dict) -> None:
    """In a check: fail with "not run: ..." when the probe found no GPU."""
    if not sub["gpu"]:
        raise AssertionError(NO_GPU.format(sub["why"]))
