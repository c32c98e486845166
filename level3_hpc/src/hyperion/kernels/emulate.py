"""CUDA kernels run on the CPU, block-synchronous: the real ``.cu`` source, g++, and a shim header.

So CI, which has no GPU, runs the row kernels themselves (their shuffles, barriers, shared memory and
indexing), not a transliteration. ``cpu_shim/cuda_on_cpu.h`` defines what the kernels use (qualifiers,
``threadIdx``..., vector types, warp shuffles, ``__syncthreads``, atomics, fp16/bf16). Each CUDA thread of a
block is a fiber (``ucontext``) on one OS thread, and blocks run one after another. Fibers, not one OS thread
per CUDA thread: a block of 1024 threads needs no 1024 OS threads, the run is deterministic (a fiber runs
until it waits, so a missing ``__syncthreads`` reads stale data on every run, not on some), and a barrier
that can never open (an early ``return`` before ``__syncthreads``) is reported as an error instead of a hang.

Limits: races are not detected and there is no memory model (a fiber runs alone until it waits), bounds are
not checked (a wild access corrupts or crashes the process; only a write just past dynamic shared memory is
caught), a static ``__shared__`` array keeps the previous block's values, g++ does not contract to FMA as nvcc
does (results differ in the last bits), fast intrinsics are the exact functions, speed means nothing.

    kernel = get_kernel("softmax/06_row_regimes.cu", "softmax_rows_f32", ROW_THREADS=32)
    kernel(grid, block, (x, y, np.int32(rows), np.int32(C), np.int32(1)), shared_mem=0)  # numpy arrays

The call mirrors CuPy's ``RawKernel``. A module is compiled once per source text, defines, shim and g++
version, into the same cache folder as the nvcc cubins (``HYPERION_CUBIN_CACHE``), and kept per process.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from hyperion.kernels.loader import KERNEL_ROOT, read_source

__all__ = ["CpuKernel", "CpuModule", "available", "compile_source", "get_kernel", "load_module"]
SHIM = Path(__file__).resolve().parent / "cpu_shim"
KERNEL_MARK = re.compile(r'extern\s+"C"\s+(?:[\w:]+\s+)*?HYPERION_KERNEL\s+(?:[\w:]+\s+)*?void\s+(\w+)\s*\(')
EXTERN_SHARED = re.compile(
    r"extern\s+HYPERION_SHARED\s+(?:HYPERION_ALIGN\s*\(\s*\d+\s*\)\s+)?((?:const\s+|unsigned\s+|signed\s+)*[A-Za-z_][\w:]*)"
    r"\s+(\w+)\s*\[\s*\]\s*;")
# the second pass: the markers of the first become C++; a module keeps its state to itself (hidden, not unique)
COMPILE = ("-std=c++17", "-O1", "-w", "-shared", "-fPIC", "-fvisibility=hidden", "-fno-gnu-unique",
           "-DHYPERION_KERNEL=", "-DHYPERION_SHARED=static", "-DHYPERION_ALIGN(n)=__attribute__((aligned(n)))")
EXPORT = 'extern "C" __attribute__((visibility("default")))'
CTYPES = {"p": ctypes.c_void_p, "i": ctypes.c_int32, "I": ctypes.c_uint32, "q": ctypes.c_int64,
          "f": ctypes.c_float, "d": ctypes.c_double}


def available() -> bool:
    """True where g++ is on PATH (the emulator's only requirement)."""
    return shutil.which("g++") is not None


class CpuKernel:
    """One ``extern "C"`` kernel; ``kernel(grid, block, args, shared_mem=0)`` with numpy arrays for pointers."""

    def __init__(self, name: str, launch: Any, signature: str):
        self.name, self._launch, self.signature = name, launch, signature

    def __call__(self, grid: tuple, block: tuple, args: tuple, shared_mem: int = 0) -> None:
        dims = [*grid, 1, 1][:3] + [*block, 1, 1][:3]
        if len(grid) > 3 or len(block) > 3 or min(dims) < 1:
            raise ValueError(f"{self.name}: grid {grid} and block {block} need 1 to 3 positive sizes")
        if dims[3] * dims[4] * dims[5] > 1024:
            raise ValueError(f"{self.name}: a block has at most 1024 threads, got {block}")
        if len(args) != len(self.signature):
            raise TypeError(f"{self.name} takes {len(self.signature)} arguments, got {len(args)}")
        values = []
        for i, (kind, arg) in enumerate(zip(self.signature, args)):
            if kind == "?":
                raise TypeError(f"{self.name}: parameter {i} has a type the emulator cannot pass")
            if kind == "p":
                if not isinstance(arg, np.ndarray):
                    raise TypeError(f"{self.name}: argument {i} is a pointer: pass a numpy array, "
                                    f"got {type(arg).__name__}")
                values.append(ctypes.c_void_p(arg.ctypes.data))
            else:
                values.append(CTYPES[kind](arg.item() if isinstance(arg, np.generic) else arg))
        pointers = (ctypes.c_void_p * max(1, len(values)))(*[ctypes.addressof(v) for v in values])
        status = self._launch((ctypes.c_uint * 6)(*dims), pointers, ctypes.c_size_t(shared_mem))
        if status != 0:
            raise RuntimeError(f"{self.name}: {self._error().decode()}")


class CpuModule:
    """The kernels of one compiled source: ``module.get_function(name)`` as with CuPy's ``RawModule``."""

    def __init__(self, library: Path, names: list[str]):
        self._lib = ctypes.CDLL(str(library))
        self._lib.hyperion_error.restype = ctypes.c_char_p
        self.names = names
        self._kernels: dict[str, CpuKernel] = {}

    def get_function(self, name: str) -> CpuKernel:
        if name in self._kernels:
            return self._kernels[name]
        if name not in self.names:
            raise KeyError(f"no extern \"C\" kernel {name!r} in this module; it has {self.names}")
        launch = getattr(self._lib, f"hyperion_launch_{name}")
        launch.restype = ctypes.c_int
        signature = getattr(self._lib, f"hyperion_signature_{name}")
        signature.restype = ctypes.c_char_p
        kernel = CpuKernel(name, launch, signature().decode())
        kernel._error = self._lib.hyperion_error
        self._kernels[name] = kernel
        return kernel


def load_module(relative: str, **defines: Any) -> CpuModule:
    """One source of this package compiled for the CPU (a skeleton stub is refused first, as on the GPU)."""
    return compile_source(read_source(relative), tuple(sorted(defines.items())))


def get_kernel(relative: str, name: str, **defines: Any) -> CpuKernel:
    """One ``extern "C"`` kernel of a source of this package, compiled for the CPU with ``defines``."""
    return load_module(relative, **defines).get_function(name)


@functools.cache
def _toolchain() -> str:
    return subprocess.run(["g++", "--version"], capture_output=True, text=True, check=True).stdout


def _cache_dir() -> Path:
    path = Path(os.environ.get("HYPERION_CUBIN_CACHE", Path(tempfile.gettempdir()) / "hyperion_cubins")) / "cpu"
    path.mkdir(parents=True, exist_ok=True)
    return path


@functools.cache
def compile_source(source: str, defines: tuple[tuple[str, Any], ...] = ()) -> CpuModule:
    """A kernel source text (it may include this package's headers) compiled for the CPU, cached on disk by
    the source, every header of the package and of the shim, the defines and the g++ version."""
    if not available():
        raise RuntimeError("the CUDA emulator needs g++ on PATH")
    headers = [p.read_bytes() for p in sorted([*KERNEL_ROOT.rglob("*.cuh"), *SHIM.glob("*.h")])]
    key = hashlib.sha256(repr((source, headers, defines, COMPILE, _toolchain())).encode()).hexdigest()[:24]
    library = _cache_dir() / f"{key}.so"
    names_file = library.with_suffix(".names")
    if not (library.is_file() and names_file.is_file()):
        names = _build(source, defines, library)
        tmp = names_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text("\n".join(names), encoding="utf-8")
        tmp.replace(names_file)
    return CpuModule(library, names_file.read_text(encoding="utf-8").split())


def _build(source: str, defines: tuple, library: Path) -> list[str]:
    """Preprocess with the shim, find the kernels and the ``extern __shared__`` arrays, add a launcher per
    kernel, compile. Written under private names and renamed: parallel runs never see half a file."""
    work = library.parent / f"{library.stem}.{os.getpid()}"
    flags = ["g++", "-std=c++17", "-x", "c++", f"-I{SHIM}", f"-I{KERNEL_ROOT}",
             *(f"-D{name}={value}" for name, value in defines)]
    cu, cpp, so = (Path(f"{work}.{ext}") for ext in ("cu", "cpp", "so"))
    cu.write_text(source, encoding="utf-8")
    try:
        text = _run([*flags, "-E", "-include", str(SHIM / "cuda_on_cpu.h"), str(cu)], "preprocessing")
        names = KERNEL_MARK.findall(text)
        text = EXTERN_SHARED.sub(r"\1* const \2 = reinterpret_cast<\1*>(::emu::dynamic_shared());", text)
        text += "".join(
            f'\n{EXPORT} int hyperion_launch_{n}(const unsigned* d, void** a, size_t s) '
            f"{{ return ::emu::launch({n}, d, a, s); }}\n"
            f'{EXPORT} const char* hyperion_signature_{n}() {{ return ::emu::signature({n}); }}\n' for n in names)
        cpp.write_text(text, encoding="utf-8")
        _run(["g++", *COMPILE, str(cpp), "-o", str(so)], "compiling")
        so.replace(library)
    finally:
        for path in (cu, cpp, so):
            path.unlink(missing_ok=True)
    return names


def _run(command: list[str], what: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"g++ failed {what} a kernel for the CPU emulator:\n{done.stderr[-4000:]}")
    return done.stdout
