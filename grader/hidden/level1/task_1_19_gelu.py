"""Task 1.19: the GELU Function, forward and backward, exact (erf) and tanh-approximated, float64 and
float32. The judge computes the forward from the definition with ``math.erf`` / ``math.tanh`` and every
gradient by central finite differences of that forward in float64."""

import math

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.19"
TITLE = "GELU (exact and tanh)"
POINTS = 6
TIMEOUT = 60

CASES = [
    ("none", "float64", (3, 5)),
    ("tanh", "float64", (4, 4)),
    ("none", "float32", (6,)),
    ("tanh", "float32", (2, 3, 2)),
]


@probe
def gelu_cases():
    from hyperion.tensor.ops.elementwise import GELU

    rng = np.random.default_rng(1900)
    out = []
    for approximate, dtype, shape in CASES:
        x = (rng.standard_normal(shape) * 3).astype(dtype)
        x.flat[0] = 0.0  # GELU(0) = 0, slope 1/2
        g = rng.standard_normal(shape).astype(dtype)
        f = GELU()
        y = np.asarray(f.forward(x, approximate))
        out.append({"x": x, "g": g, "y": y, "dx": np.asarray(f.backward(g))})
    return out


def _gelu(x, approximate):
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        return np.vectorize(lambda v: 0.5 * v * (1 + math.tanh(k * (v + 0.044715 * v**3))))(x)
    return np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))(x)


def check_gelu_cases(sub, ref):
    for (approximate, dtype, shape), got, mine in zip(CASES, sub, ref, strict=True):
        for k in ("x", "g"):
            assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")
        what = f"gelu(approximate={approximate!r}) of shape {shape} ({dtype})"
        x, g = mine["x"].astype(np.float64), mine["g"].astype(np.float64)
        rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-10, 1e-12)
        for name in ("y", "dx"):
            assert_true(
                got[name].dtype == np.dtype(dtype),
                f"{what}: {name} dtype {got[name].dtype}, expected {dtype}",
            )
        assert_close(
            got["y"].astype(np.float64), _gelu(x, approximate), rtol=rtol, atol=atol, name=f"{what} forward"
        )
        h = 1e-6
        slope = (_gelu(x + h, approximate) - _gelu(x - h, approximate)) / (2 * h)
        assert_close(
            got["dx"].astype(np.float64),
            g * slope,
            rtol=max(rtol, 1e-6),
            atol=max(atol, 1e-7),
            name=f"{what} backward (vs finite differences)",
        )
