"""Task 1.11: Conv2d via im2col, forward and backward, on arrays; and it must beat the naive loop.

Expected outputs and gradients come from an independent per-kernel-offset convolution computed here
in the judge. Partial credit: each probe is a quarter of the points (forward plain, forward with
stride/padding/dilation, backward, speed). The speed probe is a race timed by the judge from outside
(``hyperion_grader.perf``): im2col forward+backward in the submission's sandbox against the reference's
unmarked ``Conv2dNaive`` (a Python loop over output positions) in a sandbox without the submission,
alternately, on fresh random inputs every round, every answer checked; it wants 10x (7x with the
tolerance; the reference measured 90x and 255x in two runs on a 2-core machine at load average ~20).
The timed shapes keep every matmul below OpenBLAS's threading threshold: threaded BLAS on
an oversubscribed machine made the fast side 300x slower at random.
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_speedup, assert_true, probe, race

TASK = "1.11"
TITLE = "Conv2d (im2col): forward, backward, speed"
POINTS = 16
TIMEOUT = 120
PARTIAL = True
EXCLUSIVE = True  # the speed probe wants the machine to itself

# (x shape, weight shape, bias, stride, padding, dilation, dtype)
PLAIN = [
    ((2, 3, 7, 7), (4, 3, 3, 3), True, (1, 1), (0, 0), (1, 1), "f8"),
    ((3, 1, 10, 7), (2, 1, 1, 1), True, (1, 1), (0, 0), (1, 1), "f8"),  # 1x1 kernel
    ((2, 4, 6, 6), (2, 4, 6, 6), False, (1, 1), (0, 0), (1, 1), "f8"),  # kernel as large as the input
    ((1, 2, 5, 4), (3, 2, 2, 3), True, (1, 1), (0, 0), (1, 1), "f4"),
]
STRIDED = [
    ((2, 3, 8, 9), (5, 3, 3, 2), True, (2, 1), (1, 2), (1, 1), "f8"),  # rows left over by the stride
    ((1, 2, 9, 9), (3, 2, 3, 3), False, (1, 1), (2, 2), (2, 2), "f8"),  # dilation
    ((1, 2, 5, 5), (3, 2, 2, 2), True, (2, 2), (1, 1), (2, 2), "f8"),
    ((3, 1, 10, 7), (2, 1, 1, 1), True, (3, 2), (0, 1), (1, 1), "f8"),
    ((2, 3, 12, 11), (4, 3, 5, 3), True, (2, 3), (2, 1), (1, 2), "f4"),
]
SPEED_X, SPEED_W = (1, 2, 64, 64), (3, 2, 3, 3)  # matmuls below OpenBLAS's threading threshold


def _outsize(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _patch(xp, i, j, oh, ow, stride, dilation):
    (sh, sw), (dh, dw) = stride, dilation
    return xp[:, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw]


def _conv(x, w, b, stride, padding, dilation):
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    o, _, kh, kw = w.shape
    oh = _outsize(x.shape[2], kh, stride[0], ph, dilation[0])
    ow = _outsize(x.shape[3], kw, stride[1], pw, dilation[1])
    out = np.zeros((x.shape[0], o, oh, ow))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nchw,oc->nohw", _patch(xp, i, j, oh, ow, stride, dilation), w[:, :, i, j])
    return out if b is None else out + b[None, :, None, None]


def _conv_backward(x, w, has_bias, stride, padding, dilation, g):
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    _, _, kh, kw = w.shape
    oh, ow = g.shape[2:]
    (sh, sw), (dh, dwl) = stride, dilation
    for i in range(kh):
        for j in range(kw):
            dw[:, :, i, j] = np.einsum("nohw,nchw->oc", g, _patch(xp, i, j, oh, ow, stride, dilation))
            dxp[
                :, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dwl : j * dwl + sw * (ow - 1) + 1 : sw
            ] += np.einsum("nohw,oc->nchw", g, w[:, :, i, j])
    dx = dxp[:, :, ph : dxp.shape[2] - ph, pw : dxp.shape[3] - pw]
    return (dx, dw, g.sum(axis=(0, 2, 3))) if has_bias else (dx, dw)


def _inputs(rng, case):
    xs, ws, bias, _, _, _, dtype = case
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[0]).astype(dtype) if bias else None
    return x, w, b


def _forward(cases, seed):
    from hyperion.tensor.ops.conv import Conv2d

    rng = np.random.default_rng(seed)
    out = []
    for case in cases:
        x, w, b = _inputs(rng, case)
        _, _, _, stride, padding, dilation, _ = case
        y = Conv2d().forward(x, w, b, stride=stride, padding=padding, dilation=dilation)
        out.append({"x": x, "w": w, "b": b, "out": np.asarray(y)})
    return out


def _check_forward(cases, sub, ref):
    for case, got, mine in zip(cases, sub, ref, strict=True):
        for k in ("x", "w", "b"):
            assert_true((got[k] is None) == (mine[k] is None), "the probe's input differs")
            if mine[k] is not None:
                assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")
        x, w, b = mine["x"], mine["w"], mine["b"]
        xs, ws, _, stride, padding, dilation, dtype = case
        what = f"conv2d forward x{xs} w{ws} stride={stride} padding={padding} dilation={dilation} ({x.dtype})"
        want = _conv(
            x.astype(np.float64),
            w.astype(np.float64),
            None if b is None else b.astype(np.float64),
            stride,
            padding,
            dilation,
        )
        val = got["out"]
        assert_true(val.dtype == x.dtype, f"{what}: dtype {val.dtype}, expected {x.dtype}")
        assert_true(val.shape == want.shape, f"{what}: shape {val.shape}, expected {want.shape}")
        tol = (1e-4, 1e-4) if x.dtype == np.float32 else (1e-9, 1e-10)
        assert_close(val.astype(np.float64), want, rtol=tol[0], atol=tol[1], name=what)


@probe
def forward_plain():
    return _forward(PLAIN, 27)


def check_forward_plain(sub, ref):
    _check_forward(PLAIN, sub, ref)


@probe
def forward_strided():
    return _forward(STRIDED, 28)


def check_forward_strided(sub, ref):
    _check_forward(STRIDED, sub, ref)


@probe
def backward():
    from hyperion.tensor.ops.conv import Conv2d

    rng = np.random.default_rng(29)
    out = []
    for case in PLAIN + STRIDED:
        x, w, b = _inputs(rng, case)
        _, _, _, stride, padding, dilation, _ = case
        f = Conv2d()
        y = np.asarray(f.forward(x, w, b, stride=stride, padding=padding, dilation=dilation))
        g = rng.standard_normal(y.shape).astype(x.dtype)
        grads = f.backward(g)
        out.append({"x": x, "w": w, "b": b, "g": g, "n": len(grads), "grads": [np.asarray(t) for t in grads]})
    return out


def check_backward(sub, ref):
    for case, got, mine in zip(PLAIN + STRIDED, sub, ref, strict=True):
        for k in ("x", "w", "b", "g"):
            assert_true((got[k] is None) == (mine[k] is None), "the probe's input differs")
            if mine[k] is not None:
                assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")
        x, w, g = mine["x"], mine["w"], mine["g"]
        xs, ws, bias, stride, padding, dilation, dtype = case
        what = (
            f"conv2d backward x{xs} w{ws} stride={stride} padding={padding} dilation={dilation} ({x.dtype})"
        )
        want = _conv_backward(
            x.astype(np.float64), w.astype(np.float64), bias, stride, padding, dilation, g.astype(np.float64)
        )
        assert_true(
            got["n"] == len(want),
            f"{what}: {got['n']} gradients, expected {len(want)} (input, weight{', bias' if bias else ''})",
        )
        tol = (2e-4, 2e-4) if x.dtype == np.float32 else (1e-9, 1e-10)
        for name, val, wk in zip(("input", "weight", "bias"), got["grads"], want):
            assert_true(
                val.dtype == x.dtype, f"{what}: {name} gradient dtype {val.dtype}, expected {x.dtype}"
            )
            assert_true(
                val.shape == wk.shape, f"{what}: {name} gradient shape {val.shape}, expected {wk.shape}"
            )
            assert_close(
                val.astype(np.float64),
                wk,
                rtol=tol[0],
                atol=tol[1] * max(np.abs(wk).max(), 1.0),
                name=f"{what}: {name} gradient",
            )


def _speed_inputs(rng):
    """Judge side: fresh inputs for every timed round."""
    return {
        "x": rng.standard_normal(SPEED_X).astype(np.float32),
        "w": rng.standard_normal(SPEED_W).astype(np.float32),
        "b": rng.standard_normal(SPEED_W[0]).astype(np.float32),
        "g": rng.standard_normal((SPEED_X[0], SPEED_W[0], SPEED_X[2], SPEED_X[3])).astype(np.float32),
    }


def _forward_backward(cls, x, w, b, g):
    f = cls()
    y = f.forward(x, w, b, stride=(1, 1), padding=(1, 1), dilation=(1, 1))
    grads = f.backward(g)
    return {"out": np.asarray(y), "dx": np.asarray(grads[0]), "dw": np.asarray(grads[1])}


def naive(x, w, b, g):
    """The baseline: the reference's unmarked Conv2dNaive, in a sandbox without the submission."""
    from hyperion.tensor.ops.conv import Conv2dNaive

    return _forward_backward(Conv2dNaive, x, w, b, g)


@race(baseline=naive, inputs=_speed_inputs, repeat=7, rtol=1e-3, atol=1e-2)
def speed(x, w, b, g):
    from hyperion.tensor.ops.conv import Conv2d

    return _forward_backward(Conv2d, x, w, b, g)


def check_speed(sub, ref):
    what = f"conv2d x{SPEED_X} w{SPEED_W} padding 1 (the timed case)"
    for inputs, got in zip(sub["inputs"], sub["outputs"], strict=True):
        x, w, b, g = (inputs[k].astype(np.float64) for k in ("x", "w", "b", "g"))
        y = _conv(x, w, b, (1, 1), (1, 1), (1, 1))
        dx, dw, _ = _conv_backward(x, w, True, (1, 1), (1, 1), (1, 1), g)
        for name, key, want in (("forward", "out", y), ("input gradient", "dx", dx), ("weight gradient", "dw", dw)):
            assert_close(
                got[key].astype(np.float64), want, rtol=1e-3, atol=1e-4 * np.abs(want).max(), name=f"{what} {name}"
            )
    assert_speedup(sub, at_least=10.0, tolerance=0.3, name="im2col forward+backward vs the naive loop")
