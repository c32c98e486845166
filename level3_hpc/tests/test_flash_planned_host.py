"""The plan table of the Hopper flash dispatch (``attention.planned``) without a GPU: what a key holds, that a
failed build keeps nothing, that the table stays bounded. CuPy is replaced by a stand-in (the device id)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from hyperion.kernels.attention import planned


@pytest.fixture(autouse=True)
def _fake_cupy(monkeypatch):
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(get_device_id=lambda: 0))
    monkeypatch.setitem(sys.modules, "cupy", fake)


def _arrays(n=3, shape=(1, 2, 8, 64)):
    return tuple(np.zeros(shape, np.float16) for _ in range(n))


def test_the_key_tells_true_from_one_and_each_shape_and_dtype():
    qkv = _arrays()
    keys = {planned._key(qkv, causal, None, None) for causal in (True, 1, False, "top_left")}
    assert len(keys) == 4  # True == 1 in a dict, but 1 must reach the general path's error
    assert planned._key(qkv, True, None, None) == planned._key(_arrays(), True, None, None)
    other = (qkv[0].astype(np.float32), *qkv[1:])
    assert planned._key(other, True, None, None) != planned._key(qkv, True, None, None)
    mask = np.zeros((1, 8), bool)
    assert planned._key(qkv, True, mask, None) != planned._key(qkv, True, mask.astype(np.uint8), None)


def test_an_unhashable_argument_means_no_plan():
    key = planned._key(_arrays(), False, None, np.float32([0.5]))  # an array as the scale
    table: dict = {}
    assert planned._lookup(table, key, lambda: pytest.fail("no hashable key: nothing is built")) is None
    assert table == {}


def test_a_failed_build_keeps_nothing_and_the_table_stays_bounded(monkeypatch):
    table: dict = {}

    def refuse():
        raise ValueError("bad shapes")

    with pytest.raises(ValueError, match="bad shapes"):
        planned._lookup(table, ("k",), refuse)
    assert table == {}
    assert planned._lookup(table, ("none",), lambda: None) is None and table == {("none",): None}
    monkeypatch.setattr(planned, "LIMIT", 4)
    for i in range(10):
        assert planned._lookup(table, (i,), lambda i=i: f"plan {i}") == f"plan {i}"
        assert len(table) <= 4
    assert planned._lookup(table, (9,), lambda: pytest.fail("kept: looked up")) == "plan 9"
