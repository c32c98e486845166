"""Task 1.13: nn.Linear: PyTorch's parameter layout and U(-1/√in, 1/√in) init drawn weight-then-bias
from the generator; forward for any leading dimensions, recorded in the graph."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.13"
TITLE = "nn.Linear"
POINTS = 8
TIMEOUT = 60

SIZES = [(3, 4, True), (5, 2, False), (1, 1, True), (16, 8, True)]


@probe
def init():
    from hyperion import nn
    from hyperion.tensor.random import Generator

    out = []
    for fan_in, fan_out, bias in SIZES:
        layer = nn.Linear(fan_in, fan_out, bias=bias, generator=Generator(31 + fan_in))
        names = list(layer._parameters)  # not named_parameters(): that is Task 1.12
        b = layer._parameters.get("bias")
        out.append(
            {
                "names": names,
                "weight": layer.weight.detach().numpy(),
                "weight_type": type(layer.weight).__name__,
                "weight_grad": bool(layer.weight.requires_grad),
                "bias": None if b is None else b.detach().numpy(),
                "bias_type": type(b).__name__,
                "features": [layer.in_features, layer.out_features],
            }
        )
    f64 = nn.Linear(3, 2, dtype=np.float64, generator=Generator(5))
    out.append({"dtype": [str(f64.weight.dtype), str(f64.bias.dtype)]})
    return out


def check_init(sub, ref):
    for (fan_in, fan_out, bias), got, want in zip(SIZES, sub[:-1], ref[:-1], strict=True):
        what = f"Linear({fan_in}, {fan_out}, bias={bias})"
        assert_true(
            got["names"] == ["weight", "bias"],
            f"{what}: registered parameters {got['names']}, expected "
            "['weight', 'bias'] (bias=None registered when absent)",
        )
        assert_true(
            got["weight_type"] == "Parameter" and got["weight_grad"], f"{what}: weight must be a Parameter"
        )
        w = got["weight"]
        assert_true(
            isinstance(w, np.ndarray) and w.shape == (fan_out, fan_in),
            f"{what}: weight shape {getattr(w, 'shape', None)}, expected {(fan_out, fan_in)}",
        )
        assert_true(w.dtype == np.float32, f"{what}: weight dtype {w.dtype}, expected float32")
        k = 1 / np.sqrt(fan_in)
        assert_true(bool(np.all(np.abs(w) <= k)), f"{what}: weights outside U(-1/sqrt(in), 1/sqrt(in))")
        if bias:
            assert_true(got["bias_type"] == "Parameter", f"{what}: bias must be a Parameter")
            assert_true(
                got["bias"].shape == (fan_out,) and got["bias"].dtype == np.float32,
                f"{what}: bias shape {got['bias'].shape} {got['bias'].dtype}, expected ({fan_out},) float32",
            )
            assert_true(
                bool(np.all(np.abs(got["bias"]) <= k)), f"{what}: bias outside U(-1/sqrt(in), 1/sqrt(in))"
            )
        else:
            assert_true(got["bias"] is None, f"{what}: bias must be None")
        assert_close(
            w,
            want["weight"],
            rtol=0,
            atol=0,
            name=f"{what}: weight values (draw weight first, then bias, from the generator, with uniform_)",
        )
        if bias:
            assert_close(got["bias"], want["bias"], rtol=0, atol=0, name=f"{what}: bias values")
        assert_true(got["features"] == [fan_in, fan_out], f"{what}: in_features/out_features wrong")
    assert_true(
        sub[-1]["dtype"] == ["float64", "float64"], f"Linear(dtype=float64): parameters {sub[-1]['dtype']}"
    )


@probe
def forward():
    import hyperion.tensor as ht
    from hyperion import nn
    from hyperion.nn import Parameter

    rng = np.random.default_rng(32)
    out = []
    for shape, bias in [
        ((5, 3), True),
        ((2, 4, 3), True),
        ((3,), True),
        ((6, 3), False),
        ((2, 1, 2, 3), False),
    ]:
        layer = nn.Linear(3, 4, bias=bias)
        w = rng.standard_normal((4, 3)).astype(np.float32)
        b = rng.standard_normal(4).astype(np.float32)
        layer.weight = Parameter(w)
        if bias:
            layer.bias = Parameter(b)
        x = rng.standard_normal(shape).astype(np.float32)
        y = layer(ht.tensor(x))
        out.append(
            {
                "x": x,
                "w": w,
                "b": b if bias else None,
                "y": y.detach().numpy(),
                "graph": bool(y.requires_grad and y.grad_fn is not None),
            }
        )
    return out


def check_forward(sub, ref):
    for got, mine in zip(sub, ref, strict=True):
        for k in ("x", "w", "b"):
            if mine[k] is not None:
                assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")
        x, w, b = (None if mine[k] is None else mine[k].astype(np.float64) for k in ("x", "w", "b"))
        want = x @ w.T + (0 if b is None else b)
        what = f"Linear(3, 4, bias={b is not None}) on input of shape {x.shape}"
        assert_true(got["y"].dtype == np.float32, f"{what}: output dtype {got['y'].dtype}, expected float32")
        assert_close(got["y"].astype(np.float64), want, rtol=1e-5, atol=1e-5, name=what)
        assert_true(
            got["graph"], f"{what}: the output is not part of the autograd graph (use differentiable ops)"
        )
