"""Task 0.5: momentum_descent: heavy-ball and Nesterov iterates on quadratics (and a non-quadratic), plain GD
at zero momentum, the shape of the result; and that acceleration pays off (√κ iterations, not κ).
Expected trajectories are computed in the judge with numpy from the docstring's formulas."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "0.5"
TITLE = "Heavy-ball momentum and Nesterov"
POINTS = 8
TIMEOUT = 60

CONFIGS = [  # (step, momentum, nesterov, iters)
    (0.1, 0.0, False, 5),
    (0.1, 0.9, False, 12),
    (0.05, 0.5, True, 12),
    (0.02, 0.95, True, 30),
    (0.3, 0.3, False, 0),  # no steps: just x0
]


def _problem(seed):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((4, 4))
    return m @ m.T + np.eye(4), rng.standard_normal(4), rng.standard_normal(4)  # A, b, x0


def _reference(a, b, x0, step, momentum, nesterov, iters, grad=None):
    grad = grad or (lambda x: a @ x - b)
    x, prev, out = x0.copy(), x0.copy(), [x0.copy()]
    for _ in range(iters):
        v = momentum * (x - prev)
        if nesterov:
            y = x + v
            nxt = y - step * grad(y)
        else:
            nxt = x - step * grad(x) + v
        prev, x = x, nxt
        out.append(x.copy())
    return np.array(out)


@probe
def quadratic_trajectories():
    from hyperion.foundations.optimization import momentum_descent

    runs = []
    for i, (step, momentum, nesterov, iters) in enumerate(CONFIGS):
        a, b, x0 = _problem(10 + i)
        runs.append(np.asarray(momentum_descent(lambda x, a=a, b=b: a @ x - b, x0, step, momentum, iters,
                                                nesterov=nesterov), dtype=np.float64))
    return runs


def check_quadratic_trajectories(sub, ref):
    for i, ((step, momentum, nesterov, iters), got) in enumerate(zip(CONFIGS, sub, strict=True)):
        a, b, x0 = _problem(10 + i)
        want = _reference(a, b, x0, step, momentum, nesterov, iters)
        what = f"momentum_descent(step={step}, momentum={momentum}, nesterov={nesterov}, iters={iters})"
        assert_true(got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape} "
                    "(every iterate, x0 first)")
        assert_close(got, want, rtol=1e-10, atol=1e-12, name=what)


@probe
def non_quadratic():
    from hyperion.foundations.optimization import momentum_descent

    grad = lambda x: x**3 + np.sin(x)  # noqa: E731
    x0 = np.array([1.2, -0.7, 0.3])
    return {"hb": momentum_descent(grad, x0, 0.05, 0.8, 25),
            "nag": momentum_descent(grad, x0, 0.05, 0.8, 25, nesterov=True)}


def check_non_quadratic(sub, ref):
    grad = lambda x: x**3 + np.sin(x)  # noqa: E731
    x0 = np.array([1.2, -0.7, 0.3])
    for key, nesterov in (("hb", False), ("nag", True)):
        want = _reference(None, None, x0, 0.05, 0.8, nesterov, 25, grad=grad)
        name = "Nesterov (gradient at the look-ahead point)" if nesterov else "heavy ball"
        assert_close(np.asarray(sub[key]), want, rtol=1e-10, atol=1e-12, name=f"{name} on x³ + sin x")


@probe
def acceleration():
    """Iterations to shrink the error 1e6-fold on κ = 400: GD needs ~κ, the accelerated ones ~√κ."""
    from hyperion.foundations.optimization import momentum_descent

    lam = np.linspace(1.0, 400.0, 30)
    grad = lambda x: lam * x  # noqa: E731
    x0 = np.ones(30)
    root = np.sqrt(400.0)
    hb = momentum_descent(grad, x0, 4 / (root + 1) ** 2, ((root - 1) / (root + 1)) ** 2, 400)
    nag = momentum_descent(grad, x0, 1 / 400.0, (root - 1) / (root + 1), 400, nesterov=True)
    return {"hb": np.linalg.norm(hb, axis=1), "nag": np.linalg.norm(nag, axis=1)}


def check_acceleration(sub, ref):
    for key, name in (("hb", "heavy ball"), ("nag", "Nesterov")):
        err = np.asarray(sub[key])
        assert_true(err.shape == (401,), f"{name}: expected 401 iterates, got {err.shape}")
        assert_true(bool(err[-1] < 1e-6 * err[0]), f"{name} with the optimal parameters on κ = 400 did not shrink "
                    f"the error 1e6-fold in 400 steps (GD needs ~2800): {err[-1] / err[0]:.2e}")
