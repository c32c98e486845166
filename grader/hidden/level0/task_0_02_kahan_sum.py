"""Task 0.2: kahan_sum: compensated summation in the input's dtype.

Checks: the dtype is kept; the error against the exact sum (math.fsum in the judge) is within Kahan's bound
(2u + n u²) Σ|x| where naive summation is far outside it; and on small fixed inputs the result is the
recurrence's, bit for bit (the docstring prescribes it; float64 accumulation gives a different float32).
"""

import math

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "0.2"
TITLE = "Kahan summation"
POINTS = 6
TIMEOUT = 60


def _cases():
    rng = np.random.default_rng(32)
    return [
        np.array([1.0] + [1e-8] * 5000, dtype=np.float32),  # naive: 1.0, every small term lost
        np.full(20000, 0.1, dtype=np.float32),  # naive: drifts by ~n u
        rng.random(30000).astype(np.float32),
        (rng.standard_normal(5000) * 1e3).astype(np.float32),
        np.array([1e16] + [1.0] * 3000, dtype=np.float64),  # float64: naive loses all the ones
        np.array([3.5], dtype=np.float32),
        np.zeros(0, dtype=np.float64),
    ]


EXACT = [  # small inputs whose float32 Kahan result is not the correctly rounded sum
    [1.0, 1e-8, 1e-8, 1e-8, 1e-8, -1.0],
    [1e8, 1.0, -1e8, 1.0, 3.0],
    [0.1, 0.2, 0.3, -0.6, 1e-9, 7.0, -7.0],
]


@probe
def sums():
    from hyperion.foundations.floating_point import kahan_sum

    out = []
    for x in _cases() + [np.array(e, dtype=np.float32) for e in EXACT]:
        s = kahan_sum(x)
        out.append({"x": x, "type": type(s).__name__, "value": np.asarray(s)})
    return out


def check_sums(sub, ref):
    cases = _cases()
    for i, (got, mine) in enumerate(zip(sub, ref, strict=True)):
        x, val = mine["x"], got["value"]
        what = f"kahan_sum of {x.size} {x.dtype} numbers"
        assert_true(got["type"] in ("float32", "float64", "ndarray"), f"{what}: returned a {got['type']}")
        assert_true(val.shape == (), f"{what}: returned shape {val.shape}, expected a scalar")
        assert_true(val.dtype == x.dtype, f"{what}: dtype {val.dtype}, expected {x.dtype} (no promotion)")
        truth = math.fsum(x.astype(np.float64).tolist())
        if i < len(cases):
            u = float(np.finfo(x.dtype).eps) / 2
            bound = (2 * u + x.size * u * u) * float(np.abs(x.astype(np.float64)).sum())
            err = abs(float(val) - truth)
            assert_true(err <= bound, f"{what}: error {err:.3g} exceeds Kahan's bound {bound:.3g} "
                                      f"(sum {float(val)!r}, exact {truth!r})")
        else:
            want = mine["value"]
            assert_true(bool(val.view(np.uint32) == want.view(np.uint32)),
                        f"kahan_sum({x.tolist()}) in float32: got {float(val)!r}, the recurrence gives "
                        f"{float(want)!r} (correctly rounded: {float(np.float32(truth))!r})")
