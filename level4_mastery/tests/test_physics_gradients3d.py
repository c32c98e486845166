"""3D gradients w.r.t. the interior ε: time reversal and checkpointing on every backend, against Hyperion's
autograd through the unrolled loop and against central differences on 32³ in float64."""

import numpy as np
import pytest

from hyperion.physics import cuda_on_cpu, grad3d
from hyperion.physics.backends import cuda_available
from hyperion.physics.sources import GaussianPulse
from hyperion.physics.unrolled3d import unrolled_dft3d
from hyperion.tensor import tensor

OMEGAS = np.array([2 * np.pi * 0.08, 2 * np.pi * 0.06])


def _problem(shape=(14, 13, 12), pml=3, steps=40):
    monitor = (np.array([5, 9, 8, 1]), np.array([8, 5, 4, 6]), np.array([6, 7, 8, 5]))  # the last one in the CPML
    return grad3d.Problem3D(shape, pml, (7, 6, slice(4, 7)), GaussianPulse.for_band(0.08, 0.05), steps, monitor,
                            OMEGAS)


@pytest.fixture(scope="module")
def oracle():
    """Hyperion's autograd through the unrolled loop: (problem, ε, g, DFT, ∂L/∂ε) with L = Re Σ ḡ Ẽ."""
    problem = _problem()
    rng = np.random.default_rng(0)
    eps = 1 + rng.random(problem.interior_shape)
    leaf = tensor(eps, requires_grad=True)
    out = unrolled_dft3d(leaf, problem)
    g = rng.standard_normal((2, OMEGAS.size, 4))
    (out * tensor(g)).sum().backward()
    values = out.detach().numpy()
    return problem, eps, g[0] + 1j * g[1], values[0] + 1j * values[1], np.asarray(leaf.grad)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("method", grad3d.METHODS)
def test_gradient_matches_unrolled_autograd(oracle, backend, method):
    problem, eps, g, dft, expected = oracle
    got_dft, _ = grad3d.run_forward(problem, eps, backend)
    assert np.abs(dft).max() > 1e-3
    assert np.abs(got_dft - dft).max() <= 1e-12 * np.abs(dft).max()
    got = grad3d.gradient(problem, eps, g, backend, method)
    assert np.abs(got - expected).max() <= 1e-9 * np.abs(expected).max()  # the issue asks ≤ 0.5 %


def test_gradient_left_on_the_device_is_the_host_gradient(oracle):
    """``to_host=False`` keeps ∂L/∂ε in the engine's array type and dtype; its values are the host gradient's."""
    problem, eps, g, _, expected = oracle
    kept = grad3d.run_forward(problem, eps, "numba", keep="reverse", dtype=np.float32)[1]
    got = grad3d.gradient(problem, eps, g, "numba", "reverse", kept, to_host=False)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-3 * np.abs(expected).max()


def test_function_backward_is_the_gradient(oracle):
    problem, eps, g, _, expected = oracle
    leaf = tensor(eps, requires_grad=True)
    out = grad3d.fdtd3d_dft(leaf, problem, method="checkpoint", backend="numba")
    (out * tensor(np.stack([g.real, g.imag]))).sum().backward()
    assert np.abs(np.asarray(leaf.grad) - expected).max() <= 1e-9 * np.abs(expected).max()


def test_central_differences_32_cubed_float64():
    """32³ (CPML 6), 60 steps, numba fp64: the time-reversal gradient against central differences."""
    problem = grad3d.Problem3D((32, 32, 32), 6, (16, slice(10, 22), slice(10, 22)), GaussianPulse.for_band(0.08, 0.05),
                               60, (np.array([22, 12]), np.array([16, 20]), np.array([16, 9])), OMEGAS)
    rng = np.random.default_rng(1)
    eps = 1 + rng.random(problem.interior_shape)
    dft, _ = grad3d.run_forward(problem, eps, "numba")
    g = 2 * dft  # L = Σ |Ẽ|²
    grad = grad3d.gradient(problem, eps, g, "numba", "reverse")

    def loss(e):
        return float(np.sum(np.abs(grad3d.run_forward(problem, e, "numba")[0]) ** 2))

    h = 1e-5
    largest = np.unravel_index(np.argmax(np.abs(grad)), grad.shape)
    for cell in [largest, (4, 10, 10), (0, 0, 0), (19, 2, 15)]:  # largest, near the source, corner, near a face
        up, down = eps.copy(), eps.copy()
        up[cell] += h
        down[cell] -= h
        central = (loss(up) - loss(down)) / (2 * h)
        assert abs(central - grad[cell]) <= 1e-4 * np.abs(grad).max(), (cell, central, grad[cell])


@pytest.mark.skipif(not cuda_available(), reason="no CUDA device (CuPy) on this machine")
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("method", grad3d.METHODS)
def test_cuda_float32_matches_the_oracle(oracle, method, kernel, monkeypatch):
    from hyperion.physics.engines3d import CudaEngine

    monkeypatch.setattr(CudaEngine, "kernel", kernel)
    problem, eps, g, dft, expected = oracle
    got_dft, _ = grad3d.run_forward(problem, eps, "cuda")
    assert np.abs(got_dft - dft).max() <= 1e-4 * np.abs(dft).max()
    got = grad3d.gradient(problem, eps, g, "cuda", method)
    assert np.abs(got - expected).max() <= 5e-3 * np.abs(expected).max()


@pytest.mark.skipif(not cuda_on_cpu.available(), reason="g++ is not on PATH: the .cu kernels cannot run on the CPU")
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("method", grad3d.METHODS)
def test_cuda_kernels_run_on_the_cpu_match_the_oracle(oracle, method, kernel, monkeypatch):
    """The .cu code itself (g++ and a shim, threads one after the other) through the CUDA engine, in float32."""
    from hyperion.physics import engines3d

    monkeypatch.setattr(engines3d.CudaEngine, "kernel", kernel)
    monkeypatch.setitem(engines3d.ENGINES, "cuda", cuda_on_cpu.EmulatedCudaEngine)
    problem, eps, g, dft, expected = oracle
    got_dft, _ = grad3d.run_forward(problem, eps, "cuda")
    assert np.abs(got_dft - dft).max() <= 1e-5 * np.abs(dft).max()
    got = grad3d.gradient(problem, eps, g, "cuda", method)
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()


@pytest.mark.skipif(not cuda_on_cpu.available(), reason="g++ is not on PATH: the .cu kernels cannot run on the CPU")
@pytest.mark.parametrize(("kernel", "march"), [(6, 8), (7, 8), (8, 4), (8, 5)])
@pytest.mark.parametrize("method", grad3d.METHODS)
def test_dense_numbering_kernels_cover_several_blocks(method, kernel, march, monkeypatch):
    """Kernels 6-7 number core blocks and outer cells themselves: on a grid whose core spans 3 blocks in k and 5 in j
    (the oracle's grid fits in one), fields reaching the last core cells, run on the CPU in float32, against the
    numba engine in float64. Kernel 8 with runs of 4 or 5 of the core's 6 planes: a run ends inside the core."""
    from hyperion.physics import engines3d

    problem = grad3d.Problem3D((16, 44, 70), 4, (8, slice(8, 36), slice(10, 62)), GaussianPulse.for_band(0.08, 0.05),
                               24, (np.array([8, 6, 3]), np.array([36, 12, 2]), np.array([63, 33, 30])), OMEGAS)
    eps = 1 + np.random.default_rng(2).random(problem.interior_shape)
    g = np.random.default_rng(3).standard_normal((OMEGAS.size, 3)) * (1 + 1j)
    expected = grad3d.gradient(problem, eps, g, "numba", method)
    monkeypatch.setattr(engines3d.CudaEngine, "kernel", kernel)
    monkeypatch.setattr(engines3d.CudaEngine, "march", march)
    monkeypatch.setitem(engines3d.ENGINES, "cuda", cuda_on_cpu.EmulatedCudaEngine)
    got = grad3d.gradient(problem, eps, g, "cuda", method)
    assert np.abs(expected).max() > 0
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()


@pytest.mark.skipif(not cuda_on_cpu.available(), reason="g++ is not on PATH: the .cu kernels cannot run on the CPU")
def test_an_engine_keeps_the_adjoint_kernel_it_was_made_with(oracle, monkeypatch):
    """The benchmark makes one engine per kernel up front: a later change of CudaEngine.kernel must not reach them."""
    from hyperion.physics import engines3d

    problem, eps, g, _, expected = oracle
    monkeypatch.setitem(engines3d.ENGINES, "cuda", cuda_on_cpu.EmulatedCudaEngine)
    monkeypatch.setattr(engines3d.CudaEngine, "kernel", 8)
    engine = problem.engine("cuda", eps)
    monkeypatch.setattr(engines3d.CudaEngine, "kernel", 4)
    _, kept = grad3d.run_forward(problem, eps, "cuda", keep="reverse", engine=engine)
    got = grad3d.gradient(problem, eps, g, "cuda", "reverse", kept)
    assert engine.kernel == 8
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()


def test_gradient_benchmark_warms_every_run_then_times_rounds(tmp_path):
    """bench_grad3d on numpy at 24³: every row has one sample a round, the parts add up, the methods agree."""
    import json

    from hyperion.physics import bench_grad3d

    out = tmp_path / "grad.json"
    assert bench_grad3d.main(["--backend", "numpy", "--size", "24", "--steps", "6", "--repeats", "2",
                              "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert list(rows) == ["forward, plain solver", "forward, gradient engine (samples monitors)", "gradient, reverse",
                          "gradient, checkpoint"]
    assert all(len(row["samples"]) == 2 for row in rows.values())
    for name in ("gradient, reverse", "gradient, checkpoint"):
        for sample in rows[name]["samples"]:
            assert sample["seconds"] == pytest.approx(sample["forward_part"] + sample["backward_part"])
            assert sample["to_host"] >= 0.0  # the copy to float64 numpy, timed apart
    assert result["apart"]["checkpoint"]["max_rel"] <= 1e-12
    with pytest.raises(SystemExit):
        bench_grad3d.main(["--backend", "numpy", "--repeats", "0"])


def test_bad_input_is_refused():
    problem = _problem()
    eps = np.ones(problem.interior_shape)
    with pytest.raises(ValueError, match="interior ε must have shape"):
        grad3d.run_forward(problem, np.ones(problem.shape))
    with pytest.raises(ValueError, match="positive"):
        grad3d.run_forward(problem, -eps)
    with pytest.raises(ValueError, match="unknown gradient method 'adjoint'"):
        grad3d.gradient(problem, eps, np.ones((2, 4)), method="adjoint")
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        grad3d.run_forward(problem, eps, "tpu")
    outside = grad3d.Problem3D(problem.shape, 3, (1, 6, 6), problem.waveform, 10, problem.monitor, OMEGAS)
    with pytest.raises(ValueError, match="source region .* inside the interior"):
        grad3d.run_forward(outside, eps)
