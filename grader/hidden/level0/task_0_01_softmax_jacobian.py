"""Task 0.1: softmax_jacobian (diag(s) - s sᵀ, batched, stable, dtype kept) and softmax_vjp (uᵀJ without J).

Expected values are computed in the judge in float64 from the reference run's inputs (the closed form,
checked there against central differences as well), so a wrong formula fails whatever the reference did.
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "0.1"
TITLE = "Softmax Jacobian and vector-Jacobian product"
POINTS = 8
TIMEOUT = 60

SHAPES = [(1,), (3,), (7,), (2, 5), (2, 3, 4), (1, 6)]
BIG = np.array([[1000.0, 999.0, -1000.0, 0.0], [-500.0, -500.0, -501.0, -499.5]])


def _inputs(rng, shape, dtype, scale):
    return (rng.standard_normal(shape) * scale).astype(dtype)


@probe
def jacobians():
    from hyperion.foundations.matrix_calculus import softmax_jacobian, softmax_vjp

    rng = np.random.default_rng(31)
    out = []
    cases = [(_inputs(rng, s, np.float32 if i % 3 == 1 else np.float64, 3.0)) for i, s in enumerate(SHAPES)]
    cases += [BIG, BIG.astype(np.float32)]
    for x in cases:
        u = _inputs(rng, x.shape, x.dtype, 1.0)
        out.append({"x": x, "u": u, "J": np.asarray(softmax_jacobian(x)), "vjp": np.asarray(softmax_vjp(x, u))})
    return out


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _fd_jacobian(x, eps=1e-6):
    n = x.shape[-1]
    cols = []
    for j in range(n):
        d = np.zeros(n)
        d[j] = eps
        cols.append((_softmax(x + d) - _softmax(x - d)) / (2 * eps))
    return np.stack(cols, axis=-1)


def check_jacobians(sub, ref):
    for got, mine in zip(sub, ref, strict=True):
        for k in ("x", "u"):
            assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")
        x, u, dtype = mine["x"].astype(np.float64), mine["u"].astype(np.float64), mine["x"].dtype
        what = f"x of shape {x.shape} ({dtype}, max |x| {np.abs(x).max():g})"
        s = _softmax(x)
        want_j = s[..., :, None] * np.eye(x.shape[-1]) - s[..., :, None] * s[..., None, :]
        if np.abs(x).max() < 50:  # the closed form itself, against central differences
            assert_close(want_j, _fd_jacobian(x), rtol=1e-6, atol=1e-8, name="judge's closed form")
        want_v = np.einsum("...i,...ij->...j", u, want_j)
        rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-10, 1e-12)
        for name, val, want in (("softmax_jacobian", got["J"], want_j), ("softmax_vjp", got["vjp"], want_v)):
            assert_true(val.shape == want.shape, f"{name}({what}): shape {val.shape}, expected {want.shape}")
            assert_true(val.dtype == dtype, f"{name}({what}): dtype {val.dtype}, expected {dtype}")
            assert_true(bool(np.all(np.isfinite(val))), f"{name}({what}): not finite (unstable softmax?)")
            assert_close(val.astype(np.float64), want, rtol=rtol, atol=atol, name=f"{name}({what})")
