"""Optimisation theory, measured: GD rates, divergence past 2/L, √κ acceleration, landscapes, ISTA/FISTA."""

import numpy as np
import pytest

from hyperion.foundations import gradcheck
from hyperion.foundations import optimization as opt


def test_quadratic_gradient_and_spectrum():
    q = opt.make_quadratic(50.0, dim=6, seed=3)
    x = np.random.default_rng(0).standard_normal(6)
    assert gradcheck(lambda x: q(x), [x], [q.grad(x)])
    np.testing.assert_allclose(np.linalg.eigvalsh(q.a), np.sort(q.eigenvalues), rtol=1e-10)
    assert q.kappa == pytest.approx(50.0)
    np.testing.assert_allclose(q.grad(q.minimizer), 0.0, atol=1e-10)


def test_gd_rate_matches_theory_for_both_steps():
    # the measured contraction per step is at most the theory's (a bound) and within 10% of it in 1 - rate
    for row in opt.gd_rate_experiment(kappas=(10.0, 30.0, 100.0))["rows"]:
        for name in ("one_over_L", "optimal"):
            measured, theory = row[name]["measured"], row[name]["theory"]
            assert measured <= theory + 1e-9, (row["kappa"], name, measured, theory)
            assert 1 - measured <= 1.1 * (1 - theory), (row["kappa"], name, measured, theory)


def test_optimal_step_beats_one_over_L():
    for row in opt.gd_rate_experiment(kappas=(10.0, 100.0))["rows"]:
        assert row["optimal"]["measured"] < row["one_over_L"]["measured"]


def test_gd_diverges_past_two_over_L_at_the_predicted_rate():
    result = opt.step_size_experiment(multiples=(0.5, 0.99, 1.01, 1.2))
    for row in result["rows"]:
        assert row["measured"] <= row["theory"] * (1 + 1e-9), row["multiple"]  # max |1 - αλ| bounds it
        if row["multiple"] > 1:  # the growing direction (λ = L) soon dominates: the bound is reached
            assert row["measured"] == pytest.approx(row["theory"], rel=2e-3), row["multiple"]
            assert row["measured"] > 1 and row["errors"][-1] > 2 * row["errors"][len(row["errors"]) // 2]
        else:
            assert row["measured"] < 1 and row["errors"][-1] < row["errors"][0]


def test_momentum_descent_with_zero_momentum_is_gradient_descent():
    q = opt.make_quadratic(10.0, dim=5)
    x0 = np.ones(5)
    gd = opt.gradient_descent(q.grad, x0, 0.05, 30)
    for nesterov in (False, True):
        np.testing.assert_allclose(opt.momentum_descent(q.grad, x0, 0.05, 0.0, 30, nesterov), gd, rtol=1e-12)


def test_momentum_descent_first_steps_by_hand():
    grad = lambda x: 2 * x  # noqa: E731  f = |x|²
    x0 = np.array([1.0, -2.0])
    hb = opt.momentum_descent(grad, x0, 0.1, 0.5, 2)
    x1 = x0 - 0.2 * x0
    np.testing.assert_allclose(hb[1], x1)
    np.testing.assert_allclose(hb[2], x1 - 0.2 * x1 + 0.5 * (x1 - x0))
    nag = opt.momentum_descent(grad, x0, 0.1, 0.5, 2, nesterov=True)
    y1 = x1 + 0.5 * (x1 - x0)
    np.testing.assert_allclose(nag[2], y1 - 0.2 * y1)


def test_heavy_ball_rate_is_sqrt_kappa_rate():
    q = opt.make_quadratic(100.0, dim=20)
    step, beta = opt.heavy_ball_parameters(q.mu, q.L)
    errors = np.linalg.norm(opt.momentum_descent(q.grad, np.zeros(20), step, beta, 120) - q.minimizer, axis=1)
    theory = (np.sqrt(q.kappa) - 1) / (np.sqrt(q.kappa) + 1)
    # a double eigenvalue of the iteration matrix: error ~ k·r^k, so the measured rate sits slightly above
    assert theory <= opt.measured_rate(errors, 60) <= theory + 0.01


def test_accelerated_iterations_scale_like_sqrt_kappa():
    result = opt.acceleration_experiment(kappas=(10.0, 100.0, 1000.0))
    slopes = result["slopes"]
    assert slopes["gd"] == pytest.approx(1.0, abs=0.1)
    assert slopes["heavy_ball"] == pytest.approx(0.5, abs=0.1)
    assert slopes["nesterov"] == pytest.approx(0.5, abs=0.1)
    for row in result["rows"]:
        assert min(row["gd"], row["heavy_ball"], row["nesterov"]) > 0, row  # each reached the tolerance
        # the speed-up over GD grows like √κ
        assert min(row["gd"] / row["heavy_ball"], row["gd"] / row["nesterov"]) > 0.3 * np.sqrt(row["kappa"])


def test_momentum_descent_rejects_bad_arguments():
    grad = lambda x: x  # noqa: E731
    with pytest.raises(ValueError, match="momentum"):
        opt.momentum_descent(grad, np.ones(2), 0.1, 1.0, 5)
    with pytest.raises(ValueError, match="step"):
        opt.momentum_descent(grad, np.ones(2), 0.0, 0.5, 5)
    with pytest.raises(ValueError, match="x0"):
        opt.momentum_descent(grad, np.ones((2, 2)), 0.1, 0.5, 5)


def test_landscape_gradients_are_right():
    p = np.array([0.3, -0.7])
    for f, g in ((opt.convex_bowl, opt.convex_bowl_grad), (opt.double_well, opt.double_well_grad)):
        assert gradcheck(lambda p, f=f: float(f(p)), [p], [g(p)])


def test_convex_landscape_has_one_end_point_non_convex_two_by_basin():
    result = opt.landscape_experiment(starts=60, iters=1500)
    np.testing.assert_allclose(result["convex"], np.tile([1.0, 0.0], (60, 1)), atol=1e-6)
    ends = result["double_well"]
    np.testing.assert_allclose(np.abs(ends[:, 0]), 1.0, atol=1e-6)
    np.testing.assert_allclose(ends[:, 1], 0.0, atol=1e-6)
    # each start rolls into the well on its own side of the saddle: the answer depends on the start
    np.testing.assert_array_equal(np.sign(ends[:, 0]), np.sign(result["starts"][:, 0]))
    assert 0 < np.sum(ends[:, 0] > 0) < 60


def test_soft_threshold_is_the_prox_of_the_l1_norm():
    x = np.array([-3.0, -0.5, 0.0, 0.2, 1.5])
    np.testing.assert_array_equal(opt.soft_threshold(x, 1.0), [-2.0, 0.0, 0.0, 0.0, 0.5])
    # the prox minimises ½(z - x)² + t|z| elementwise: compare with a fine grid search
    z = np.linspace(-4, 4, 80001)
    for xi in x:
        best = z[np.argmin(0.5 * (z - xi) ** 2 + 0.7 * np.abs(z))]
        assert opt.soft_threshold(np.array([xi]), 0.7)[0] == pytest.approx(best, abs=1e-4)
    with pytest.raises(ValueError, match="threshold"):
        opt.soft_threshold(x, -1.0)


def test_fista_satisfies_the_lasso_kkt_conditions():
    a, b, lam, _ = opt.make_lasso(seed=1)
    x, objectives = opt.fista(a, b, lam, 2000)
    assert opt.lasso_kkt_violation(a, b, lam, x) < 1e-6
    assert 0 < np.count_nonzero(x) < x.size  # sparse, not trivially zero
    assert opt.lasso_kkt_violation(a, b, lam, np.zeros_like(x)) > 1e-2  # the check can fail


def test_lasso_solution_agrees_with_scipy():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    a, b, lam, _ = opt.make_lasso(m=30, n=50, seed=2)
    n = a.shape[1]

    def split(uv):  # x = u - v with u, v >= 0 makes the objective smooth
        r = a @ (uv[:n] - uv[n:]) - b
        g = a.T @ r
        return 0.5 * r @ r + lam * uv.sum(), np.concatenate([g + lam, -g + lam])

    res = scipy_optimize.minimize(split, np.zeros(2 * n), jac=True, method="L-BFGS-B",
                                  bounds=[(0, None)] * (2 * n), options={"ftol": 1e-15, "gtol": 1e-12})
    x_scipy = res.x[:n] - res.x[n:]
    x, _ = opt.fista(a, b, lam, 3000)
    np.testing.assert_allclose(x, x_scipy, atol=1e-5)
    assert opt.lasso_objective(a, b, lam, x) <= opt.lasso_objective(a, b, lam, x_scipy) + 1e-12


def test_ista_and_fista_obey_their_convergence_bounds():
    a, b, lam, _ = opt.make_lasso(seed=0)
    x_star, _ = opt.fista(a, b, lam, 3000)
    f_star = opt.lasso_objective(a, b, lam, x_star)
    lipschitz = np.linalg.norm(a, 2) ** 2
    _, obj_ista = opt.ista(a, b, lam, 200)
    _, obj_fista = opt.fista(a, b, lam, 200)
    k = np.arange(1, 201)
    assert np.all(obj_ista[1:] - f_star <= lipschitz * (x_star @ x_star) / (2 * k) + 1e-12)  # O(1/k)
    assert np.all(obj_fista[1:] - f_star <= 2 * lipschitz * (x_star @ x_star) / (k + 1) ** 2 + 1e-12)  # O(1/k²)
    assert np.all(np.diff(obj_ista) <= 1e-12)  # ISTA is a descent method, FISTA need not be
    assert obj_fista[50] - f_star < (obj_ista[50] - f_star) / 10


def test_ista_reaches_the_same_solution():
    a, b, lam, _ = opt.make_lasso(seed=1)
    x_ista, _ = opt.ista(a, b, lam, 4000)
    assert opt.lasso_kkt_violation(a, b, lam, x_ista) < 1e-6
    with pytest.raises(ValueError, match="A must be"):
        opt.ista(a, b[:-1], lam, 10)
