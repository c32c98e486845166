"""Task 1.10: CrossEntropy forward and backward on arrays: reductions, ignore_index, label smoothing,
spatial (N, C, d1, d2) logits, 1e4 logits. Expected values computed in the judge in float64."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.10"
TITLE = "Cross-entropy loss"
POINTS = 12
TIMEOUT = 60

# (logits shape, options, rows to ignore, logit scale, dtype)
CASES = [
    ((6, 5), {}, [], 2.0, "f8"),
    ((6, 5), {"reduction": "sum"}, [], 2.0, "f8"),
    ((6, 5), {"reduction": "none"}, [], 2.0, "f8"),
    ((7, 4), {}, [1, 4], 2.0, "f8"),  # default ignore_index -100
    ((7, 4), {"ignore_index": 2}, [], 2.0, "f8"),  # a real class ignored
    ((6, 5), {"label_smoothing": 0.1}, [], 2.0, "f8"),
    ((8, 3), {"label_smoothing": 0.2, "reduction": "none"}, [0, 5], 2.0, "f8"),
    ((8, 3), {"label_smoothing": 0.3, "reduction": "sum", "ignore_index": 1}, [], 2.0, "f8"),
    ((2, 4, 3, 2), {}, [], 2.0, "f8"),  # spatial logits
    ((2, 4, 3, 2), {"label_smoothing": 0.05, "reduction": "none"}, [3, 7], 2.0, "f8"),
    ((2, 3, 5), {"reduction": "sum", "ignore_index": 0}, [], 2.0, "f8"),
    ((5, 6), {}, [], 1e4, "f8"),  # huge logits
    ((5, 6), {"label_smoothing": 0.1}, [2], 1e4, "f4"),
    ((9, 10), {}, [], 3.0, "f4"),
    ((1, 1), {}, [], 1.0, "f8"),  # one class: loss 0
]


@probe
def cases():
    from hyperion.tensor.ops.nn import CrossEntropy

    rng = np.random.default_rng(26)
    out = []
    for shape, options, ignored, scale, dtype in CASES:
        logits = (rng.standard_normal(shape) * scale).astype(dtype)
        tshape = (shape[0],) + shape[2:]
        target = rng.integers(0, shape[1], size=tshape).astype(np.int64)
        flat = target.reshape(-1)
        flat[ignored] = options.get("ignore_index", -100)
        f = CrossEntropy()
        loss = np.asarray(f.forward(logits, target, **options))
        gshape = tshape if options.get("reduction") == "none" else ()
        grad = rng.uniform(0.5, 1.5, size=gshape).astype(dtype)
        dlogits = np.asarray(f.backward(grad))
        out.append({"logits": logits, "target": target, "grad": grad, "loss": loss, "dlogits": dlogits})
    return out


def _expected(logits, target, grad, options):
    ii, eps = options.get("ignore_index", -100), options.get("label_smoothing", 0.0)
    reduction = options.get("reduction", "mean")
    c = logits.shape[1]
    rows = np.moveaxis(logits, 1, -1).reshape(-1, c)
    t = target.reshape(-1)
    keep = t != ii
    safe = np.where(keep, t, 0)
    shifted = rows - rows.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    idx = np.arange(rows.shape[0])
    loss = (-(1 - eps) * logp[idx, safe] - eps / c * logp.sum(axis=1)) * keep
    count = max(int(keep.sum()), 1)
    q = np.full(rows.shape, eps / c)
    q[idx, safe] += 1 - eps
    d = (np.exp(logp) - q) * keep[:, None]
    if reduction == "none":
        value, d = loss.reshape(target.shape), d * grad.reshape(-1, 1)
    elif reduction == "sum":
        value, d = loss.sum(), d * grad
    else:
        value, d = loss.sum() / count, d * grad / count
    moved = (logits.shape[0],) + logits.shape[2:] + (c,)
    return value, np.moveaxis(d.reshape(moved), -1, 1)


def check_cases(sub, ref):
    assert_true(len(sub) == len(ref), "wrong number of cases")
    for (shape, options, _ignored, scale, _dtype), got, mine in zip(CASES, sub, ref, strict=True):
        for k in ("logits", "target", "grad"):
            assert_close(got[k], mine[k], rtol=0, atol=0, name="the probe's input")
        logits = mine["logits"]
        what = (
            f"cross_entropy({shape} logits{', ' if options else ''}"
            + ", ".join(f"{k}={v!r}" for k, v in options.items())
            + f"; {logits.dtype}"
            + (", |x|~1e4" if scale > 100 else "")
            + ")"
        )
        value, dlogits = _expected(
            logits.astype(np.float64), mine["target"], mine["grad"].astype(np.float64), options
        )
        rtol, atol = (1e-4, 1e-5) if logits.dtype == np.float32 else (1e-9, 1e-12)
        parts = (("loss", got["loss"], value), ("gradient with respect to the logits", got["dlogits"], dlogits))
        for name, val, want in parts:
            assert_true(
                val.dtype == logits.dtype, f"{what} {name}: dtype {val.dtype}, expected {logits.dtype}"
            )
            assert_true(
                val.shape == np.shape(want), f"{what} {name}: shape {val.shape}, expected {np.shape(want)}"
            )
            assert_true(bool(np.all(np.isfinite(val))), f"{what} {name}: not finite (overflow?)")
            assert_close(
                val.astype(np.float64),
                want,
                rtol=rtol,
                atol=atol * max(np.abs(want).max(), 1.0),
                name=f"{what} {name}",
            )
