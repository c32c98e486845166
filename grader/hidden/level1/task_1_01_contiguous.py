"""Task 1.1: row-major strides and the contiguity test (pure functions of tuples)."""

from hyperion_grader.hidden import assert_true, probe

TASK = "1.1"
TITLE = "Contiguous strides and is_contiguous"
POINTS = 5
TIMEOUT = 60
PARTIAL = True  # two independent functions, one probe each: half the points for each that is right

# (shape) -> expected strides, computed here in the judge (never trusted from the child)
SHAPES = [(), (5,), (2, 3), (2, 3, 4), (1, 1), (4, 1, 3), (1, 7), (7, 1), (2, 3, 4, 5, 6), (1,)]

# (shape, strides) -> is it row-major contiguous?
LAYOUTS = [
    ((), (), True),  # a scalar
    ((5,), (1,), True),
    ((5,), (2,), False),  # every other element
    ((2, 3), (3, 1), True),
    ((2, 3), (1, 2), False),  # transposed
    ((3, 4), (0, 1), False),  # expanded rows
    ((1,), (17,), True),  # size-1 dims may have any stride
    ((2, 1, 3), (3, 100, 1), True),
    ((1, 4), (0, 1), True),
    ((4, 1), (1, 1), True),
    ((3, 1, 1), (1, 1, 1), True),
    ((2, 3, 4), (12, 4, 1), True),
    ((2, 3, 4), (12, 1, 3), False),
    ((2, 3, 4), (24, 4, 1), False),  # a slice of every other matrix
    ((3, 0, 2), (7, 3, 5), True),  # no elements: contiguous whatever the strides
    ((0,), (3,), True),
    ((2, 2), (2, 2), False),
]


def _expected_strides(shape):
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= n
    return tuple(reversed(out))


def _plain(value):
    """A tuple of ints as sent by the child: (type name, list of ints)."""
    return [type(value).__name__, [int(v) for v in value]]


@probe(reference=False)
def contiguous_strides_cases():
    from hyperion.tensor.strides import contiguous_strides

    return [_plain(contiguous_strides(shape)) for shape in SHAPES]


def check_contiguous_strides_cases(sub, ref):
    for shape, (kind, got) in zip(SHAPES, sub, strict=True):
        want = _expected_strides(shape)
        assert_true(kind == "tuple", f"contiguous_strides({shape}) returned a {kind}, expected a tuple")
        assert_true(tuple(got) == want, f"contiguous_strides({shape}) = {tuple(got)}, expected {want}")


@probe(reference=False)
def is_contiguous_cases():
    from hyperion.tensor.strides import is_contiguous

    return [bool(is_contiguous(shape, strides)) for shape, strides, _ in LAYOUTS]


def check_is_contiguous_cases(sub, ref):
    for (shape, strides, want), got in zip(LAYOUTS, sub, strict=True):
        assert_true(got is want, f"is_contiguous({shape}, {strides}) = {got}, expected {want}")
