"""Task 2.8: get_batch draws its starts with one rng.integers call, builds (B, T) int64 inputs and
targets shifted by one, stays inside the data, and refuses data no longer than the context."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "2.8"
TITLE = "Batches of training windows"
POINTS = 6
TIMEOUT = 60

CASES = [  # (data length, dtype, batch, context, seed)
    (100, "int64", 4, 8, 0),
    (1000, "int32", 16, 32, 1),
    (9, "uint16", 3, 8, 2),  # exactly one possible window
    (50, "int64", 1, 1, 3),
]


def _data(n, dtype):
    return (np.arange(n) * 7 % 251).astype(dtype)


@probe
def windows():
    from hyperion.transformer.corpus import get_batch

    out = []
    for n, dtype, batch, context, seed in CASES:
        rng = np.random.default_rng(seed)
        x, y = get_batch(_data(n, dtype), batch, context, rng)
        out.append({"x": np.asarray(x), "y": np.asarray(y), "next": float(rng.random())})
    return out


def check_windows(sub, ref):
    for (n, dtype, batch, context, seed), got in zip(CASES, sub, strict=True):
        data = _data(n, dtype)
        rng = np.random.default_rng(seed)
        starts = rng.integers(0, n - context, size=batch)
        what = f"get_batch(data of {n} {dtype}, batch_size={batch}, context_length={context})"
        for name in ("x", "y"):
            assert_true(got[name].shape == (batch, context), f"{what}: {name} has shape {got[name].shape}, "
                        f"expected {(batch, context)}")
            assert_true(got[name].dtype == np.int64, f"{what}: {name} is {got[name].dtype}, expected int64")
        want_x = data[starts[:, None] + np.arange(context)].astype(np.int64)
        assert_true(np.array_equal(got["x"], want_x),
                    f"{what}: inputs differ from data[s : s + context] at starts rng.integers(0, {n - context}, "
                    f"size={batch})")
        assert_true(np.array_equal(got["y"], data[starts[:, None] + 1 + np.arange(context)].astype(np.int64)),
                    f"{what}: targets must be the inputs' window shifted by one")
        assert_true(got["next"] == float(rng.random()),
                    f"{what}: the generator was not advanced by exactly one rng.integers(..., size=batch) call")


@probe
def coverage():
    from hyperion.transformer.corpus import get_batch

    x, y = get_batch(np.arange(20), 3000, 5, np.random.default_rng(11))
    return {"starts": sorted(set(np.asarray(x)[:, 0].tolist())), "y_max": int(np.asarray(y).max())}


def check_coverage(sub, ref):
    assert_true(sub["starts"] == list(range(15)), f"windows of 5 in 20 tokens must start at 0..14, got "
                f"{sub['starts']}")
    assert_true(sub["y_max"] == 19, "the last target must be able to reach the last token")


@probe
def too_short():
    from hyperion.transformer.corpus import get_batch

    messages = []
    for n in (8, 3):
        try:
            get_batch(np.arange(n), 2, 8, np.random.default_rng(0))
            messages.append(None)
        except ValueError as error:
            messages.append(str(error))
    return messages


def check_too_short(sub, ref):
    for n, message in zip((8, 3), sub, strict=True):
        assert_true(message is not None, f"get_batch on {n} tokens with context_length 8 must raise ValueError")
        assert_true(str(n) in message and "8" in message, f"the error must name both lengths ({n} and 8): "
                    f"{message!r}")
