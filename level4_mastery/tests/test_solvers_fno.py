"""The FNO data solvers verified on their own: ETDRK4's order in time, the Darcy scheme's order in space.

* Burgers: on a smooth initial condition the ETDRK4 error (against a run with a 16x smaller step)
  shrinks about 16x each time ``dt`` halves -- fourth order. The spatial discretisation is the same in
  every run, so only the time error is measured.
* Darcy: a manufactured solution ``u = sin(pi x) sin(pi y)`` with a smooth variable coefficient
  ``a = 1 + x^2 + y``; the maximum error shrinks about 4x each time ``h`` halves -- second order; by the
  sparse direct solve and by the batched preconditioned CG, which must also agree with SuperLU on the
  paper's random coefficients (and produce the same data set through ``generate``).
"""

from __future__ import annotations

import numpy as np
import pytest

import hyperion.tensor as ht
from hyperion.repro.fno import burgers, darcy


def test_etdrk4_is_fourth_order_in_time():
    x = np.arange(128) / 128
    u0 = (np.sin(2 * np.pi * x) + 0.5 * np.cos(4 * np.pi * x) + 0.3)[None]
    reference = burgers.solve(u0, dt=1 / 2560)
    errors = [np.sqrt(np.mean((burgers.solve(u0, dt=dt) - reference) ** 2)) for dt in (1 / 40, 1 / 80, 1 / 160)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 3.6) & (orders < 4.5)), f"errors {errors}, observed orders {orders}"


def test_burgers_conserves_the_mean_and_dissipates_energy():
    u0 = burgers.sample_initial(3, 256, np.random.default_rng(1))
    u1 = burgers.solve(u0, dt=1 / 100)
    np.testing.assert_allclose(u1.mean(axis=1), u0.mean(axis=1), atol=1e-12)
    assert np.all((u1**2).mean(axis=1) < (u0**2).mean(axis=1))


@pytest.mark.parametrize("mean_mode", [False, True])
def test_initial_condition_has_the_papers_spectrum(mean_mode):
    """Mode k of ``u0`` has variance ``625 / (4 pi^2 k^2 + 25)^2`` (estimated from 4000 draws); the mean
    mode only when asked for (the authors' generator leaves it out)."""
    u0 = burgers.sample_initial(4000, 64, np.random.default_rng(2), mean_mode=mean_mode)
    coefficients = np.fft.rfft(u0, axis=1) / 64
    measured = np.mean(np.abs(coefficients) ** 2, axis=0)[:5]
    k = np.arange(5)
    expected = 625 / (4 * np.pi**2 * k**2 + 25) ** 2  # E|c_k|^2 = lambda_k: sqrt(2) (a cos + b sin) -> (a - ib)/sqrt(2)
    if not mean_mode:
        expected[0] = 0.0
    np.testing.assert_allclose(measured, expected, rtol=0.1, atol=1e-12)


def _solve_pcg_one(a, f):
    return darcy.solve_pcg(a[None], f[None], rtol=1e-12).u[0]


@pytest.mark.parametrize("solve", [darcy.solve, _solve_pcg_one], ids=["direct", "pcg"])
def test_darcy_is_second_order_on_a_manufactured_solution(solve):
    errors = []
    for n in (17, 33, 65):
        x = np.linspace(0, 1, n)
        X, Y = np.meshgrid(x, x, indexing="ij")
        a = 1 + X**2 + Y
        u = np.sin(np.pi * X) * np.sin(np.pi * Y)
        ux, uy = np.pi * np.cos(np.pi * X) * np.sin(np.pi * Y), np.pi * np.sin(np.pi * X) * np.cos(np.pi * Y)
        f = -(2 * X * ux + 1.0 * uy - 2 * np.pi**2 * a * u)  # -div(a grad u) = -(a_x u_x + a_y u_y + a lap u)
        errors.append(np.abs(solve(a, f) - u).max())
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all((ratios > 3.6) & (ratios < 4.4)), f"errors {errors}, ratios {ratios}"


def test_darcy_coefficient_takes_the_two_values_and_solution_is_positive():
    a = darcy.sample_coefficient(2, 33, np.random.default_rng(3))
    assert set(np.unique(a)) == {3.0, 12.0}
    u = darcy.solve(a[0])
    assert np.all(u[1:-1, 1:-1] > 0) and np.all(u[0] == 0) and np.all(u[:, -1] == 0)


@pytest.mark.parametrize("m", [1, 5, 31, 40])
def test_nested_dissection_is_a_permutation_with_separators_last(m):
    order = darcy.nested_dissection(m)
    assert np.array_equal(np.sort(order), np.arange(m * m))
    if m > 4:  # the last nodes numbered are the first separator: the middle row, which splits the grid
        assert set(order[-m:]) == set(range((m // 2) * m, (m // 2 + 1) * m))


def test_darcy_solve_in_nested_dissection_order_equals_a_row_major_solve():
    """The reordered matrix is P A P^T of the row-major one: the solution is the same up to rounding."""
    from scipy.sparse.linalg import spsolve

    a = darcy.sample_coefficient(1, 45, np.random.default_rng(5))[0]
    f = np.random.default_rng(6).uniform(0.5, 1.5, a.shape)
    reference = spsolve(darcy.operator(a).tocsc(), f[1:-1, 1:-1].ravel()).reshape(43, 43)
    u = darcy.solve(a, f)
    np.testing.assert_allclose(u[1:-1, 1:-1], reference, rtol=1e-10, atol=1e-14 * np.abs(reference).max())
    order = darcy.nested_dissection(43)
    permuted = darcy.operator(a, order).toarray()
    assert np.array_equal(permuted, darcy.operator(a).toarray()[np.ix_(order, order)])


def test_matrix_free_stencil_equals_the_sparse_matrix():
    a = darcy.sample_coefficient(3, 21, np.random.default_rng(7))
    u = np.random.default_rng(8).standard_normal((3, 19, 19))
    product = darcy.apply_stencil(u, darcy.stencil_coefficients(a))
    for i in range(3):
        expected = darcy.operator(a[i]) @ u[i].ravel()
        np.testing.assert_allclose(product[i].ravel(), expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


def test_poisson_inverse_inverts_the_laplacian():
    """The preconditioner: sine transforms invert the 5-point Laplacian (``operator`` of a = 1) exactly."""
    r = np.random.default_rng(9).standard_normal((2, 30, 30))
    z = darcy.poisson_inverse(r)
    laplacian = darcy.operator(np.ones((32, 32)))
    for i in range(2):
        np.testing.assert_allclose(laplacian @ z[i].ravel(), r[i].ravel(), rtol=1e-10, atol=1e-10)


def test_batched_pcg_agrees_with_superlu_at_61():
    """Eight random coefficient fields of the paper's kind, f = 1, and one with a random f: the batched
    PCG (relative residual 1e-10) against SuperLU, and the iteration count the preconditioner promises
    (condition number <= 4: about 22 measured; Jacobi takes about 250 here)."""
    a = darcy.sample_coefficient(8, 61, np.random.default_rng(10))
    f = np.ones((8, 61, 61))
    f[-1] = np.random.default_rng(11).uniform(-1.0, 2.0, (61, 61))
    solution = darcy.solve_pcg(a, f)
    reference = np.stack([darcy.solve(a[i], f[i]) for i in range(8)])
    difference = np.abs(solution.u - reference).max(axis=(1, 2)) / np.abs(reference).max(axis=(1, 2))
    assert difference.max() < 1e-8, f"relative differences to SuperLU {difference}"
    assert np.all(solution.relative_residual <= 1e-10), solution.relative_residual
    assert np.all(solution.iterations < 40), solution.iterations
    assert np.all(solution.u[:, 0] == 0) and np.all(solution.u[:, :, -1] == 0)


def test_generate_with_pcg_gives_the_direct_data_set():
    log = []
    a_direct, u_direct = darcy.generate(5, 41, 2, seed=3, chunk=3)
    a_pcg, u_pcg = darcy.generate(5, 41, 2, seed=3, chunk=3, solver="pcg", log=log)
    assert np.array_equal(a_direct, a_pcg) and u_pcg.shape == u_direct.shape == (5, 21, 21)
    assert u_pcg.dtype == np.float32
    np.testing.assert_allclose(u_pcg, u_direct, rtol=1e-5, atol=1e-6 * np.abs(u_direct).max())
    assert [entry["samples"] for entry in log] == [3, 2] and max(log[0]["iterations"]) < 40


@pytest.mark.skipif(not ht.cuda_is_available(), reason="needs CuPy and an NVIDIA GPU")
def test_batched_pcg_on_cupy_equals_numpy():
    import cupy

    a = darcy.sample_coefficient(4, 61, np.random.default_rng(13))
    on_gpu = darcy.solve_pcg(cupy.asarray(a), xp=cupy)
    on_cpu = darcy.solve_pcg(a)
    np.testing.assert_allclose(on_gpu.u.get(), on_cpu.u, rtol=0, atol=1e-11 * np.abs(on_cpu.u).max())
    assert np.all(np.abs(on_gpu.iterations - on_cpu.iterations) <= 1)


def test_pcg_says_when_it_did_not_converge():
    a = darcy.sample_coefficient(2, 33, np.random.default_rng(12))
    with pytest.raises(RuntimeError, match="still above relative residual"):
        darcy.solve_pcg(a, max_iterations=3)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="whole number of steps"):
        burgers.solve(np.zeros((1, 8)), dt=0.3)
    with pytest.raises(ValueError, match="square grid"):
        darcy.operator(np.ones((4, 5)))
    with pytest.raises(ValueError, match="square grid"):
        darcy.solve(np.ones((2, 2)))
    with pytest.raises(ValueError, match="batch of square grids"):
        darcy.solve_pcg(np.ones((5, 5)))
    with pytest.raises(ValueError, match="must be positive"):
        darcy.solve_pcg(np.zeros((1, 5, 5)))
    with pytest.raises(ValueError, match="solver must be one of"):
        darcy.generate(1, 9, 1, seed=0, solver="cg")
