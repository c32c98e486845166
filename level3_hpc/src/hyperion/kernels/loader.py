"""Compile a ``.cu`` file of this package with CuPy's RawModule (NVRTC) and cache the module.

A learner's skeleton replaces each solution region with
``assert(false && "NotImplementedError: Task 3.2: name");`` -- :func:`read_source` finds those stubs and
raises :class:`NotImplementedError` in Python, before anything is compiled or launched, so a stub never
reaches a GPU. Compile-time constants (tile sizes) are passed as ``-D`` defines; every distinct set of
defines is its own cached module.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

KERNEL_ROOT = Path(__file__).resolve().parent
# the pattern the skeleton generator writes for a stubbed region (kept identical; a test checks it)
CUDA_STUB = re.compile(r'assert\(false && "NotImplementedError: (Task \d+\.\d+: [^"]*)"\);')


def cuda_include_dir() -> str:
    """The CUDA toolkit's include folder (``<mma.h>``, ``<cuda_bf16.h>``): NVRTC does not add it itself."""
    for var in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(var) and Path(os.environ[var], "include").is_dir():
            return str(Path(os.environ[var], "include"))
    return "/usr/local/cuda/include"


def source_path(relative: str) -> Path:
    """``matmul/01_naive.cu`` -> its path in the package; a clear error if there is no such file."""
    return _source_path(relative, KERNEL_ROOT)


@functools.cache
def _source_path(relative: str, root: Path) -> Path:
    path = (root / relative).resolve()
    if path.suffix not in (".cu", ".cuh") or not path.is_file() or root not in path.parents:
        known = sorted(str(p.relative_to(root)) for p in root.rglob("*.cu"))
        raise FileNotFoundError(f"no kernel source {relative!r} under {root}; known: {known}")
    return path


def stubs_in(source: str) -> list[str]:
    """``["Task 3.2: matmul_tiled", ...]``: the unimplemented skeleton stubs left in a CUDA source."""
    return CUDA_STUB.findall(source)


def read_source(relative: str) -> str:
    """The text of a kernel source; raises NotImplementedError if it (or a header it includes) is a stub.

    Cached by the file's modification time, so a launch costs one ``stat``, not a read and a scan.
    """
    path = source_path(relative)
    return _read_checked(relative, path, path.stat().st_mtime_ns, KERNEL_ROOT)


@functools.cache
def _read_checked(relative: str, path: Path, mtime_ns: int, root: Path) -> str:
    text = path.read_text(encoding="utf-8")
    found = stubs_in(text)
    for header in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
        head = path.parent / header
        if not head.is_file():
            head = root / header
        if head.is_file():
            found += stubs_in(head.read_text(encoding="utf-8"))
    if found:
        raise NotImplementedError(f"{found[0]} (in {relative}: fill in the // NotImplementedError stub)")
    return text


def compile_options(defines: tuple[tuple[str, Any], ...] = ()) -> tuple[str, ...]:
    """NVRTC options: C++17, the CUDA and package include folders, and ``-DNAME=value`` per define."""
    opts = ["-std=c++17", f"-I{cuda_include_dir()}", f"-I{KERNEL_ROOT}"]
    opts += [f"-D{name}={value}" for name, value in defines]
    return tuple(opts)


@functools.cache
def _module(relative: str, source: str, defines: tuple[tuple[str, Any], ...]):
    import cupy

    return cupy.RawModule(code=source, options=compile_options(defines), backend="nvrtc")


def load_module(relative: str, **defines: Any):
    """The compiled ``cupy.RawModule`` of one source (cached by source text and defines)."""
    source = read_source(relative)
    return _module(relative, source, tuple(sorted(defines.items())))


def get_kernel(relative: str, name: str, **defines: Any):
    """One ``extern "C"`` kernel of a source, compiled with ``defines`` (cached)."""
    source = read_source(relative)
    return _kernel(relative, source, tuple(sorted(defines.items())), name)


@functools.cache
def _kernel(relative: str, source: str, defines: tuple[tuple[str, Any], ...], name: str):
    return _module(relative, source, defines).get_function(name)
