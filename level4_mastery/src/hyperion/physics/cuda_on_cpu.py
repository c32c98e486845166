"""The CUDA kernels of ``kernels/*.cu`` run on the CPU: g++ and a small shim, one C loop per launch.

So a machine without a GPU still checks the CUDA code itself (its indexing, its buffers, the engine's
launch sequence) against the oracle, not only a transliteration of it. The shim defines ``blockIdx``,
``threadIdx`` and the CUDA qualifiers; each ``extern "C" __global__`` kernel gets a ``launch_<name>`` that
runs every (block, thread) one after the other. Races cannot show here (the threads run in order), so this
checks the arithmetic and the buffers, not the absence of races (compute-sanitizer does that on a GPU).
:class:`EmulatedCudaEngine` is the CUDA gradient engine with numpy arrays and these launches.
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

from hyperion.physics.backends import KERNELS
from hyperion.physics.engines3d import CudaEngine

SHIM = """#include <cmath>
struct dim3_ { unsigned x, y, z; };
static dim3_ blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
inline float atomicAdd(float *address, float value) { float old = *address; *address = old + value; return old; }
"""
KERNEL = re.compile(r'extern "C" __global__ void (?:__launch_bounds__\([^)]*\) )?(\w+)\(([^)]*)\)')


def available() -> bool:
    return shutil.which("g++") is not None


def _launcher(name: str, params: str) -> str:
    names = [re.findall(r"\w+", p)[-1] for p in params.split(",")]
    loops = ("for (unsigned z = 0; z < gz; ++z) for (unsigned y = 0; y < gy; ++y) for (unsigned x = 0; x < gx; ++x)"
             " for (unsigned tz = 0; tz < bz; ++tz) for (unsigned ty = 0; ty < by; ++ty)"
             " for (unsigned tx = 0; tx < bx; ++tx)")
    return (f'extern "C" void launch_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, '
            f"unsigned bz, {params}) {{\n  gridDim = {{gx, gy, gz}}; blockDim = {{bx, by, bz}};\n  {loops} {{\n"
            f"    blockIdx = {{x, y, z}}; threadIdx = {{tx, ty, tz}}; {name}({', '.join(names)});\n  }}\n}}\n")


@functools.cache
def build(source_name: str, defines: tuple = ()) -> dict[str, Any]:
    """``{kernel name: callable(grid, block, args)}`` for one .cu file of ``kernels/``, compiled with g++."""
    source = (KERNELS / source_name).read_text(encoding="utf-8")
    kernels = KERNEL.findall(source)
    text = SHIM + "".join(f"#define {k} {v}\n" for k, v in defines) + source + "\n" + "".join(
        _launcher(name, params) for name, params in kernels)
    folder = Path(tempfile.gettempdir()) / "hyperion_cuda_on_cpu"
    folder.mkdir(exist_ok=True)
    library = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.so"
    if not library.exists():  # built under a private name, then renamed: parallel test runs never see half a file
        cpp = library.with_suffix(f".{os.getpid()}.cpp")
        cpp.write_text(text, encoding="utf-8")
        partial = library.with_suffix(f".{os.getpid()}.so")
        out = subprocess.run(["g++", "-O2", "-shared", "-fPIC", "-x", "c++", str(cpp), "-o", str(partial)],
                             capture_output=True, text=True, timeout=300)
        cpp.unlink()
        if out.returncode != 0:
            raise RuntimeError(f"g++ failed on {source_name}:\n{out.stderr[-3000:]}")
        os.replace(partial, library)
    lib = ctypes.CDLL(str(library))
    table = {}
    for name, params in kernels:
        kinds = ["p" if "*" in p else ("f" if "float" in p else "i") for p in params.split(",")]
        table[name] = functools.partial(_launch, getattr(lib, f"launch_{name}"), kinds)
    return table


def _launch(function: Any, kinds: list[str], grid: tuple, block: tuple, args: tuple) -> None:
    if len(args) != len(kinds):
        raise TypeError(f"kernel takes {len(kinds)} arguments, got {len(args)}")
    converted = []
    for kind, arg in zip(kinds, args):
        if kind == "p":
            if not (isinstance(arg, np.ndarray) and arg.flags.c_contiguous):
                raise TypeError("pointer arguments must be C-contiguous numpy arrays")
            converted.append(ctypes.c_void_p(arg.ctypes.data))
        elif kind == "f":
            converted.append(ctypes.c_float(float(arg)))
        else:
            converted.append(ctypes.c_int(int(arg)))
    dims = [ctypes.c_uint(int(v)) for v in (*grid, *block)]
    function(*dims, *converted)


class EmulatedCudaEngine(CudaEngine):
    """:class:`CudaEngine` on numpy arrays with the .cu kernels run by :func:`build` (float32, CPU)."""

    def array_module(self) -> Any:
        return np

    def compile(self, defines: tuple):
        forward, backward = build("yee3d.cu"), build("adjoint3d.cu", defines)
        return forward.__getitem__, backward.__getitem__

    def to_host(self, array: Any) -> np.ndarray:
        return np.asarray(array)
