"""Task 1.3: broadcast_shapes, judged against numpy's rules."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "1.3"
TITLE = "broadcast_shapes"
POINTS = 5
TIMEOUT = 60

GOOD = [
    [(2, 3), (3,)],
    [(4, 1, 3), (5, 1)],
    [(), (2, 2)],
    [(2, 2), ()],
    [(1,), (0,)],
    [(0,), (1,)],
    [(2, 1), (1, 3), (1, 1, 1)],
    [(8, 1, 6, 1), (7, 1, 5)],
    [(3, 4)],
    [(1, 1), (1,)],
    [(5, 1, 4), (1, 1, 1), (3, 1), (1,)],
    [(), ()],
    [(1, 2, 1), (3, 1, 1, 4)],
]
BAD = [
    [(2, 3), (3, 2)],
    [(3,), (4,)],
    [(2, 1), (8, 4, 3)],
    [(0,), (2,)],
    [(1, 2), (1, 1), (3, 3)],
]


@probe(reference=False)
def shapes():
    from hyperion.tensor.errors import ShapeError
    from hyperion.tensor.strides import broadcast_shapes

    good = []
    for case in GOOD:
        out = broadcast_shapes(*case)
        good.append([type(out).__name__, [int(n) for n in out]])
    bad = []
    for case in BAD:
        try:
            out = broadcast_shapes(*case)
            bad.append(f"returned {out!r}")
        except NotImplementedError:
            raise
        except ShapeError:
            bad.append("ShapeError")
        except Exception as exc:  # noqa: BLE001
            bad.append(f"raised {type(exc).__name__}")
    return {"good": good, "bad": bad}


def check_shapes(sub, ref):
    for case, (kind, got) in zip(GOOD, sub["good"], strict=True):
        want = np.broadcast_shapes(*case)
        what = f"broadcast_shapes{tuple(case)}"
        assert_true(kind == "tuple", f"{what} returned a {kind}, expected a tuple")
        assert_true(tuple(got) == want, f"{what} = {tuple(got)}, expected {want}")
    for case, got in zip(BAD, sub["bad"], strict=True):
        assert_true(
            got == "ShapeError", f"broadcast_shapes{tuple(case)} {got}, expected it to raise ShapeError"
        )
