"""Gradients of the TMz run w.r.t. ε: four methods against each other and against central differences."""

import numpy as np
import pytest

from hyperion.physics import adjoint, tmz
from hyperion.physics.sources import GaussianPulse, PointSource
from hyperion.physics.yee import Simulation
from hyperion.tensor import tensor


def _problem(shape=(30, 26), steps=120, pml=6, omegas=(2 * np.pi * 0.08, 2 * np.pi * 0.06)):
    grid = tmz.TMzGrid.make(shape, courant=0.5, pml=pml)
    source = np.zeros(shape)
    source[12, 13] = 1.0
    monitor = (np.array([20, 21, 18]), np.array([10, 15, 20]))
    return adjoint.TMzProblem(grid, source, GaussianPulse.for_band(0.08, 0.05), steps, monitor, np.array(omegas))


@pytest.fixture(scope="module")
def setup():
    problem = _problem()
    rng = np.random.default_rng(0)
    eps = 1 + rng.random(problem.grid.shape)
    dft, _ = adjoint.run_forward(problem, eps)
    g = rng.standard_normal(dft.shape) + 1j * rng.standard_normal(dft.shape)
    return problem, eps, g


def test_tmz_core_is_the_simulation_update():
    problem = _problem()
    eps = 1 + np.random.default_rng(1).random(problem.grid.shape)
    sim = Simulation(problem.grid.shape, courant=0.5, pml=6, eps=eps)
    sim.sources.append(PointSource((12, 13), problem.waveform))
    state = tmz.zero_state(problem.grid)
    for n in range(60):
        sim.step()
        state = tmz.step(problem.grid, problem.grid.dt / eps, state, problem.current(n))
    assert np.abs(state[0]).max() > 1e-3
    np.testing.assert_allclose(state[0], sim.E[2][:, :, 0], atol=1e-14)


def test_methods_agree_and_match_central_differences(setup):
    problem, eps, g = setup
    grads = {m: adjoint.gradient(problem, eps, g, m) for m in ("store", "checkpoint", "reverse")}
    scale = np.abs(grads["store"]).max()
    for method in ("checkpoint", "reverse"):
        assert np.abs(grads[method] - grads["store"]).max() <= 1e-10 * scale, method

    def loss(e):  # L = Re Σ conj(g) Ẽ: its ∂L/∂Re Ẽ + i ∂L/∂Im Ẽ is g
        return float(np.sum(np.real(np.conj(g) * adjoint.run_forward(problem, e)[0])))

    h = 1e-6
    for cell in [(15, 13), (5, 5), (22, 10), (1, 20)]:  # interior, CPML corner, near monitor, edge
        up, down = eps.copy(), eps.copy()
        up[cell] += h
        down[cell] -= h
        central = (loss(up) - loss(down)) / (2 * h)
        assert abs(central - grads["store"][cell]) <= 1e-4 * scale, cell


def test_oracle_hyperion_autograd_through_the_unrolled_loop(setup):
    problem, eps, g = setup
    problem = _problem(shape=(20, 18), steps=60)
    problem.source[:] = 0
    problem.source[8, 9] = 1.0
    problem.monitor = (np.array([14, 12]), np.array([6, 12]))
    eps = 1 + np.random.default_rng(2).random(problem.grid.shape)
    g = np.array([[1.0 + 0.5j, -0.3 + 2j], [0.2 - 1j, 0.7 + 0.1j]])
    eps_t = tensor(eps, requires_grad=True)
    out = adjoint.unrolled_dft(eps_t, problem)
    (out * tensor(np.stack([g.real, g.imag]))).sum().backward()
    oracle = eps_t.grad.numpy()
    ours = adjoint.gradient(problem, eps, g, "checkpoint")
    assert np.abs(oracle).max() > 0
    np.testing.assert_allclose(ours, oracle, atol=1e-10 * np.abs(oracle).max())
    # and the Function: the same gradient through Hyperion's autograd with TMzFDTD
    eps_f = tensor(eps, requires_grad=True)
    (adjoint.fdtd_dft(eps_f, problem, method="reverse") * tensor(np.stack([g.real, g.imag]))).sum().backward()
    np.testing.assert_allclose(eps_f.grad.numpy(), oracle, atol=1e-10 * np.abs(oracle).max())


def test_frequency_domain_adjoint_within_half_a_percent():
    problem = _problem(shape=(40, 36), steps=700, pml=8, omegas=(2 * np.pi * 0.08,))
    problem.source[:] = 0
    problem.source[10, 18] = 1.0
    problem.monitor = (np.array([30, 30, 29]), np.array([14, 18, 22]))
    eps = np.ones(problem.grid.shape)
    eps[14:26, 12:24] += np.random.default_rng(3).random((12, 12))
    dft, _ = adjoint.run_forward(problem, eps)
    g = 2 * dft  # L = Σ |Ẽ|²
    exact = adjoint.gradient(problem, eps, g, "checkpoint")
    approx = adjoint.gradient_frequency_domain(problem, eps, g, adjoint_steps=900, window=500)
    assert np.abs(approx - exact).max() <= 5e-3 * np.abs(exact).max()


def test_unknown_method_named():
    problem = _problem(steps=4)
    with pytest.raises(ValueError, match="unknown gradient method 'magic'"):
        adjoint.gradient(problem, np.ones(problem.grid.shape), np.zeros((2, 3)), "magic")
