"""Task 2.5: top-k and top-p (nucleus) filtering of logits, per row, as used by sample_next.
Expected values are computed here with numpy from the probe's inputs (random logits have no ties, and
no prefix mass lies within 1e-6 of p -- the check asserts it, so no case rests on how a CPU rounds exp;
one case checks that ties at the top-k threshold are kept)."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "2.5"
TITLE = "Top-k and top-p filtering"
POINTS = 10
TIMEOUT = 60
PARTIAL = True  # top-k and top-p are independent functions, one probe each: half the points each

TOP_K = [((10,), 3), ((4, 12), 1), ((3, 7), 5), ((2, 6), 6), ((2, 6), 20)]
TOP_P = [((10,), 0.5), ((4, 12), 0.9), ((3, 7), 0.05), ((2, 6), 1.0), ((5, 30), 0.75)]


def _error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "no error"


def _cases(fn, cases, seed):
    rng = np.random.default_rng(seed)
    out = []
    for shape, arg in cases:
        x = rng.standard_normal(shape) * 2
        before = x.copy()
        out.append({"x": x, "y": np.asarray(fn(x, arg)), "unchanged": bool(np.array_equal(x, before))})
    return out


@probe
def top_k():
    from hyperion.transformer.sampling import top_k_filter

    return {"cases": _cases(top_k_filter, TOP_K, 51),
            "ties": np.asarray(top_k_filter(np.array([1.0, 3.0, 2.0, 3.0, 2.0]), 3)),
            "errors": [_error(lambda: top_k_filter(np.zeros(4), 0))]}


@probe
def top_p():
    from hyperion.transformer.sampling import top_p_filter

    return {"cases": _cases(top_p_filter, TOP_P, 52),
            "errors": [_error(lambda: top_p_filter(np.zeros(4), 0.0)), _error(lambda: top_p_filter(np.zeros(4), 1.5))]}


def _want_top_k(x, k):
    keep = np.zeros(x.shape, bool)
    for idx in np.ndindex(x.shape[:-1]):
        row = x[idx]
        keep[idx] = row >= np.sort(row)[::-1][min(k, len(row)) - 1]
    return keep


def _want_top_p(x, p):
    keep = np.zeros(x.shape, bool)
    for idx in np.ndindex(x.shape[:-1]):
        row = x[idx]
        prob = np.exp(row - row.max())
        prob /= prob.sum()
        order = np.argsort(-row)
        prefix = np.cumsum(prob[order])[:-1]  # masses of the proper prefixes: no tie with p, whatever the CPU
        assert_true(bool(np.all(np.abs(prefix - p) > 1e-6)), f"grader error: a prefix mass is within 1e-6 of p={p}")
        mass = 0.0
        for j in order:
            if mass >= p:
                break
            keep[idx + (j,)] = True
            mass += prob[j]
    return keep


def _check(kind, cases, got_list, ref_list, want_fn):
    for (shape, arg), got, mine in zip(cases, got_list, ref_list, strict=True):
        x = mine["x"]
        assert_true(np.array_equal(got["x"], x), "the probe's input changed")
        what = f"{kind}_filter(shape {shape}, {arg})"
        y = got["y"]
        assert_true(y.shape == x.shape, f"{what}: shape {y.shape}, expected {x.shape}")
        assert_true(got["unchanged"], f"{what}: the input was modified in place (return a copy)")
        keep = want_fn(x, arg)
        kept = np.isfinite(y)
        bad = np.argwhere(kept != keep)
        assert_true(bad.size == 0, f"{what}: entry {tuple(bad[0]) if bad.size else ()} should be "
                    f"{'kept' if bad.size and keep[tuple(bad[0])] else 'set to -inf'}")
        assert_true(bool(np.all(y[~keep] == -np.inf)), f"{what}: removed entries must be -inf")
        assert_true(bool(np.array_equal(y[keep], x[keep])), f"{what}: kept logits must keep their values")


def _errors(got_list, cases):
    for got, what in zip(got_list, cases, strict=True):
        assert_true(got == "ValueError", f"{what}: expected ValueError, got {got}")


def check_top_k(sub, ref):
    _check("top_k", TOP_K, sub["cases"], ref["cases"], _want_top_k)
    ties = sub["ties"]
    assert_true(np.array_equal(np.isfinite(ties), [False, True, True, True, True]),
                f"top_k_filter([1, 3, 2, 3, 2], 3): ties at the threshold are kept, got {ties}")
    _errors(sub["errors"], ("top_k=0",))


def check_top_p(sub, ref):
    _check("top_p", TOP_P, sub["cases"], ref["cases"], _want_top_p)
    _errors(sub["errors"], ("top_p=0", "top_p=1.5"))
