import numpy as np
import pytest

from hyperion_grader.checks import assert_close, assert_match
from hyperion_grader.wire import WireError, decode, encode


def test_round_trip():
    value = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "t": (1, 2.5, float("nan"), True, None),
        "s": "x",
        "l": [np.int64(3), 1 + 2j, b"raw", 10**30],
        "f": np.asfortranarray(np.eye(3)),
    }
    out = decode(encode(value))
    assert type(out["t"]) is tuple and out["l"][3] == 10**30 and out["l"][2] == b"raw"
    assert out["a"].dtype == np.float32 and out["a"].flags.writeable
    assert out["l"][0].shape == () and out["l"][0].dtype == np.int64  # numpy scalars come back 0-d
    assert_match(out["f"], np.eye(3))
    assert_match(out["t"], value["t"])


class Liar:
    def __eq__(self, other):
        return True


class LyingArray(np.ndarray):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize(
    "bad",
    [
        Liar(),
        np.zeros(3).view(LyingArray),
        np.array([Liar()], dtype=object),
        {1: 2},
        np.zeros(2, dtype=[("a", "f4")]),
        {"x": [Liar()]},
        set(),
    ],
)
def test_refuses_anything_but_plain_data(bad):
    with pytest.raises(WireError):
        encode(bad)


@pytest.mark.parametrize(
    "frame",
    [b"", b"junk", encode([1, 2])[:-1], encode(1) + encode(2), encode(np.zeros(3)).replace(b"<f8", b"|O8")],
)
def test_refuses_malformed_frames(frame):
    with pytest.raises(WireError):
        decode(frame)


def test_assert_close_messages():
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    with pytest.raises(AssertionError, match=r"mismatch at \(1,\)"):
        assert_close(np.array([1.0, 2.5]), np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match="shape"):
        assert_close(np.zeros(2), np.zeros(3))
    with pytest.raises(AssertionError, match="expected a numeric array"):
        assert_close("1", np.zeros(1))
