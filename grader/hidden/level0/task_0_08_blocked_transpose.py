"""Task 0.8: blocked_transpose: equal to a.T for square, tall, wide, tiny and empty arrays and every block
size (dividing the shape or not), a new C-contiguous array of the input's dtype, strided views as input,
the input left untouched."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "0.8"
TITLE = "Blocked transpose"
POINTS = 6
TIMEOUT = 60

CASES = [((64, 64), 16), ((64, 64), 64), ((50, 37), 8), ((37, 50), 8), ((1, 9), 4), ((9, 1), 4),
         ((1, 1), 1), ((100, 3), 7), ((3, 100), 128), ((130, 129), 32), ((0, 5), 4), ((6, 6), 1)]


@probe
def transposes():
    from hyperion.foundations.locality import blocked_transpose

    out = []
    for i, (shape, block) in enumerate(CASES):
        a = np.random.default_rng(i).standard_normal(shape)
        before = a.copy()
        t = np.asarray(blocked_transpose(a, block))
        out.append({"a": a, "t": t, "contiguous": bool(t.flags.c_contiguous),
                    "shares": bool(np.shares_memory(t, a)), "untouched": bool(np.array_equal(a, before))})
    return out


def check_transposes(sub, ref):
    for (shape, block), got in zip(CASES, sub, strict=True):
        what = f"blocked_transpose(a of shape {shape}, block={block})"
        want = got["a"].T
        assert_true(got["t"].shape == want.shape, f"{what}: shape {got['t'].shape}, expected {want.shape}")
        assert_true(np.array_equal(got["t"], want), f"{what} differs from a.T")
        assert_true(got["contiguous"], f"{what}: the result must be C-contiguous (written tile by tile)")
        assert_true(not got["shares"] or got["a"].size == 0, f"{what}: returned a view of a, not a new array")
        assert_true(got["untouched"], f"{what} modified its input")


@probe
def dtypes_and_views():
    from hyperion.foundations.locality import blocked_transpose

    ints = np.arange(120, dtype=np.int32).reshape(10, 12)
    view = np.arange(300, dtype=np.float32).reshape(15, 20)[1::2, ::3]
    return {"ints": np.asarray(blocked_transpose(ints, 5)), "view": np.asarray(blocked_transpose(view, 4)),
            "view_in": np.ascontiguousarray(view), "bools": np.asarray(blocked_transpose(np.eye(5, dtype=bool)
                                                                                        [:, :3], 2))}


def check_dtypes_and_views(sub, ref):
    ints = np.arange(120, dtype=np.int32).reshape(10, 12)
    assert_true(sub["ints"].dtype == np.int32, f"int32 input gave {sub['ints'].dtype}: keep the dtype")
    assert_true(np.array_equal(sub["ints"], ints.T), "blocked_transpose of an int32 array differs from a.T")
    assert_true(sub["view"].dtype == np.float32, f"float32 input gave {sub['view'].dtype}")
    assert_true(np.array_equal(sub["view"], sub["view_in"].T), "blocked_transpose of a strided view differs "
                "from its transpose")
    assert_true(sub["bools"].dtype == np.bool_ and np.array_equal(sub["bools"], np.eye(5, dtype=bool)[:, :3].T),
                "blocked_transpose of a bool array")
