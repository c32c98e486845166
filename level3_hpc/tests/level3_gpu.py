"""Shared by the GPU tests: skip the module cleanly (with the reason) where there is no GPU."""

from __future__ import annotations

import pytest

from hyperion.runtime.device import gpu_available


def skip_without_gpu() -> None:
    ok, why = gpu_available()
    if not ok:
        pytest.skip(f"level-3 GPU tests need an NVIDIA GPU and CuPy: {why}", allow_module_level=True)


def rel_err(out, ref) -> float:
    import numpy as np

    out, ref = np.asarray(out, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert np.isfinite(out).all(), "output has NaN/inf (an element was not written?)"
    return float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-300))
