"""Task 1.7: Matmul.backward, called directly on arrays: 1-D operands, batches, broadcast batches.

A gradient may come back in the broadcast batch shape (the engine sums it down): the judge sums any
extra batch dimensions before comparing with the analytic answer computed here.
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.7"
TITLE = "Matmul backward"
POINTS = 8
TIMEOUT = 60

CASES = [
    ((3, 4), (4, 5)),
    ((1, 4), (4, 1)),
    ((4,), (4, 5)),  # 1-D on the left
    ((3, 4), (4,)),  # 1-D on the right
    ((4,), (4,)),  # a dot product: grad is 0-d
    ((2, 3, 4), (2, 4, 5)),  # batched
    ((2, 3, 4), (4, 5)),  # b broadcast over the batch
    ((3, 4), (2, 4, 5)),  # a broadcast over the batch
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 5)),
    ((2, 3, 4), (4,)),
]


def _unbroadcast(grad, shape, what):
    """Sum a gradient returned in a broadcast shape back to ``shape`` (or fail saying why)."""
    extra = grad.ndim - len(shape)
    assert_true(extra >= 0, f"{what}: shape {grad.shape} has fewer dimensions than the input {shape}")
    g = grad.sum(axis=tuple(range(extra))) if extra else grad
    for i, n in enumerate(shape):
        if g.shape[i] != n:
            assert_true(n == 1, f"{what}: shape {grad.shape} does not reduce to the input's {shape}")
            g = g.sum(axis=i, keepdims=True)
    return g


def _expected(a, b, g):
    """d(a@b): promote 1-D operands, multiply, then sum broadcast batch dims and undo the promotion."""
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g
    if b.ndim == 1:
        g2 = g2[..., None]
    if a.ndim == 1:
        g2 = g2[..., None, :]
    ga = g2 @ np.swapaxes(b2, -1, -2)
    gb = np.swapaxes(a2, -1, -2) @ g2
    ga = _unbroadcast(ga, a2.shape, "expected")
    gb = _unbroadcast(gb, b2.shape, "expected")
    return ga.reshape(a.shape), gb.reshape(b.shape)


@probe
def cases():
    from hyperion.tensor.ops.matmul import Matmul


    rng = np.random.default_rng(21)
    out = []
    for i, (sa, sb) in enumerate(CASES):
        dtype = np.float32 if i % 4 == 1 else np.float64
        a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
        f = Matmul()
        res = f.forward(a, b)
        g = rng.standard_normal(np.shape(res)).astype(dtype)
        grads = f.backward(g)
        out.append({"a": a, "b": b, "g": g, "n": len(grads), "grads": [np.asarray(x) for x in grads]})
    return out


def check_cases(sub, ref):
    for (sa, sb), got, mine in zip(CASES, sub, ref, strict=True):
        for k in ("a", "b", "g"):
            assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")
        a, b, g = mine["a"], mine["b"], mine["g"]
        what = f"Matmul.backward for {sa} @ {sb}"
        assert_true(got["n"] == 2, f"{what}: returned {got['n']} gradients, expected 2")
        want = _expected(a.astype(np.float64), b.astype(np.float64), g.astype(np.float64))
        for arg, gk, wk, shape in zip("ab", got["grads"], want, (sa, sb), strict=True):
            name = f"{what}: gradient with respect to {arg}"
            assert_true(gk.dtype == a.dtype, f"{name}: dtype {gk.dtype}, expected {a.dtype}")
            if gk.shape != shape:  # a 1-D operand's gradient must lose its promoted dim again
                gk = _unbroadcast(gk, shape, name)
            tol = (1e-4, 1e-5) if a.dtype == np.float32 else (1e-10, 1e-12)
            assert_close(gk.astype(np.float64), wk, rtol=tol[0], atol=tol[1], name=name)
