"""Task 1.6: expand_reduced and the backward of Sum, Mean, Max (and Min, which inherits it).

Functions are called directly on arrays. Expected gradients are computed here in the judge from the
probe's inputs, which must equal the reference run's.
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.6"
TITLE = "Reductions backward"
POINTS = 10
TIMEOUT = 60

# (input shape, axis (sorted, non-negative, as the framework passes it), keepdim)
REDUCTIONS = [
    ((2, 3, 4), (1,), False),
    ((2, 3, 4), (0, 2), True),
    ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), None, False),
    ((2, 3, 4), None, True),
    ((5,), (0,), False),
    ((5,), (0,), True),
    ((3, 1, 2), (1,), False),
    ((4, 3), (0, 1), False),
    ((1, 6), (1,), True),
]


def _reduced_shape(shape, axis, keepdim):
    axes = range(len(shape)) if axis is None else axis
    if keepdim:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _expand(grad, shape, axis, keepdim):
    """``grad`` (reduced shape, with or without the kept dims) broadcast back to ``shape``."""
    g = grad.reshape(_reduced_shape(shape, axis, True))
    return np.broadcast_to(g, shape)


@probe
def expand_reduced_cases():
    from hyperion.tensor.ops.reduce import expand_reduced

    rng = np.random.default_rng(18)
    out = []
    for shape, axis, keepdim in REDUCTIONS:
        grad = rng.standard_normal(_reduced_shape(shape, axis, keepdim))
        out.append({"grad": grad, "out": np.asarray(expand_reduced(grad, shape, axis, keepdim))})
    return out


def check_expand_reduced_cases(sub, ref):
    for (shape, axis, keepdim), got, mine in zip(REDUCTIONS, sub, ref, strict=True):
        assert_close(got["grad"], mine["grad"], rtol=0, atol=0, name="the probe's input")
        what = f"expand_reduced(grad, {shape}, axis={axis}, keepdim={keepdim})"
        assert_close(got["out"], _expand(mine["grad"], shape, axis, keepdim), rtol=0, atol=0, name=what)


def _run(cls, x, axis, keepdim, grad):
    f = cls()
    out = f.forward(x, axis, keepdim)
    return {"x": x, "grad": grad, "out": np.asarray(out), "dx": np.asarray(f.backward(grad))}


@probe
def sum_mean_cases():
    from hyperion.tensor.ops.reduce import Mean, Sum

    rng = np.random.default_rng(19)
    out = []
    for i, (shape, axis, keepdim) in enumerate(REDUCTIONS):
        dtype = np.float32 if i % 3 == 2 else np.float64
        x = rng.standard_normal(shape).astype(dtype)
        grad = rng.standard_normal(_reduced_shape(shape, axis, keepdim)).astype(dtype)
        out.append({"sum": _run(Sum, x, axis, keepdim, grad), "mean": _run(Mean, x, axis, keepdim, grad)})
    return out


def check_sum_mean_cases(sub, ref):
    for (shape, axis, keepdim), got, mine in zip(REDUCTIONS, sub, ref, strict=True):
        for op in ("sum", "mean"):
            g, m = got[op], mine[op]
            assert_close(g["x"], m["x"], rtol=0, atol=0, name="the probe's input")
            assert_close(g["grad"], m["grad"], rtol=0, atol=0, name="the probe's input")
            what = f"{op.title()}.backward (shape {shape}, axis={axis}, keepdim={keepdim}, {m['x'].dtype})"
            count = m["x"].size // max(int(np.prod(_reduced_shape(shape, axis, keepdim))), 1)
            want = _expand(m["grad"].astype(np.float64), shape, axis, keepdim)
            if op == "mean":
                want = want / count
            assert_true(
                g["dx"].dtype == m["x"].dtype, f"{what}: dtype {g['dx'].dtype}, expected {m['x'].dtype}"
            )
            tol = 1e-6 if m["x"].dtype == np.float32 else 1e-12
            assert_close(g["dx"].astype(np.float64), want, rtol=tol, atol=tol, name=what)


@probe
def max_min_cases():
    from hyperion.tensor.ops.reduce import Max, Min

    rng = np.random.default_rng(20)
    out = []
    for shape, axis, keepdim in REDUCTIONS:
        x = rng.integers(-2, 3, size=shape).astype(np.float64)  # few distinct values: many ties
        grad = rng.standard_normal(_reduced_shape(shape, axis, keepdim))
        out.append({"max": _run(Max, x, axis, keepdim, grad), "min": _run(Min, x, axis, keepdim, grad)})
    x = np.array([[1.0, 7.0, 7.0, 3.0], [7.0, 2.0, 2.0, 7.0]])  # three-way tie over everything
    out.append(
        {"max": _run(Max, x, None, False, np.array(3.0)), "min": _run(Min, x, None, False, np.array(3.0))}
    )
    x = np.array([[5.0, 5.0, 5.0], [-1.0, 4.0, 0.5]])
    out.append(
        {
            "max": _run(Max, x, (1,), False, np.array([6.0, 1.0])),
            "min": _run(Min, x, (1,), True, np.array([[6.0], [1.0]])),
        }
    )
    return out


def check_max_min_cases(sub, ref):
    extra = [((2, 4), None, False), ((2, 3), (1,), False)]
    for (_shape, axis, keepdim), got, mine in zip(REDUCTIONS + extra, sub, ref, strict=True):
        for op in ("max", "min"):
            g, m = got[op], mine[op]
            assert_close(g["x"], m["x"], rtol=0, atol=0, name="the probe's input")
            assert_close(g["grad"], m["grad"], rtol=0, atol=0, name="the probe's input")
            x = m["x"]
            best = (np.max if op == "max" else np.min)(x, axis=axis, keepdims=True)
            winners = (x == best).astype(np.float64)
            share = winners / winners.sum(axis=axis, keepdims=True)
            want = _expand(m["grad"], x.shape, axis, keepdim) * share
            what = f"{op.title()}.backward (shape {x.shape}, axis={axis}, ties split evenly)"
            assert_close(g["dx"], want, rtol=1e-12, atol=1e-12, name=what)
