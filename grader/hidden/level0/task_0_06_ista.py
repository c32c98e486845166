"""Task 0.6: soft_threshold (the prox of the ℓ1 norm) and ISTA for the lasso: values, exact zeros, dtypes;
ISTA's iterates and objective history, default step 1/‖A‖₂², and its solution's KKT conditions.
Expected values are computed in the judge with numpy."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "0.6"
TITLE = "Soft thresholding and ISTA"
POINTS = 8
TIMEOUT = 60

X = np.array([-3.0, -1.0, -0.999, -0.2, 0.0, 0.5, 1.0, 1.001, 7.5])
THRESHOLDS = [0.0, 0.5, 1.0, 10.0]


def _lasso(seed, m=20, n=35):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n)) / np.sqrt(m)
    x = np.zeros(n)
    x[:4] = [1.5, -2.0, 1.0, -1.2]
    b = a @ x + 0.05 * rng.standard_normal(m)
    return a, b, 0.1 * float(np.abs(a.T @ b).max())


def _objective(a, b, lam, x):
    r = a @ x - b
    return 0.5 * r @ r + lam * np.abs(x).sum()


def _ista(a, b, lam, iters, step):
    x, objs = np.zeros(a.shape[1]), []
    objs.append(_objective(a, b, lam, x))
    for _ in range(iters):
        z = x - step * (a.T @ (a @ x - b))
        x = np.sign(z) * np.maximum(np.abs(z) - step * lam, 0.0)
        objs.append(_objective(a, b, lam, x))
    return x, np.array(objs)


@probe
def soft_threshold_values():
    from hyperion.foundations.optimization import soft_threshold

    out = [np.asarray(soft_threshold(X.copy(), t)) for t in THRESHOLDS]
    ints = np.asarray(soft_threshold(np.array([-3, 0, 2, 5]), 2))
    matrix = np.asarray(soft_threshold(X.reshape(3, 3), 0.5))
    x = X.copy()
    soft_threshold(x, 1.0)
    return {"out": out, "ints": ints, "matrix": matrix, "untouched": x}


def check_soft_threshold_values(sub, ref):
    for t, got in zip(THRESHOLDS, sub["out"], strict=True):
        want = np.sign(X) * np.maximum(np.abs(X) - t, 0)
        assert_close(got, want, rtol=0, atol=1e-15, name=f"soft_threshold(x, {t})")
        assert_true(bool(np.array_equal(got == 0, want == 0)), f"soft_threshold(x, {t}): zeros must be exact zeros")
    assert_true(sub["ints"].dtype == np.float64, f"soft_threshold of integers returned {sub['ints'].dtype}, "
                "expected float64")
    assert_close(sub["ints"], [-1.0, 0.0, 0.0, 3.0], rtol=0, atol=0, name="soft_threshold([-3, 0, 2, 5], 2)")
    assert_close(sub["matrix"], (np.sign(X) * np.maximum(np.abs(X) - 0.5, 0)).reshape(3, 3), rtol=0,
                 atol=1e-15, name="soft_threshold of a 3x3 matrix (elementwise, same shape)")
    assert_close(sub["untouched"], X, rtol=0, atol=0, name="the input after soft_threshold (do not modify it)")


@probe
def ista_runs():
    from hyperion.foundations.optimization import ista

    out = []
    for seed, iters, step in ((1, 0, None), (2, 5, None), (3, 40, None), (4, 30, 0.05)):
        a, b, lam = _lasso(seed)
        x, objs = ista(a, b, lam, iters) if step is None else ista(a, b, lam, iters, step=step)
        out.append({"x": np.asarray(x, dtype=np.float64), "objs": np.asarray(objs, dtype=np.float64)})
    a, b, lam = _lasso(5)
    x, objs = ista(a, b, lam, 3000)
    out.append({"x": np.asarray(x, dtype=np.float64), "objs": np.asarray(objs, dtype=np.float64)})
    return out


def check_ista_runs(sub, ref):
    cases = ((1, 0, None), (2, 5, None), (3, 40, None), (4, 30, 0.05))
    for (seed, iters, step), got in zip(cases, sub[:4], strict=True):
        a, b, lam = _lasso(seed)
        what = f"ista(iters={iters}" + (f", step={step})" if step else ", default step 1/‖A‖₂²)")
        want_x, want_obj = _ista(a, b, lam, iters, step or 1.0 / np.linalg.norm(a, 2) ** 2)
        assert_true(got["objs"].shape == want_obj.shape, f"{what}: {got['objs'].shape} objectives, expected "
                    f"{want_obj.shape} (the start and one per iteration)")
        assert_close(got["x"], want_x, rtol=1e-9, atol=1e-12, name=f"{what}: x")
        assert_close(got["objs"], want_obj, rtol=1e-9, atol=1e-12, name=f"{what}: objectives")
    a, b, lam = _lasso(5)
    x = sub[4]["x"]
    g = a.T @ (a @ x - b)
    on = x != 0
    violation = max(np.abs(g[on] + lam * np.sign(x[on])).max(initial=0),
                    np.maximum(np.abs(g[~on]) - lam, 0).max(initial=0))
    assert_true(bool(violation < 1e-6), f"ista after 3000 iterations: the lasso KKT conditions are violated by "
                f"{violation:.2e}")
    assert_true(bool(0 < np.count_nonzero(x) < x.size), "ista's lasso solution should be sparse but not zero")
