"""The 3D backends run the same update: numba and CUDA against the numpy teaching solver."""

import shutil
import subprocess

import numpy as np
import pytest

from hyperion.physics.backends import BACKENDS, cuda_available, make_solver
from hyperion.physics.sources import GaussianPulse
from hyperion.physics.yee import CourantError

SHAPE = (24, 20, 22)


def _run(backend, dtype, steps=60):
    eps = 1 + np.random.default_rng(0).random(SHAPE)
    solver = make_solver(backend, SHAPE, pml=6, eps=eps, dtype=dtype)
    solver.add_source((12, 10, slice(5, 15)), GaussianPulse.for_band(0.08, 0.05))
    solver.step(steps)
    return solver.ez()


@pytest.fixture(scope="module")
def reference():
    return _run("numpy", np.float64)


def test_numba_matches_numpy(reference):
    assert np.abs(reference).max() > 1e-3
    got = _run("numba", np.float64)
    assert np.abs(got - reference).max() <= 1e-12 * np.abs(reference).max()


@pytest.mark.skipif(not cuda_available(), reason="no CUDA device (CuPy) on this machine")
def test_cuda_matches_numpy(reference):
    got = _run("cuda", np.float32)
    assert np.abs(got - reference).max() <= 1e-5 * np.abs(reference).max()


def test_dispatch_table_and_errors():
    assert set(BACKENDS) == {"numpy", "numba", "cuda"}
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        make_solver("tpu", SHAPE)
    with pytest.raises(CourantError, match="1/sqrt\\(3\\)"):
        make_solver("numpy", SHAPE, courant=0.6)


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH: the CUDA source cannot be compiled here")
def test_cuda_source_compiles_with_nvcc(tmp_path):
    from hyperion.physics.backends import KERNELS

    sources = sorted(KERNELS.glob("*.cu"))
    assert [s.name for s in sources] == ["adjoint3d.cu", "yee3d.cu"]
    for source in sources:
        out = subprocess.run(["nvcc", "-arch=sm_90", "-std=c++17", "-c", str(source), "-o", str(tmp_path / "k.o")],
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
