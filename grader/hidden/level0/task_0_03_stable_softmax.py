"""Task 0.3: softmax and logsumexp in numpy, stable for logits far beyond exp's range, dtype kept,
any axis, keepdims, and a slice of all -inf giving -inf (not NaN). Expected values: float64 in the judge."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "0.3"
TITLE = "Stable softmax and logsumexp"
POINTS = 8
TIMEOUT = 60

CASES = [  # (shape, axis, dtype, scale)
    ((4, 5), -1, "float64", 3.0),
    ((4, 5), 0, "float32", 3.0),
    ((2, 3, 4), 1, "float64", 3.0),
    ((6,), 0, "float32", 1.0),
    ((3, 4), 1, "float16", 2.0),
    ((3, 4), -1, "float64", 1e4),  # exp overflows (and underflows) everywhere here
    ((3, 4), 1, "float32", 300.0),  # beyond float32's exp range (88.7)
    ((2, 6), 1, "float16", 40.0),  # beyond float16's exp range (11.1)
]


@probe
def cases():
    from hyperion.foundations.floating_point import logsumexp, softmax

    rng = np.random.default_rng(33)
    out = []
    for shape, axis, dtype, scale in CASES:
        x = (rng.standard_normal(shape) * scale).astype(dtype)
        with np.errstate(all="ignore"):
            out.append({
                "x": x,
                "softmax": np.asarray(softmax(x, axis=axis)),
                "logsumexp": np.asarray(logsumexp(x, axis=axis)),
                "logsumexp_keep": np.asarray(logsumexp(x, axis=axis, keepdims=True)),
            })
    ninf = np.array([[-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 1.0]])
    with np.errstate(all="ignore"):
        out.append({"x": ninf, "logsumexp": np.asarray(logsumexp(ninf, axis=1))})
    return out


def _tol(dtype):
    return {"float16": (2e-3, 1e-3), "float32": (1e-5, 1e-6), "float64": (1e-10, 1e-12)}[str(dtype)]


def check_cases(sub, ref):
    for (shape, axis, dtype, _scale), got, mine in zip(CASES, sub[:-1], ref[:-1], strict=True):
        assert_close(got["x"], mine["x"], rtol=0, atol=0, name="the probe's input")
        x = mine["x"].astype(np.float64)
        what = f"shape {shape}, axis {axis}, {dtype}, logits up to {np.abs(x).max():.3g}"
        m = x.max(axis=axis, keepdims=True)
        lse_keep = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
        want = {"softmax": np.exp(x - lse_keep), "logsumexp": np.squeeze(lse_keep, axis=axis),
                "logsumexp_keep": lse_keep}
        rtol, atol = _tol(dtype)
        for name, expected in want.items():
            val = got[name]
            label = f"{name.replace('_keep', '(keepdims=True)')} ({what})"
            assert_true(val.dtype == np.dtype(dtype), f"{label}: dtype {val.dtype}, expected {dtype}")
            assert_true(val.shape == expected.shape, f"{label}: shape {val.shape}, expected {expected.shape}")
            assert_true(bool(np.all(np.isfinite(val))), f"{label}: not finite (overflow?)")
            scale_atol = atol * max(1.0, float(np.abs(expected).max())) if name != "softmax" else atol
            assert_close(val.astype(np.float64), expected, rtol=rtol, atol=scale_atol, name=label)
    last = sub[-1]["logsumexp"]
    assert_close(last, np.array([-np.inf, 1.0 + np.log1p(np.exp(-1.0))]), rtol=1e-12,
                 name="logsumexp of a row of -inf (expected -inf, not NaN)")
