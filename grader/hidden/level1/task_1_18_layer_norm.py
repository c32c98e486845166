"""Task 1.18: the LayerNorm Function, forward and backward, on arrays (with and without weight and bias,
normalising over the last one or two dimensions, float64 and float32).

Expected values are computed in the judge: the forward from the definition in float64, every gradient
by central finite differences of that float64 forward (the course's oracle for gradients).
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.18"
TITLE = "LayerNorm forward and backward"
POINTS = 8
TIMEOUT = 60

# (shape of x, normalised dims, weight?, bias?, dtype)
CASES = [
    ((4, 6), 1, True, True, "float64"),
    ((2, 3, 5), 1, True, False, "float64"),
    ((3, 7), 1, False, False, "float64"),
    ((2, 3, 4), 2, True, True, "float64"),
    ((5, 8), 1, True, True, "float32"),
]
EPS = 1e-5


@probe
def layer_norm_cases():
    from hyperion.tensor.ops.nn import LayerNorm

    rng = np.random.default_rng(1800)
    out = []
    for shape, ndim, has_w, has_b, dtype in CASES:
        norm = shape[-ndim:]
        x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
        w = (1 + 0.5 * rng.standard_normal(norm)).astype(dtype) if has_w else None
        b = rng.standard_normal(norm).astype(dtype) if has_b else None
        g = rng.standard_normal(shape).astype(dtype)
        f = LayerNorm()
        y = np.asarray(f.forward(x, w, b, ndim, EPS))
        grads = f.backward(g)
        grads = grads if isinstance(grads, tuple) else (grads,)
        out.append({"x": x, "w": w, "b": b, "g": g, "y": y, "grads": [np.asarray(a) for a in grads]})
    return out


def _forward(x, w, b, ndim):
    axes = tuple(range(x.ndim - ndim, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mu) / np.sqrt(var + EPS)
    y = y if w is None else y * w
    return y if b is None else y + b


def _fd(fn, arrays, which, g, h=1e-6):
    """d <g, fn(arrays)> / d arrays[which], by central differences in float64."""
    base = [a.copy() for a in arrays]
    grad = np.zeros_like(base[which])
    for i in np.ndindex(grad.shape):
        plus = [a.copy() for a in base]
        minus = [a.copy() for a in base]
        plus[which][i] += h
        minus[which][i] -= h
        grad[i] = (np.sum(g * fn(*plus)) - np.sum(g * fn(*minus))) / (2 * h)
    return grad


def _as_function(has_w, has_b, ndim):
    """The forward as a function of the arrays that are present (x, then weight, then bias)."""

    def fn(*arrays):
        it = iter(arrays)
        x = next(it)
        w = next(it) if has_w else None
        b = next(it) if has_b else None
        return _forward(x, w, b, ndim)

    return fn


def check_layer_norm_cases(sub, ref):
    for (shape, ndim, has_w, has_b, dtype), got, mine in zip(CASES, sub, ref, strict=True):
        for k in ("x", "w", "b", "g"):
            if mine[k] is not None:
                assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")
        what = f"layer_norm of {shape} over the last {ndim} dim(s), weight={has_w}, bias={has_b} ({dtype})"
        x, g = mine["x"].astype(np.float64), mine["g"].astype(np.float64)
        w = None if mine["w"] is None else mine["w"].astype(np.float64)
        b = None if mine["b"] is None else mine["b"].astype(np.float64)
        rtol, atol = (1e-4, 1e-5) if dtype == "float32" else (1e-7, 1e-9)
        assert_true(
            got["y"].dtype == np.dtype(dtype), f"{what}: output dtype {got['y'].dtype}, expected {dtype}"
        )
        assert_close(
            got["y"].astype(np.float64), _forward(x, w, b, ndim), rtol=rtol, atol=atol, name=f"{what} forward"
        )
        inputs = [a for a in (x, w, b) if a is not None]
        names = ["dx", "dweight", "dbias"][: len(inputs)]

        fn = _as_function(w is not None, b is not None, ndim)

        assert_true(
            len(got["grads"]) == len(inputs),
            f"{what}: backward returned {len(got['grads'])} gradients, expected {len(inputs)} ({', '.join(names)})",
        )
        for k, name in enumerate(names):
            want = _fd(fn, inputs, k, g)
            val = got["grads"][k]
            assert_true(
                val.shape == want.shape, f"{what}: {name} has shape {val.shape}, expected {want.shape}"
            )
            assert_close(
                val.astype(np.float64),
                want,
                rtol=max(rtol, 1e-5),
                atol=max(atol, 1e-6),
                name=f"{what}: {name}",
            )
