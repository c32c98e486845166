"""Is there a GPU here, and which one: name, driver, CUDA version, memory, SM count, commit measured on."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from hyperion.tensor.cuda_build import cupy_module


@functools.cache
def gpu_available() -> tuple[bool, str]:
    """``(True, "")`` when CuPy imports and sees a CUDA device, else ``(False, why not)``."""
    try:
        cupy = cupy_module()
    except ImportError as exc:
        return False, f"CuPy is not installed ({exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - any driver error means "no usable GPU"
        return False, f"no usable CUDA device ({type(exc).__name__}: {exc})"
    if count == 0:
        return False, "CuPy sees no CUDA device"
    return True, ""


def require_gpu() -> None:
    """Raise RuntimeError naming the reason when there is no usable GPU."""
    ok, why = gpu_available()
    if not ok:
        raise RuntimeError(f"this needs an NVIDIA GPU with CuPy: {why}")


def _commit() -> str:
    """``$HYPERION_COMMIT`` if set (the GPU machine gets a copy of the tree without .git), else git's."""
    import os

    if os.environ.get("HYPERION_COMMIT"):
        return os.environ["HYPERION_COMMIT"]
    root = Path(__file__).resolve().parents[4]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return (
            out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
            if out.returncode == 0
            else "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def gpu_info() -> dict:
    """Facts about device 0 for a report: name, SMs, memory, L2, driver and runtime versions, commit."""
    cupy = cupy_module()

    require_gpu()
    props = cupy.cuda.runtime.getDeviceProperties(0)
    driver = "unknown"
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        driver = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else driver
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    name = props["name"]
    return {
        "name": name.decode() if isinstance(name, bytes) else str(name),
        "sm_count": int(props["multiProcessorCount"]),
        "compute_capability": f"{props['major']}.{props['minor']}",
        "memory_gib": round(props["totalGlobalMem"] / 2**30, 1),
        "l2_mib": round(props["l2CacheSize"] / 2**20, 1),
        "driver": driver,
        "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
        "cupy": cupy.__version__,
        "commit": _commit(),
    }
