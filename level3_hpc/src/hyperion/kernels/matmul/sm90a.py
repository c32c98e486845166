"""Build a kernel for ``sm_90a`` with ``nvcc`` and load the cubin into CuPy (what 12_wgmma needs).

``wgmma`` exists only on the architecture-specific target sm_90a. CuPy's NVRTC path appends its own
``-arch=compute_90`` to every compile, so instead :mod:`hyperion.tensor.cuda_build` runs the toolkit's
``nvcc`` with ``-gencode=arch=compute_90a,code=sm_90a`` once per distinct set of defines, caches the cubin
on disk (keyed by the source text, headers, defines and nvcc), and loads it with
``cupy.RawModule(path=...)``. The kernel object is then cached under the call's arguments: a later call
is one dictionary look-up, nothing re-read or re-hashed. Skeleton stubs are refused in Python first.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from hyperion.kernels.loader import KERNEL_ROOT, read_source, source_path
from hyperion.tensor import cuda_build
from hyperion.tensor.cuda_build import SM90A, nvcc_path

__all__ = ["SM90A", "build_cubin", "get_kernel_sm90a", "nvcc_command", "nvcc_path"]


def nvcc_command(relative: str, out: Path, defines: tuple[tuple[str, Any], ...]) -> list[str]:
    """The nvcc command line that turns one package source into an sm_90a cubin."""
    options = cuda_build.compile_options(KERNEL_ROOT, defines)
    return [nvcc_path(), SM90A, "-cubin", *options, "-o", str(out), str(source_path(relative))]


def build_cubin(relative: str, **defines: Any) -> Path:
    """Compile ``relative`` for sm_90a with ``defines`` (once: cached on disk); the cubin's path."""
    read_source(relative)
    return cuda_build.build_cubin(source_path(relative), KERNEL_ROOT, tuple(sorted(defines.items())))


def get_kernel_sm90a(relative: str, name: str, **defines: Any):
    """One ``extern "C"`` kernel of ``relative`` built for sm_90a with ``defines`` (cached: a look-up)."""
    return _kernel(relative, name, tuple(sorted(defines.items())))


@functools.cache
def _kernel(relative: str, name: str, defines: tuple[tuple[str, Any], ...]):
    read_source(relative)  # a stub is refused in Python, before nvcc
    return cuda_build.kernel(KERNEL_ROOT, relative, name, defines, SM90A)
