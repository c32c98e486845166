"""Optimisation experiments: gradient descent and its accelerations, measured against their theory.

On a quadratic ``f(x) = ½ xᵀAx - bᵀx`` with eigenvalues of ``A`` in ``[μ, L]`` (condition number
``κ = L/μ``), the error of gradient descent with step ``α`` contracts along each eigenvector by
``|1 - αλ|`` per step. So:

- step ``1/L`` converges at rate ``1 - 1/κ``; the best fixed step ``2/(L+μ)`` at ``(κ-1)/(κ+1)``;
- any step above ``2/L`` makes ``|1 - αL| > 1``: the iteration diverges;
- heavy-ball momentum and Nesterov's method reach rates near ``1 - 1/√κ``, so the number of
  iterations to a tolerance grows like ``√κ`` instead of ``κ``.

Beyond quadratics: convex vs. non-convex landscapes (where GD ends depends on where it starts), and the
proximal gradient methods ISTA and FISTA for the lasso, whose solution is checked by its KKT conditions.
Every experiment returns its measurements as plain numbers and arrays; the notebook
``site/docs/notebooks/l0_optimization.py`` draws them and ``tests/test_optimization.py`` asserts the theory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "Quadratic",
    "make_quadratic",
    "gradient_descent",
    "momentum_descent",
    "heavy_ball_parameters",
    "nesterov_parameters",
    "measured_rate",
    "iterations_to_tolerance",
    "gd_rate_experiment",
    "step_size_experiment",
    "acceleration_experiment",
    "landscape_experiment",
    "soft_threshold",
    "ista",
    "fista",
    "lasso_objective",
    "lasso_kkt_violation",
    "make_lasso",
    "lasso_experiment",
]

Grad = Callable[[np.ndarray], np.ndarray]


# ---- quadratics ---------------------------------------------------------------------------------
class Quadratic:
    """``f(x) = ½ xᵀAx - bᵀx`` with a symmetric positive definite ``A`` of known spectrum."""

    def __init__(self, a: np.ndarray, b: np.ndarray, eigenvalues: np.ndarray) -> None:
        self.a, self.b, self.eigenvalues = a, b, eigenvalues
        self.mu, self.L = float(eigenvalues.min()), float(eigenvalues.max())
        self.kappa = self.L / self.mu
        self.minimizer = np.linalg.solve(a, b)

    def __call__(self, x: np.ndarray) -> float:
        return float(0.5 * x @ self.a @ x - self.b @ x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.a @ x - self.b


def make_quadratic(kappa: float, dim: int = 40, seed: int = 0) -> Quadratic:
    """A random rotation of ``diag(λ)``, ``λ`` log-spaced in ``[1, κ]`` (both ends included)."""
    if kappa < 1:
        raise ValueError(f"make_quadratic: the condition number must be >= 1, got {kappa}")
    if dim < 2:
        raise ValueError(f"make_quadratic: dim must be >= 2, got {dim}")
    rng = np.random.default_rng(seed)
    eigenvalues = np.logspace(0.0, np.log10(kappa), dim)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    a = (q * eigenvalues) @ q.T
    return Quadratic((a + a.T) / 2, rng.standard_normal(dim), eigenvalues)


# ---- the methods --------------------------------------------------------------------------------
def _check_run(x0: np.ndarray, step: float, iters: int, who: str) -> np.ndarray:
    if not step > 0:
        raise ValueError(f"{who}: the step must be positive, got {step}")
    if not isinstance(iters, (int, np.integer)) or iters < 0:
        raise ValueError(f"{who}: iters must be a non-negative integer, got {iters!r}")
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 1:
        raise ValueError(f"{who}: x0 must be a 1-D vector, got shape {x0.shape}")
    return x0


def gradient_descent(grad: Grad, x0: np.ndarray, step: float, iters: int) -> np.ndarray:
    """Iterates ``x_{k+1} = x_k - step·grad(x_k)``, shape ``(iters + 1, n)`` (``x0`` first)."""
    x = _check_run(x0, step, iters, "gradient_descent").copy()
    out = np.empty((iters + 1, x.size))
    out[0] = x
    for k in range(iters):
        x = x - step * grad(x)
        out[k + 1] = x
    return out


def momentum_descent(
    grad: Grad, x0: np.ndarray, step: float, momentum: float, iters: int, nesterov: bool = False
) -> np.ndarray:
    """Task 0.5: gradient descent with heavy-ball momentum, or Nesterov's accelerated gradient.

    Heavy ball (Polyak): ``x_{k+1} = x_k - step·grad(x_k) + momentum·(x_k - x_{k-1})``.
    Nesterov: look ahead first, ``y_k = x_k + momentum·(x_k - x_{k-1})``, then
    ``x_{k+1} = y_k - step·grad(y_k)``. Both start with ``x_{-1} = x_0`` (no velocity).
    Return every iterate, shape ``(iters + 1, n)`` with ``x0`` first. Why: the remembered direction
    averages out the zig-zag across a narrow valley, so the iterations needed grow like ``√κ``, not ``κ``.
    ``momentum`` must lie in ``[0, 1)`` (``ValueError`` otherwise); ``momentum = 0`` is plain GD.
    """
    x0 = _check_run(x0, step, iters, "momentum_descent")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum_descent: momentum must be in [0, 1), got {momentum}")
    # BEGIN SOLUTION
    out = np.empty((iters + 1, x0.size))
    out[0] = x0
    x, previous = x0.copy(), x0.copy()
    for k in range(iters):
        velocity = momentum * (x - previous)
        if nesterov:
            y = x + velocity
            new = y - step * grad(y)
        else:
            new = x - step * grad(x) + velocity
        previous, x = x, new
        out[k + 1] = x
    return out
    # END SOLUTION


def heavy_ball_parameters(mu: float, L: float) -> tuple[float, float]:
    """Polyak's optimal (step, momentum) for a quadratic: rate ``(√κ-1)/(√κ+1)``."""
    sq_mu, sq_l = np.sqrt(mu), np.sqrt(L)
    return 4.0 / (sq_l + sq_mu) ** 2, ((sq_l - sq_mu) / (sq_l + sq_mu)) ** 2


def nesterov_parameters(mu: float, L: float) -> tuple[float, float]:
    """Nesterov's (step, momentum) for a μ-strongly convex, L-smooth function: rate ``≈ 1 - 1/√κ``."""
    root = np.sqrt(L / mu)
    return 1.0 / L, (root - 1.0) / (root + 1.0)


# ---- measuring ----------------------------------------------------------------------------------
def measured_rate(errors: np.ndarray, window: int) -> float:
    """Geometric mean contraction of ``errors`` over its last ``window`` steps."""
    errors = np.asarray(errors, dtype=np.float64)
    if not 0 < window < errors.size:
        raise ValueError(f"measured_rate: window must be in (0, {errors.size}), got {window}")
    start, end = errors[-1 - window], errors[-1]
    return float((end / start) ** (1.0 / window))


def iterations_to_tolerance(errors: np.ndarray, tol: float) -> int:
    """First ``k`` with ``errors[j] <= tol · errors[0]`` for every ``j >= k`` (``-1``: never)."""
    relative = np.asarray(errors) / errors[0]
    above = np.nonzero(relative > tol)[0]
    if above.size == 0:
        return 0
    k = int(above[-1]) + 1
    return k if k < relative.size else -1


def _errors(iterates: np.ndarray, minimizer: np.ndarray) -> np.ndarray:
    return np.linalg.norm(iterates - minimizer, axis=1)


# ---- experiments --------------------------------------------------------------------------------
def gd_rate_experiment(kappas=(10.0, 30.0, 100.0), dim: int = 40, decades: float = 10.0, seed: int = 0) -> dict:
    """Measured GD rates for steps ``1/L`` and ``2/(L+μ)`` against ``1-1/κ`` and ``(κ-1)/(κ+1)``.

    Each run lasts as long as theory needs to shrink the error by ``10**decades`` (well above rounding),
    and the rate is measured over its second half, where the slowest eigendirection dominates.
    """
    rows = []
    for kappa in kappas:
        q = make_quadratic(kappa, dim, seed)
        x0 = np.zeros(dim)
        row = {"kappa": float(kappa)}
        for name, step, theory in (
            ("one_over_L", 1.0 / q.L, 1.0 - 1.0 / q.kappa),
            ("optimal", 2.0 / (q.L + q.mu), (q.kappa - 1.0) / (q.kappa + 1.0)),
        ):
            iters = int(np.ceil(decades * np.log(10.0) / -np.log(theory)))
            errors = _errors(gradient_descent(q.grad, x0, step, iters), q.minimizer)
            row[name] = {"measured": measured_rate(errors, iters // 2), "theory": theory, "errors": errors}
        rows.append(row)
    return {"rows": rows}


def step_size_experiment(
    multiples=(0.5, 0.9, 0.99, 1.01, 1.05, 1.2), kappa: float = 10.0, dim: int = 40, iters: int = 100
) -> dict:
    """GD with step ``c·2/L``: measured growth factor per step vs. ``max |1 - αλ|`` (diverges for c > 1)."""
    q = make_quadratic(kappa, dim)
    rows = []
    for c in multiples:
        step = c * 2.0 / q.L
        errors = _errors(gradient_descent(q.grad, np.zeros(dim), step, iters), q.minimizer)
        theory = float(np.max(np.abs(1.0 - step * q.eigenvalues)))
        rows.append({"multiple": float(c), "step": step, "measured": measured_rate(errors, iters // 2),
                     "theory": theory, "errors": errors})
    return {"L": q.L, "mu": q.mu, "rows": rows}


def acceleration_experiment(
    kappas=(10.0, 100.0, 1000.0), dim: int = 40, tol: float = 1e-6, seed: int = 0
) -> dict:
    """Iterations to reach ``tol`` (relative error) for GD, heavy ball and Nesterov, and the slope of
    ``log(iterations)`` against ``log(κ)``: 1 for GD, ½ for the accelerated methods."""
    rows = []
    for kappa in kappas:
        q = make_quadratic(kappa, dim, seed)
        x0 = np.zeros(dim)
        budget = int(4 * kappa * np.log(1 / tol)) + 100  # enough for GD at rate 1 - 2/κ
        fast_budget = int(8 * np.sqrt(kappa) * np.log(1 / tol)) + 200
        gd = _errors(gradient_descent(q.grad, x0, 2.0 / (q.L + q.mu), budget), q.minimizer)
        runs = {"gd": gd}
        for name, (step, beta), nesterov in (
            ("heavy_ball", heavy_ball_parameters(q.mu, q.L), False),
            ("nesterov", nesterov_parameters(q.mu, q.L), True),
        ):
            its = momentum_descent(q.grad, x0, step, beta, fast_budget, nesterov=nesterov)
            runs[name] = _errors(its, q.minimizer)
        rows.append({"kappa": float(kappa),
                     **{name: iterations_to_tolerance(err, tol) for name, err in runs.items()},
                     "errors": runs})
    log_k = np.log([r["kappa"] for r in rows])
    slopes = {name: float(np.polyfit(log_k, np.log([r[name] for r in rows]), 1)[0])
              for name in ("gd", "heavy_ball", "nesterov")}
    return {"rows": rows, "slopes": slopes, "tol": tol}


# ---- landscapes ---------------------------------------------------------------------------------
# The functions take points as columns, ``p`` of shape (2,) or (2, N), so one call moves N starts at once.
def convex_bowl(p: np.ndarray) -> np.ndarray:
    """A convex, non-quadratic function with its one minimum at (1, 0)."""
    x, y = p
    return 0.25 * (x - 1) ** 4 + 0.5 * (x - 1) ** 2 + 0.5 * y**2


def convex_bowl_grad(p: np.ndarray) -> np.ndarray:
    x, y = p
    return np.stack([(x - 1) ** 3 + (x - 1), y])


def double_well(p: np.ndarray) -> np.ndarray:
    """A non-convex function: minima at (±1, 0), a saddle at (0, 0)."""
    x, y = p
    return (x**2 - 1) ** 2 + 0.5 * y**2


def double_well_grad(p: np.ndarray) -> np.ndarray:
    x, y = p
    return np.stack([4 * x * (x**2 - 1), y])


def landscape_experiment(starts: int = 200, step: float = 0.02, iters: int = 1500, seed: int = 0) -> dict:
    """GD from random starts in ``[-1.5, 1.5]²`` on a convex bowl and on a double well: where each ends.

    Returns ``starts`` (N, 2) and, per landscape, the end points (N, 2) and, for drawing, the paths of
    up to four starts on each side of ``x = 0`` (``paths_<name>``: (iters + 1, 2, k)).
    """
    rng = np.random.default_rng(seed)
    x0s = rng.uniform(-1.5, 1.5, size=(starts, 2))
    drawn = np.concatenate([np.flatnonzero(x0s[:, 0] < 0)[:4], np.flatnonzero(x0s[:, 0] >= 0)[:4]])
    out = {"starts": x0s}
    for name, grad in (("convex", convex_bowl_grad), ("double_well", double_well_grad)):
        p = x0s.T.copy()
        path = [p[:, drawn].copy()]
        for _ in range(iters):
            p = p - step * grad(p)
            path.append(p[:, drawn].copy())
        out[name] = p.T
        out["paths_" + name] = np.array(path)
    return out


# ---- the lasso: proximal gradient ---------------------------------------------------------------
def lasso_objective(a: np.ndarray, b: np.ndarray, lam: float, x: np.ndarray) -> float:
    """``½‖Ax - b‖² + λ‖x‖₁``."""
    r = a @ x - b
    return float(0.5 * r @ r + lam * np.abs(x).sum())


def lasso_kkt_violation(a: np.ndarray, b: np.ndarray, lam: float, x: np.ndarray) -> float:
    """How far ``x`` is from optimal: ``0 ∈ Aᵀ(Ax - b) + λ∂‖x‖₁`` read coordinate by coordinate.

    Where ``x_i ≠ 0`` the gradient must equal ``-λ sign(x_i)``; where ``x_i = 0`` it must lie in
    ``[-λ, λ]``. Returns the largest violation (``0`` exactly at the solution).
    """
    g = a.T @ (a @ x - b)
    nonzero = x != 0
    on = np.abs(g[nonzero] + lam * np.sign(x[nonzero]))
    off = np.maximum(np.abs(g[~nonzero]) - lam, 0.0)
    return float(max(on.max(initial=0.0), off.max(initial=0.0)))


def soft_threshold(x: np.ndarray, threshold: float) -> np.ndarray:
    """Task 0.6: the proximal operator of ``threshold·‖·‖₁``: ``sign(x)·max(|x| - threshold, 0)``.

    It is the exact minimiser of ``½‖z - x‖² + threshold·‖z‖₁`` and the reason the lasso's solutions
    are sparse: every coordinate within ``threshold`` of zero becomes exactly zero. Return a new float64
    array; ``ValueError`` for a negative threshold.
    """
    if threshold < 0:
        raise ValueError(f"soft_threshold: the threshold must be >= 0, got {threshold}")
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    return np.sign(x) * np.maximum(np.abs(x) - threshold, 0.0)
    # END SOLUTION


def _check_lasso(a: np.ndarray, b: np.ndarray, lam: float, iters: int, who: str) -> None:
    if a.ndim != 2 or b.shape != (a.shape[0],):
        raise ValueError(f"{who}: A must be (m, n) and b (m,), got {a.shape} and {b.shape}")
    if lam < 0:
        raise ValueError(f"{who}: lam must be >= 0, got {lam}")
    if not isinstance(iters, (int, np.integer)) or iters < 0:
        raise ValueError(f"{who}: iters must be a non-negative integer, got {iters!r}")


def ista(
    a: np.ndarray, b: np.ndarray, lam: float, iters: int, step: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Task 0.6: ISTA for the lasso ``min ½‖Ax - b‖² + λ‖x‖₁``, from ``x = 0``.

    Each iteration is a gradient step on the smooth part followed by the proximal step of the ℓ1 part:
    ``x ← soft_threshold(x - step·Aᵀ(Ax - b), step·λ)``. ``step`` defaults to ``1/L`` with
    ``L = ‖A‖₂²`` (the largest eigenvalue of ``AᵀA``). Return ``(x, objectives)`` where
    ``objectives[k]`` is the lasso objective after ``k`` iterations (``iters + 1`` values). Why: it is
    gradient descent for a non-smooth objective, and its objective gap falls like ``1/k``.
    """
    _check_lasso(a, b, lam, iters, "ista")
    # BEGIN SOLUTION
    if step is None:
        step = 1.0 / np.linalg.norm(a, 2) ** 2
    x = np.zeros(a.shape[1])
    objectives = [lasso_objective(a, b, lam, x)]
    for _ in range(iters):
        x = soft_threshold(x - step * (a.T @ (a @ x - b)), step * lam)
        objectives.append(lasso_objective(a, b, lam, x))
    return x, np.array(objectives)
    # END SOLUTION


def fista(
    a: np.ndarray, b: np.ndarray, lam: float, iters: int, step: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """FISTA (Beck and Teboulle, 2009): ISTA's step taken from an extrapolated point.

    ``x_k = prox(y_k - step·∇)``, ``t_{k+1} = (1 + √(1 + 4t_k²))/2``,
    ``y_{k+1} = x_k + ((t_k - 1)/t_{k+1})(x_k - x_{k-1})``. Objective gap ``O(1/k²)``.
    Returns ``(x, objectives)`` like :func:`ista`.
    """
    _check_lasso(a, b, lam, iters, "fista")
    if step is None:
        step = 1.0 / np.linalg.norm(a, 2) ** 2
    x = np.zeros(a.shape[1])
    y, t = x.copy(), 1.0
    objectives = [lasso_objective(a, b, lam, x)]
    for _ in range(iters):
        new = soft_threshold(y - step * (a.T @ (a @ y - b)), step * lam)
        t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        y = new + ((t - 1.0) / t_next) * (new - x)
        x, t = new, t_next
        objectives.append(lasso_objective(a, b, lam, x))
    return x, np.array(objectives)


def make_lasso(m: int = 60, n: int = 120, nonzeros: int = 8, noise: float = 0.05, seed: int = 0):
    """A random sparse-recovery problem: ``(A, b, λ, x_true)`` with ``λ = 0.1·‖Aᵀb‖∞``."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n)) / np.sqrt(m)
    x_true = np.zeros(n)
    x_true[rng.choice(n, nonzeros, replace=False)] = rng.choice([-1.0, 1.0], nonzeros) * rng.uniform(1, 2, nonzeros)
    b = a @ x_true + noise * rng.standard_normal(m)
    return a, b, 0.1 * float(np.abs(a.T @ b).max()), x_true


def lasso_experiment(iters: int = 3000, seed: int = 0) -> dict:
    """ISTA vs. FISTA on one lasso: objective gaps per iteration, KKT violations, supports."""
    a, b, lam, x_true = make_lasso(seed=seed)
    x_ista, obj_ista = ista(a, b, lam, iters)
    x_fista, obj_fista = fista(a, b, lam, iters)
    best = min(obj_ista.min(), obj_fista.min())
    return {
        "A": a, "b": b, "lam": lam, "x_true": x_true, "x_ista": x_ista, "x_fista": x_fista,
        "gap_ista": obj_ista - best, "gap_fista": obj_fista - best,
        "kkt_ista": lasso_kkt_violation(a, b, lam, x_ista),
        "kkt_fista": lasso_kkt_violation(a, b, lam, x_fista),
    }
