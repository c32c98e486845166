"""Task 1.9: Softmax, LogSoftmax, LogSumExp forward and backward, on arrays, stable for |x| ~ 1e4.

Expected values are computed in the judge in float64 (with the max-shift) from the reference run's
inputs; outputs must be finite wherever the answer is, and keep the input's dtype.
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.9"
TITLE = "Softmax, log-softmax, logsumexp"
POINTS = 10
TIMEOUT = 60

DIMS = [((4, 5), -1), ((4, 5), 0), ((2, 3, 4), 1), ((6,), 0), ((3, 1), 1), ((2, 3, 4), -3)]
LSE = [
    ((4, 5), (1,), False),
    ((4, 5), (0,), True),
    ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), (1,), True),
    ((6,), (0,), False),
    ((2, 3, 4), (0, 1, 2), False),
]
BIG = np.array(
    [[1e4, 0.0, -1e4], [1e4, 1e4 - 1.0, 1e4 - 2.0], [-1e4, -1e4 - 3.0, -1e4 + 0.5], [3.0, 3.0, 3.0]]
)


def _inputs(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _fb(cls, x, g, *args):
    f = cls()
    out = np.asarray(f.forward(x, *args))
    dx = np.asarray(f.backward(g))
    return {"x": x, "g": g, "out": out, "dx": dx}


@probe
def softmax_cases():
    from hyperion.tensor.ops.nn import LogSoftmax, Softmax

    rng = np.random.default_rng(24)
    out = []
    for i, (shape, dim) in enumerate(DIMS):
        dtype = np.float32 if i % 3 == 2 else np.float64
        x, g = _inputs(rng, shape, dtype), _inputs(rng, shape, dtype, 1.0)
        out.append({"softmax": _fb(Softmax, x, g, dim), "log_softmax": _fb(LogSoftmax, x, g, dim)})
    for dtype in (np.float64, np.float32):
        x, g = BIG.astype(dtype), _inputs(rng, BIG.shape, dtype, 1.0)
        out.append({"softmax": _fb(Softmax, x, g, 1), "log_softmax": _fb(LogSoftmax, x, g, 1)})
    return out


def _softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _log_softmax(x, dim):
    s = x - x.max(axis=dim, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=dim, keepdims=True))


def _tol(dtype):
    return (1e-4, 1e-6) if dtype == np.float32 else (1e-9, 1e-12)


def _same_inputs(got, mine):
    for k in ("x", "g"):
        assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")


def check_softmax_cases(sub, ref):
    dims = [d for _, d in DIMS] + [1, 1]
    for dim, got, mine in zip(dims, sub, ref, strict=True):
        for op in ("softmax", "log_softmax"):
            g_, m = got[op], mine[op]
            _same_inputs(g_, m)
            x, g, dtype = m["x"].astype(np.float64), m["g"].astype(np.float64), m["x"].dtype
            what = f"{op} of shape {x.shape} along dim {dim} ({dtype}, max |x| {np.abs(x).max():g})"
            s = _softmax(x, dim)
            if op == "softmax":
                want_out, want_dx = s, s * (g - (g * s).sum(axis=dim, keepdims=True))
            else:
                want_out, want_dx = _log_softmax(x, dim), g - s * g.sum(axis=dim, keepdims=True)
            rtol, atol = _tol(dtype)
            for name, val, want in (("forward", g_["out"], want_out), ("backward", g_["dx"], want_dx)):
                assert_true(val.dtype == dtype, f"{what} {name}: dtype {val.dtype}, expected {dtype}")
                assert_true(bool(np.all(np.isfinite(val))), f"{what} {name}: not finite (overflow?)")
                scale = 1.0 if op == "softmax" or name == "backward" else np.abs(want).max()
                assert_close(
                    val.astype(np.float64),
                    want,
                    rtol=rtol,
                    atol=atol * max(scale, 1.0),
                    name=f"{what} {name}",
                )


@probe
def logsumexp_cases():
    from hyperion.tensor.ops.nn import LogSumExp

    rng = np.random.default_rng(25)
    out = []
    for i, (shape, axis, keepdim) in enumerate(LSE):
        dtype = np.float32 if i % 3 == 1 else np.float64
        x = _inputs(rng, shape, dtype)
        red = (
            tuple(1 if d in axis else n for d, n in enumerate(shape))
            if keepdim
            else tuple(n for d, n in enumerate(shape) if d not in axis)
        )
        out.append(_fb(LogSumExp, x, _inputs(rng, red, dtype, 1.0), axis, keepdim))
    out.append(_fb(LogSumExp, BIG, _inputs(rng, (4,), np.float64, 1.0), (1,), False))
    f = LogSumExp()  # a row of -inf: the answer is -inf, not NaN
    ninf = np.array([[-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 1.0]])
    out.append({"x": ninf, "out": np.asarray(f.forward(ninf, (1,), False))})
    return out


def check_logsumexp_cases(sub, ref):
    cases = LSE + [((4, 3), (1,), False)]
    for (shape, axis, keepdim), got, mine in zip(cases, sub[:-1], ref[:-1], strict=True):
        _same_inputs(got, mine)
        x, g, dtype = mine["x"].astype(np.float64), mine["g"].astype(np.float64), mine["x"].dtype
        what = f"logsumexp of shape {shape} over {axis}, keepdim={keepdim} ({dtype})"
        m = x.max(axis=axis, keepdims=True)
        lse = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
        want_out = lse if keepdim else lse.reshape(g.shape)
        want_dx = g.reshape(lse.shape) * np.exp(x - lse)
        rtol, atol = _tol(dtype)
        for name, val, want in (("forward", got["out"], want_out), ("backward", got["dx"], want_dx)):
            assert_true(val.dtype == dtype, f"{what} {name}: dtype {val.dtype}, expected {dtype}")
            assert_true(val.shape == want.shape, f"{what} {name}: shape {val.shape}, expected {want.shape}")
            assert_close(
                val.astype(np.float64),
                want,
                rtol=rtol,
                atol=atol * max(np.abs(want).max(), 1.0),
                name=f"{what} {name}",
            )
    last = sub[-1]
    assert_close(last["x"], ref[-1]["x"], rtol=0, atol=0, name="the probe's input")
    want = np.array([-np.inf, 1.0 + np.log1p(np.exp(-1.0))])
    assert_close(last["out"], want, rtol=1e-12, name="logsumexp of a row of -inf (expected -inf)")
