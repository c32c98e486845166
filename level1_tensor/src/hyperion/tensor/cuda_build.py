"""CUDA plumbing written once: compile a ``.cu`` file, cache the kernel, refuse skeleton stubs, time it.

Used by level 2's FlashAttention kernels and level 3's kernel families (imports point down: both sit
above this level). What it holds:

* :func:`kernel` — one ``extern "C"`` kernel of a source file, compiled with ``-D`` defines. The first
  call reads the source (and the headers it includes), refuses a skeleton stub, compiles (CuPy's
  NVRTC, or ``nvcc`` for ``arch="sm_90a"``: ``wgmma`` exists only there) and caches the kernel under
  the call's arguments. Every later call is one dictionary look-up: no file is stat'ed, read or
  hashed again (``12_wgmma`` used to re-hash its sources on every call: ~0.25 ms of Python).
  :func:`clear_cache` forgets every kernel (after editing a source in a running session). On disk, CuPy
  keeps NVRTC's output by code string and options only, so the code it is given ends with a hash of every
  header under the root (:func:`nvrtc_source`): an edited header is compiled anew in the next process.
* :data:`CUDA_STUB` / :func:`stubs_in` — the pattern the grader's skeleton generator writes in place
  of a solution region; a stub raises ``NotImplementedError`` in Python, before any compiler runs.
* :func:`cuda_include_dir`, :func:`nvcc_path` — where the toolkit is.
* :func:`to_bf16_bits`, :func:`from_bf16_bits` — bfloat16 as ``uint16`` patterns (numpy and CuPy
  have no bfloat16 dtype).
* :func:`cupy_module` — CuPy, imported once and kept (hot launch paths call it instead of ``import cupy``).
* :class:`PackedLaunch` — a kernel launch whose parameter block is laid out once: a call is one
  ``struct.pack_into`` and one ``cuLaunchKernel`` (CuPy's ``RawKernel`` call inspects every argument).
* :func:`time_gpu` — CUDA-event timing: warm-up, repeated samples, the median.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

# the pattern the skeleton generator writes for a stubbed region (kept identical; a test checks it)
CUDA_STUB = re.compile(r'assert\(false && "NotImplementedError: (Task \d+\.\d+: [^"]*)"\);')
SM90A = "-gencode=arch=compute_90a,code=sm_90a"
Defines = tuple[tuple[str, Any], ...]


def stubs_in(source: str) -> list[str]:
    """``["Task 3.2: matmul_tiled", ...]``: the unimplemented skeleton stubs left in a CUDA source."""
    return CUDA_STUB.findall(source)


def cuda_include_dir() -> str:
    """The CUDA toolkit's include folder (``<mma.h>``, ``<cuda_bf16.h>``): NVRTC does not add it itself."""
    for var in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(var) and Path(os.environ[var], "include").is_dir():
            return str(Path(os.environ[var], "include"))
    return "/usr/local/cuda/include"


def nvcc_path() -> str:
    """The ``nvcc`` to build with: ``$CUDA_PATH/bin``, ``$CUDA_HOME/bin``, PATH, /usr/local/cuda/bin."""
    for var in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(var) and Path(os.environ[var], "bin", "nvcc").is_file():
            return str(Path(os.environ[var], "bin", "nvcc"))
    found = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if Path("/usr/local/cuda/bin/nvcc").is_file() else None)
    if found is None:
        raise RuntimeError("sm_90a kernels (wgmma) are built with nvcc, and no nvcc was found (CUDA_PATH, PATH)")
    return found


def included_headers(path: Path, root: Path) -> list[Path]:
    """The ``#include "..."`` files of a source that exist next to it or under ``root``."""
    found = []
    for name in re.findall(r'^\s*#\s*include\s+"([^"]+)"', path.read_text(encoding="utf-8"), re.M):
        for head in (path.parent / name, root / name):
            if head.is_file():
                found.append(head)
                break
    return found


def read_checked(path: Path, root: Path) -> str:
    """The text of ``path``; ``NotImplementedError`` if it, or a header it includes, holds a skeleton stub."""
    text = path.read_text(encoding="utf-8")
    found = stubs_in(text)
    for head in included_headers(path, root):
        found += stubs_in(head.read_text(encoding="utf-8"))
    if found:
        raise NotImplementedError(f"{found[0]} (in {path.name}: fill in the // NotImplementedError stub)")
    return text


def compile_options(root: Path, defines: Defines = ()) -> tuple[str, ...]:
    """NVRTC/nvcc options: C++17, the CUDA and kernel include folders, ``-DNAME=value`` per define."""
    return ("-std=c++17", f"-I{cuda_include_dir()}", f"-I{root}", *(f"-D{name}={value}" for name, value in defines))


def _cubin_cache_dir() -> Path:
    path = Path(os.environ.get("HYPERION_CUBIN_CACHE", Path(tempfile.gettempdir()) / "hyperion_cubins"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def headers_digest(root: Path) -> str:
    """A hash of every header under ``root`` (names and text): part of each compiled kernel's cache key."""
    digest = hashlib.sha256()
    for head in sorted(root.rglob("*.cuh")):
        digest.update(head.relative_to(root).as_posix().encode() + b"\0" + head.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def nvrtc_source(path: Path, root: Path) -> str:
    """The text NVRTC compiles: the checked source and a last comment naming :func:`headers_digest`.

    CuPy caches NVRTC's output on disk by the code string and the options, not by the headers the code
    includes: without the comment, an edited ``row_regime.cuh`` kept running the kernels built from its old
    text, in every later process (seen on a GPU: a benchmark of a header patch timed the unpatched code)."""
    return f"{read_checked(path, root)}\n// headers under the include folder: {headers_digest(root)}\n"


def build_cubin(path: Path, root: Path, defines: Defines = (), arch: str = SM90A) -> Path:
    """Compile ``path`` with ``nvcc`` into a cubin, cached on disk by source, headers, defines and nvcc.

    Every header under ``root`` is part of the key: a source includes its neighbours' (attention's kernels
    include ``matmul/wgmma.cuh`` and ``matmul/tma.cuh``), and an edit to one must rebuild them."""
    source = read_checked(path, root)
    key = hashlib.sha256(repr((path.name, source, headers_digest(root), defines, arch, nvcc_path())).encode())
    key = key.hexdigest()[:24]
    cubin = _cubin_cache_dir() / f"{path.stem}_{key}.cubin"
    if not cubin.is_file():
        tmp = cubin.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        command = [nvcc_path(), arch, "-cubin", *compile_options(root, defines), "-o", str(tmp), str(path)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"nvcc failed on {path.name} with {dict(defines)}:\n{done.stderr[-3000:]}")
        tmp.replace(cubin)
    return cubin


@functools.cache
def module(root: Path, relative: str, defines: Defines = (), arch: str | None = None) -> Any:
    """The compiled ``cupy.RawModule`` of ``root / relative`` (cached by these arguments)."""
    import cupy

    path = root / relative
    if arch is None:
        return cupy.RawModule(code=nvrtc_source(path, root), options=compile_options(root, defines), backend="nvrtc")
    return cupy.RawModule(path=str(build_cubin(path, root, defines, arch)))


@functools.cache
def kernel(root: Path, relative: str, name: str, defines: Defines = (), arch: str | None = None) -> Any:
    """One ``extern "C"`` kernel, compiled on the first call; later calls are a dictionary look-up.

    ``defines`` is a tuple of ``(name, value)`` pairs (sort them: another order is another entry);
    ``arch`` ``None`` compiles with NVRTC, ``SM90A`` with ``nvcc`` for Hopper's sm_90a.
    """
    return module(root, relative, defines, arch).get_function(name)


def clear_cache() -> None:
    """Forget every compiled module and kernel (the next call reads and compiles the source again)."""
    kernel.cache_clear()
    module.cache_clear()


def cupy_module() -> Any:
    """The ``cupy`` module, imported on the first call; later calls read it from ``sys.modules``.

    CuPy is optional, so the launchers import it inside their functions; an ``import`` statement there costs
    about a microsecond on every call (0.9-1.4 µs on a 2-core CI-like host, Python 3.11), and a row kernel's
    call made four or more of them. A dictionary look-up costs about a tenth of that (and a stand-in module a
    test puts in ``sys.modules`` is still the one used).
    """
    module = sys.modules.get("cupy")
    if module is None:
        import cupy as module
    return module


class PackedLaunch:
    """One kernel's launch with its geometry fixed and its parameter block laid out once.

    ``RawKernel.__call__`` looks at the type of every argument on every call (about 6 µs for four on the
    H200's host, more for eleven); a launch plan built once per shape knows them already. ``kinds`` has one
    letter per kernel parameter, in order: ``p`` a device pointer (pass ``array.data.ptr``), ``i`` an int32,
    ``f`` a float32. A call packs its arguments into one 8-byte slot each (``struct.pack_into``) and calls
    ``cuLaunchKernel`` on the current stream, which copies them before it returns. Calls from several
    threads take turns on the slots (a lock).
    """

    FORMATS = {"p": "Q", "i": "i4x", "f": "f4x"}  # each parameter in its own 8-byte slot

    def __init__(self, kernel: Any, grid: tuple[int, ...], block: tuple[int, ...], shared_mem: int,
                 kinds: str) -> None:
        import cupy
        import numpy as np

        if not kinds or set(kinds) - set(self.FORMATS):
            raise ValueError(f"PackedLaunch: kinds must be letters of {sorted(self.FORMATS)}, got {kinds!r}")
        if not 1 <= len(grid) <= 3 or not 1 <= len(block) <= 3:
            raise ValueError(f"PackedLaunch: grid and block take 1 to 3 dimensions, got {grid} and {block}")
        self.kernel, self.kinds = kernel, kinds  # the RawKernel keeps its module loaded
        self.format = "<" + "".join(self.FORMATS[k] for k in kinds)
        self.slots = np.zeros(len(kinds), np.uint64)
        self.params = np.array([self.slots.ctypes.data + 8 * k for k in range(len(kinds))], np.uint64)
        self.head = (kernel.kernel.ptr, *grid, *(1,) * (3 - len(grid)), *block, *(1,) * (3 - len(block)),
                     shared_mem)
        self._params_ptr = int(self.params.ctypes.data)
        self._launch = cupy.cuda.driver.launchKernel
        self._stream = cupy.cuda.get_current_stream
        self._lock = threading.Lock()

    def pack(self, *args: Any) -> None:
        """Write ``args`` into the parameter slots (what a call does before it launches)."""
        if len(args) != len(self.kinds):
            raise TypeError(f"PackedLaunch: the kernel takes {len(self.kinds)} arguments ({self.kinds}), "
                            f"got {len(args)}")
        struct.pack_into(self.format, self.slots, 0, *args)

    def __call__(self, *args: Any) -> None:
        with self._lock:
            struct.pack_into(self.format, self.slots, 0, *args)
            self._launch(*self.head, self._stream().ptr, self._params_ptr, 0)

    def enqueue(self, stream: int, *args: Any) -> None:
        """Launch on the stream whose handle is ``stream`` without taking this launch's lock: for a caller that
        launches several kernels in a row under one lock of its own (and so keeps other threads off the slots)."""
        struct.pack_into(self.format, self.slots, 0, *args)
        self._launch(*self.head, stream, self._params_ptr, 0)


def to_bf16_bits(x: Any) -> Any:
    """float32 CuPy array → bfloat16 ``uint16`` patterns, rounded to nearest even; NaN stays NaN."""
    import cupy
    import numpy as np

    u = cupy.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    nan = (u & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    return cupy.where(nan, np.uint32(0x7FC0), rounded).astype(np.uint16)


def from_bf16_bits(bits: Any) -> Any:
    """``uint16`` bfloat16 patterns → float32 values (exact)."""
    import numpy as np

    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def time_gpu(fn: Callable[[], object], warmup: int = 3, repeat: int = 20, sample_ms: float = 2.0) -> dict:
    """Median/min milliseconds per call of ``fn()``, from ``repeat`` CUDA-event-timed samples.

    Each sample times ``inner`` back-to-back calls between two events and divides, ``inner`` chosen so
    that one sample covers at least ``sample_ms`` of GPU time (a short kernel timed alone would count
    the host's launch gap as well).
    """
    import cupy

    for _ in range(warmup):
        fn()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    once = cupy.cuda.get_elapsed_time(start, stop)
    inner = max(1, min(200, int(sample_ms / max(once, 1e-3))))
    times: list[float] = []
    for _ in range(repeat):
        start.record()
        for _ in range(inner):
            fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / inner)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": repeat, "inner": inner}
