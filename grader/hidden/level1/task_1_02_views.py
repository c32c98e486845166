"""Task 1.2: the stride arithmetic of views: permute, expand, view (reshape without copy), basic indexing.

Results are judged by what they *address*: two (shape, strides, offset) triples are the same view when
they visit the same storage positions in the same row-major order. That leaves strides of size-1
dimensions free, as they should be.
"""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "1.2"
TITLE = "View strides: permute, expand, view, index"
POINTS = 12
TIMEOUT = 60
PARTIAL = True  # four independent functions, one probe each: 3 points for each that is right

PERMUTE = [
    ((2, 3, 4), (12, 4, 1), (2, 0, 1)),
    ((2, 3, 4), (12, 4, 1), (0, 1, 2)),
    ((2, 3, 4), (1, 2, 6), (-1, 0, -2)),  # negative dims, non-contiguous input
    ((5, 7), (7, 1), (1, 0)),  # a transpose
    ((3,), (4,), (0,)),
    ((), (), ()),  # a scalar
    ((2, 1, 3, 1), (3, 3, 1, 1), (3, 2, 1, 0)),
]
PERMUTE_BAD = [((2, 3), (3, 1), (0, 0)), ((2, 3, 4), (12, 4, 1), (0, 1)), ((2, 3), (3, 1), (1, 1))]

EXPAND = [
    ((3, 1), (1, 1), (3, 4)),
    ((3,), (1,), (2, 3)),  # a new leading dimension
    ((), (), (2, 3)),  # a scalar everywhere
    ((1,), (1,), (5,)),
    ((3, 1), (1, 7), (3, 5)),  # non-contiguous input keeps its strides
    ((2, 1, 4), (4, 4, 1), (-1, 3, -1)),  # -1 keeps the size
    ((2, 3), (3, 1), (2, 3)),  # nothing to expand
    ((1, 3), (3, 1), (4, 2, 3)),
    ((2, 1), (1, 2), (3, 2, 6)),
]
EXPAND_BAD = [((3,), (1,), (4,)), ((2, 3), (3, 1), (2, 4)), ((2, 3), (3, 1), (3,))]

VIEW = [
    ((2, 3, 4), (12, 4, 1), (6, 4)),
    ((2, 3, 4), (12, 4, 1), (24,)),
    ((2, 3, 4), (12, 4, 1), (2, 12)),
    ((2, 3, 4), (12, 4, 1), (4, 3, 2)),
    ((2, 3, 4), (12, 4, 1), (2, 3, 2, 2)),
    ((2, 3, 4), (12, 4, 1), (1, 24, 1)),
    ((3, 2), (1, 3), (6,)),  # flattening a transpose: no view
    ((3, 2), (1, 3), (3, 2, 1)),  # but adding a size-1 dim is fine
    ((3, 2), (1, 3), (1, 3, 2)),
    ((2, 3), (6, 2), (6,)),  # every other element, evenly: a view
    ((2, 3), (4, 1), (6,)),  # a column slice of a (2, 4): no view
    ((2, 3), (4, 1), (2, 3, 1)),
    ((2, 1, 3), (3, 99, 1), (6,)),  # size-1 dims may carry any stride
    ((2, 1, 3), (3, 99, 1), (3, 2)),
    ((3, 4), (0, 1), (12,)),  # expanded rows cannot flatten
    ((3, 4), (0, 1), (3, 2, 2)),
    ((4,), (2,), (2, 2)),
    ((6, 4), (1, 6), (2, 3, 4)),  # transposed storage, splitting the outer dim
    ((6, 4), (1, 6), (3, 8)),  # ... but not merging across it
    ((), (), (1,)),
    ((), (), (1, 1)),
    ((1,), (1,), ()),
    ((2, 2, 3), (6, 3, 1), (4, 3)),
    ((2, 2, 3), (3, 6, 1), (4, 3)),  # outer two dims swapped: no view
    ((2, 2, 3), (3, 6, 1), (2, 6)),
]

INDEX = [
    ((4, 5), (5, 1), 0, (1, slice(None))),
    ((4, 5), (5, 1), 0, (-1, slice(1, 4, 2))),
    ((4, 5), (5, 1), 0, (slice(None, None, 2), None, 3)),
    ((4, 5), (5, 1), 3, (slice(1, 3), slice(None, None, 3))),  # a nonzero starting offset
    ((2, 3, 4), (1, 2, 6), 0, (slice(1, None), 0)),  # fewer keys than dims
    ((2, 3, 4), (12, 4, 1), 0, (None, 1, None, slice(-2, None), -4)),
    ((2, 3, 4), (12, 4, 1), 0, (slice(-10, 100), slice(None), slice(None, None, 5))),
    ((5,), (3,), 2, (slice(3, 1),)),  # an empty slice
    ((5,), (3,), 2, (4,)),
    ((), (), 0, (None,)),
    ((), (), 5, ()),
    ((3, 4), (0, 1), 0, (2, slice(1, 3))),  # expanded storage
]
INDEX_BAD = [
    ((4, 5), (5, 1), 0, (4,)),
    ((4, 5), (5, 1), 0, (0, -6)),
    ((3,), (1,), 0, (slice(None, None, -1),)),
]


def _outcome(fn, *args):
    """("ok", value) or ("raised", exception class names); NotImplementedError propagates."""
    try:
        return ["ok", fn(*args)]
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001
        return ["raised", [c.__name__ for c in type(exc).__mro__]]


def _ints(value):
    """A shape/strides tuple as plain data: [type name, [ints]] (None stays None)."""
    if value is None:
        return None
    return [type(value).__name__, [int(v) for v in value]]


def _addresses(shape, strides, offset=0):
    """Storage positions of every element of a view, in row-major order."""
    shape, strides = tuple(shape), tuple(strides)
    assert_true(len(shape) == len(strides), f"shape {shape} and strides {strides} differ in length")
    addr = np.full(shape, offset, dtype=np.int64)
    for dim, (n, s) in enumerate(zip(shape, strides)):
        idx = np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (len(shape) - dim - 1))
        addr = addr + idx * int(s)
    return addr


def _tuple_of_ints(data, what):
    assert_true(type(data) is list and len(data) == 2, f"{what}: malformed result")
    kind, values = data
    assert_true(kind == "tuple", f"{what} returned a {kind}, expected a tuple")
    return tuple(values)


def _raised(data, exc_name, what):
    assert_true(data[0] == "raised", f"{what} returned {data[1]!r}, expected {exc_name}")
    assert_true(exc_name in data[1], f"{what} raised {data[1][0]}, expected {exc_name}")


# ---- permute ------------------------------------------------------------------------------------
@probe
def permute_cases():
    from hyperion.tensor.strides import permute_strides

    good = []
    for shape, strides, dims in PERMUTE:
        res = permute_strides(shape, strides, dims)
        good.append([type(res).__name__, _ints(res[0]), _ints(res[1])])
    bad = [_outcome(permute_strides, *case) for case in PERMUTE_BAD]
    for o in bad:
        if o[0] == "ok":
            o[1] = repr(o[1])
    return {"good": good, "bad": bad}


def check_permute_cases(sub, ref):
    for (shape, strides, dims), got, want in zip(PERMUTE, sub["good"], ref["good"], strict=True):
        what = f"permute_strides({shape}, {strides}, {dims})"
        assert_true(got[0] == "tuple", f"{what} returned a {got[0]}, expected a (shape, strides) tuple")
        new_shape = _tuple_of_ints(got[1], what + " shape")
        new_strides = _tuple_of_ints(got[2], what + " strides")
        assert_true(
            (new_shape, new_strides) == (tuple(want[1][1]), tuple(want[2][1])),
            f"{what} = {(new_shape, new_strides)}, expected {(tuple(want[1][1]), tuple(want[2][1]))}",
        )
    for case, got in zip(PERMUTE_BAD, sub["bad"], strict=True):
        _raised(got, "ValueError", f"permute_strides{case} (dims not a permutation)")


# ---- expand -------------------------------------------------------------------------------------
@probe
def expand_cases():
    from hyperion.tensor.strides import expand_strides

    good = [_ints(expand_strides(*case)) for case in EXPAND]
    bad = [_outcome(expand_strides, *case) for case in EXPAND_BAD]
    for o in bad:
        if o[0] == "ok":
            o[1] = repr(o[1])
    return {"good": good, "bad": bad}


def check_expand_cases(sub, ref):
    for (shape, strides, new_shape), got in zip(EXPAND, sub["good"], strict=True):
        what = f"expand_strides({shape}, {strides}, {new_shape})"
        new_strides = _tuple_of_ints(got, what)
        lead = len(new_shape) - len(shape)
        full = tuple(shape[i - lead] if n == -1 else n for i, n in enumerate(new_shape))
        # the expected view: index the original at (i - lead) where the size is kept, 0 where expanded
        want = np.zeros(full, dtype=np.int64)
        for dim, n in enumerate(full):
            if dim >= lead and shape[dim - lead] == n:
                idx = np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (len(full) - dim - 1))
                want = want + idx * strides[dim - lead]
        assert_true(
            len(new_strides) == len(full), f"{what} = {new_strides}: one stride per new dimension expected"
        )
        assert_true(
            np.array_equal(_addresses(full, new_strides), want),
            f"{what} = {new_strides} does not show the input expanded to {full}",
        )
    for case, got in zip(EXPAND_BAD, sub["bad"], strict=True):
        _raised(got, "ShapeError", f"expand_strides{case} (sizes do not match)")


# ---- view ---------------------------------------------------------------------------------------
@probe
def view_cases():
    from hyperion.tensor.strides import view_strides

    return [_ints(view_strides(*case)) for case in VIEW]


def check_view_cases(sub, ref):
    for (shape, strides, new_shape), got, want in zip(VIEW, sub, ref, strict=True):
        what = f"view_strides({shape}, {strides}, {new_shape})"
        if want is None:
            assert_true(got is None, f"{what} = {got and tuple(got[1])}: no view exists, expected None")
            continue
        assert_true(got is not None, f"{what} = None, but a view exists (e.g. strides {tuple(want[1])})")
        new_strides = _tuple_of_ints(got, what)
        assert_true(len(new_strides) == len(new_shape), f"{what} = {new_strides}: wrong length")
        expected = _addresses(shape, strides).reshape(new_shape)
        assert_true(
            np.array_equal(_addresses(new_shape, new_strides), expected),
            f"{what} = {new_strides} does not show the same elements in the same order "
            f"(e.g. {tuple(want[1])} does)",
        )


# ---- index --------------------------------------------------------------------------------------
@probe
def index_cases():
    from hyperion.tensor.strides import index_view

    good = []
    for shape, strides, offset, key in INDEX:
        res = index_view(shape, strides, offset, key)
        good.append([type(res).__name__, _ints(res[0]), _ints(res[1]), int(res[2])])
    bad = [_outcome(index_view, *case) for case in INDEX_BAD]
    for o in bad:
        if o[0] == "ok":
            o[1] = repr(o[1])
    return {"good": good, "bad": bad}


def _numpy_view(shape, strides, offset, key):
    """The expected result: index an array of storage positions with numpy."""
    return _addresses(shape, strides, offset)[key]


def check_index_cases(sub, ref):
    for (shape, strides, offset, key), got in zip(INDEX, sub["good"], strict=True):
        what = f"index_view({shape}, {strides}, {offset}, {key})"
        assert_true(got[0] == "tuple", f"{what} returned a {got[0]}, expected (shape, strides, offset)")
        new_shape = _tuple_of_ints(got[1], what + " shape")
        new_strides = _tuple_of_ints(got[2], what + " strides")
        expected = np.asarray(_numpy_view(shape, strides, offset, key))
        assert_true(new_shape == expected.shape, f"{what}: shape {new_shape}, expected {expected.shape}")
        assert_true(
            np.array_equal(_addresses(new_shape, new_strides, got[3]), expected),
            f"{what} = {(new_shape, new_strides, got[3])} selects the wrong elements",
        )
    names = ["IndexError", "IndexError", "ValueError"]
    for case, got, name in zip(INDEX_BAD, sub["bad"], names, strict=True):
        if name == "ValueError":  # a non-positive step: any error will do, as long as it is one
            assert_true(
                got[0] == "raised", f"index_view{case} (negative step) returned {got[1]!r}, expected an error"
            )
        else:
            _raised(got, name, f"index_view{case} (out of range)")
