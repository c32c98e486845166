"""Task 1.4: unbroadcast sums a broadcast gradient back to an input's shape (expected values from numpy)."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.4"
TITLE = "unbroadcast"
POINTS = 6
TIMEOUT = 60

CASES = [  # (grad shape, input shape)
    ((2, 3, 4), (3, 4)),
    ((2, 3, 4), (1, 4)),
    ((2, 3, 4), (3, 1)),
    ((2, 3, 4), (1, 1, 1)),
    ((2, 3, 4), ()),
    ((2, 3, 4), (2, 1, 4)),
    ((2, 3, 4), (2, 3, 4)),
    ((5,), (1,)),
    ((3,), ()),
    ((4, 1, 5), (1, 5)),  # a size-1 dim in both: nothing to sum there
    ((6, 2, 3, 1), (2, 1, 1)),
    ((0, 3), (3,)),  # an empty batch sums to zeros
    ((), ()),
]


def _expected(grad, shape):
    extra = grad.ndim - len(shape)
    g = grad.sum(axis=tuple(range(extra))) if extra else grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return (g.sum(axis=axes, keepdims=True) if axes else g).reshape(shape)


@probe
def cases():
    from hyperion.tensor.strides import unbroadcast

    rng = np.random.default_rng(14)
    out = []
    for i, (gshape, shape) in enumerate(CASES):
        dtype = np.float32 if i % 3 == 1 else np.float64
        grad = rng.standard_normal(gshape).astype(dtype)
        res = unbroadcast(grad, shape)
        out.append({"grad": grad, "type": type(res).__name__, "out": np.asarray(res)})
    return out


def check_cases(sub, ref):
    for (gshape, shape), got, mine in zip(CASES, sub, ref, strict=True):
        grad = mine["grad"]
        assert_close(got["grad"], grad, rtol=0, atol=0, name="the probe's input")
        what = f"unbroadcast(grad of shape {gshape}, {shape})"
        assert_true(got["type"] in ("ndarray", "float64", "float32"), f"{what} returned a {got['type']}")
        assert_true(
            got["out"].dtype == grad.dtype, f"{what}: dtype {got['out'].dtype}, expected {grad.dtype}"
        )
        want = _expected(grad.astype(np.float64), shape)
        rtol = 1e-5 if grad.dtype == np.float32 else 1e-10
        assert_close(
            got["out"],
            want.astype(grad.dtype),
            rtol=rtol,
            atol=1e-5 if grad.dtype == np.float32 else 1e-12,
            name=what,
        )
