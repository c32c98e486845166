"""Task 1.5: backward of the elementwise Functions, called directly on arrays (no tensors, no engine).

Expected gradients are the analytic derivatives computed here in the judge from the probe's inputs
(which must equal the reference run's inputs); dtypes must be kept (float32 in, float32 out).
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.5"
TITLE = "Elementwise backward"
POINTS = 10
TIMEOUT = 60

SHAPES = [(3, 4), (5,), (), (2, 1, 3)]
EXPONENTS = [2.0, 3.0, 1.0, 0.0, -1.0, 0.5, -1.5, 2.5]


def _arrays(rng, shape, dtype, positive=False, away_from_zero=False):
    x = rng.standard_normal(shape)
    if positive:
        x = np.abs(x) + 0.2
    elif away_from_zero:
        x = np.sign(x + 1e-12) * (np.abs(x) + 0.3)
    return np.asarray(x, dtype=dtype)


def _run(name, fn, inputs, grad, **options):
    from hyperion.tensor.ops import elementwise as E

    f = getattr(E, name)()
    out = f.forward(*inputs, **options)
    grads = f.backward(grad)
    if not isinstance(grads, tuple):
        grads = (grads,)
    return {
        "op": name,
        "inputs": list(inputs),
        "grad": grad,
        "out": np.asarray(out),
        "grads": [np.asarray(g) for g in grads],
        "options": options,
    }


@probe
def binary_ops():
    rng = np.random.default_rng(15)
    cases = []
    for i, shape in enumerate(SHAPES):
        dtype = np.float32 if i == 1 else np.float64
        a, b = _arrays(rng, shape, dtype), _arrays(rng, shape, dtype, away_from_zero=True)
        g = _arrays(rng, shape, dtype)
        cases.append(_run("Mul", None, (a, b), g))
        cases.append(_run("Div", None, (a, b), g))
    return cases


@probe
def unary_ops():
    rng = np.random.default_rng(16)
    cases = []
    for i, shape in enumerate(SHAPES):
        dtype = np.float32 if i == 1 else np.float64
        x, pos = _arrays(rng, shape, dtype), _arrays(rng, shape, dtype, positive=True)
        g = _arrays(rng, shape, dtype)
        cases.append(_run("Exp", None, (x,), g))
        cases.append(_run("Log", None, (pos,), g))
        cases.append(_run("Sqrt", None, (pos,), g))
        cases.append(_run("Sigmoid", None, (x,), g))
        cases.append(_run("Tanh", None, (x,), g))
        cases.append(_run("ReLU", None, (x,), g))
    # saturated and exactly-zero inputs
    x = np.array([-60.0, -20.0, -1e-3, 0.0, 0.0, 1e-3, 20.0, 60.0])
    g = np.linspace(-1.0, 2.0, x.size)
    for name in ("Sigmoid", "Tanh", "ReLU", "Exp"):
        cases.append(_run(name, None, (x,), g))
    return cases


@probe
def pow_scalar():
    rng = np.random.default_rng(17)
    cases = []
    for i, p in enumerate(EXPONENTS):
        dtype = np.float32 if i % 4 == 3 else np.float64
        integral = float(p).is_integer()
        x = _arrays(rng, (3, 5), dtype, positive=not integral, away_from_zero=integral)
        g = _arrays(rng, (3, 5), dtype)
        cases.append(_run("PowScalar", None, (x,), g, exponent=p))
    return cases


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _expected(case):
    op, g = case["op"], case["grad"].astype(np.float64)
    xs = [x.astype(np.float64) for x in case["inputs"]]
    x = xs[0]
    if op == "Mul":
        return [g * xs[1], g * xs[0]]
    if op == "Div":
        return [g / xs[1], -g * xs[0] / xs[1] ** 2]
    if op == "Exp":
        return [g * np.exp(x)]
    if op == "Log":
        return [g / x]
    if op == "Sqrt":
        return [g / (2 * np.sqrt(x))]
    if op == "Sigmoid":
        s = _sigmoid(x)
        return [g * s * (1 - s)]
    if op == "Tanh":
        return [g * (1 - np.tanh(x) ** 2)]
    if op == "ReLU":
        return [g * (x > 0)]
    if op == "PowScalar":
        p = case["options"]["exponent"]
        return [g * 0 if p == 0 else g * p * x ** (p - 1)]
    raise AssertionError(f"unknown op {op}")


def _check(sub, ref):
    assert_true(len(sub) == len(ref), "wrong number of cases")
    for got, mine in zip(sub, ref, strict=True):
        op = mine["op"]
        for a, b in zip(got["inputs"], mine["inputs"], strict=True):
            assert_close(a, b, rtol=0, atol=0, name=f"{op}: the probe's input")
        assert_close(got["grad"], mine["grad"], rtol=0, atol=0, name=f"{op}: the probe's input")
        dtype = mine["grad"].dtype
        shape = mine["grad"].shape
        what = f"{op}.backward (input shape {shape}, {dtype}" + (
            f", exponent {mine['options']['exponent']})" if op == "PowScalar" else ")"
        )
        want = _expected(mine)
        assert_true(
            len(got["grads"]) == len(want),
            f"{what}: returned {len(got['grads'])} gradient(s), expected {len(want)}",
        )
        args = ("a", "b") if len(want) == 2 else ("x",)  # the names of forward's inputs
        for arg, gk, wk in zip(args, got["grads"], want, strict=True):
            name = f"{what}: gradient with respect to {arg}"
            assert_true(gk.shape == shape, f"{name}: shape {gk.shape}, expected {shape}")
            assert_true(
                gk.dtype == dtype, f"{name}: dtype {gk.dtype}, expected {dtype} (keep the input's dtype)"
            )
            tol = (2e-5, 1e-6) if dtype == np.float32 else (1e-9, 1e-12)
            assert_close(gk.astype(np.float64), wk, rtol=tol[0], atol=tol[1], name=name)


check_binary_ops = check_unary_ops = check_pow_scalar = _check
