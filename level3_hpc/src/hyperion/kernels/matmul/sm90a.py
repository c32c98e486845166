"""Build a kernel for ``sm_90a`` with ``nvcc`` and load the cubin into CuPy (what 12_wgmma needs).

``wgmma`` exists only on the architecture-specific target sm_90a. CuPy's NVRTC path appends its own
``-arch=compute_90`` to every compile, so instead this module runs the toolkit's ``nvcc`` with
``-gencode=arch=compute_90a,code=sm_90a`` once per distinct set of defines, caches the cubin (keyed by
the source text, defines and nvcc version), and loads it with ``cupy.RawModule(path=...)``. The source
goes through :func:`hyperion.kernels.loader.read_source`, so skeleton stubs are caught the same way.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from hyperion.kernels.loader import KERNEL_ROOT, cuda_include_dir, read_source, source_path

SM90A = "-gencode=arch=compute_90a,code=sm_90a"


def nvcc_path() -> str:
    """The ``nvcc`` to build with: ``$CUDA_PATH/bin``, ``$CUDA_HOME/bin``, PATH, /usr/local/cuda/bin."""
    for var in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(var) and Path(os.environ[var], "bin", "nvcc").is_file():
            return str(Path(os.environ[var], "bin", "nvcc"))
    found = shutil.which("nvcc")
    if found is None and Path("/usr/local/cuda/bin/nvcc").is_file():
        found = "/usr/local/cuda/bin/nvcc"
    if found is None:
        raise RuntimeError(
            "sm_90a kernels (wgmma) are built with nvcc, and no nvcc was found (CUDA_PATH, PATH)"
        )
    return found


def nvcc_command(relative: str, out: Path, defines: tuple[tuple[str, Any], ...]) -> list[str]:
    """The nvcc command line that turns one package source into an sm_90a cubin."""
    return [
        nvcc_path(),
        SM90A,
        "-std=c++17",
        "-cubin",
        f"-I{cuda_include_dir()}",
        f"-I{KERNEL_ROOT}",
        *[f"-D{name}={value}" for name, value in defines],
        "-o",
        str(out),
        str(source_path(relative)),
    ]


def _cache_dir() -> Path:
    path = Path(os.environ.get("HYPERION_CUBIN_CACHE", Path(tempfile.gettempdir()) / "hyperion_cubins"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_cubin(relative: str, **defines: Any) -> Path:
    """Compile ``relative`` for sm_90a with ``defines`` (once: cached on disk); the cubin's path."""
    source = read_source(relative)
    headers = [p.read_text(encoding="utf-8") for p in sorted(source_path(relative).parent.glob("*.cuh"))]
    items = tuple(sorted(defines.items()))
    key = hashlib.sha256(repr((relative, source, headers, items, nvcc_path())).encode()).hexdigest()[:24]
    cubin = _cache_dir() / f"{Path(relative).stem}_{key}.cubin"
    if not cubin.is_file():
        tmp = cubin.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        done = subprocess.run(nvcc_command(relative, tmp, items), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"nvcc failed on {relative} with {defines}:\n{done.stderr[-3000:]}")
        tmp.replace(cubin)
    return cubin


@functools.cache
def _module(cubin: str):
    import cupy

    return cupy.RawModule(path=cubin)


def get_kernel_sm90a(relative: str, name: str, **defines: Any):
    """One ``extern "C"`` kernel of ``relative`` built for sm_90a with ``defines`` (cached)."""
    return _module(str(build_cubin(relative, **defines))).get_function(name)
