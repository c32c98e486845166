"""``matmul/pad16.cu`` (the zero-padded copies that put unaligned tensor-core products on the fast path) on the
CPU emulator."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.kernels import emulate
from hyperion.kernels.matmul.pad import crop32, pad16, pad16_pair

pytestmark = pytest.mark.skipif(not emulate.available(), reason="the CUDA emulator needs g++ on PATH")


@pytest.mark.parametrize("shape, padded", [((1001, 999), (1001, 1000)), ((999, 1003), (1000, 1008)),
                                           ((3, 8), (3, 8)), ((1, 1), (5, 16)), ((7, 13), (9, 24))])
@pytest.mark.parametrize("dtype", [np.uint16, np.float16])
def test_pad16_copies_inside_and_zeroes_outside(shape, padded, dtype):
    bits = np.random.default_rng(shape[0] * shape[1]).integers(1, 2**16, shape, dtype=np.uint16)
    x = bits.view(dtype)
    got = pad16(x, *padded, xp=np, get_kernel=emulate.get_kernel)
    want = np.zeros(padded, np.uint16)
    want[:shape[0], :shape[1]] = bits
    assert got.shape == padded and got.dtype == dtype
    np.testing.assert_array_equal(got.view(np.uint16), want)


def test_pad16_refuses_what_it_cannot_do():
    x = np.zeros((4, 6), np.uint16)
    for rows, cols, dtype in ((4, 12, np.float32), (3, 8, np.uint16), (4, 10, np.uint16), (4, 4, np.uint16)):
        with pytest.raises(ValueError, match="pad16"):
            pad16(x.astype(dtype), rows, cols, xp=np, get_kernel=emulate.get_kernel)


@pytest.mark.parametrize("shape, cols", [((1001, 1008), 1003), ((3, 8), 8), ((5, 16), 1), ((4, 8), 0)])
def test_crop32_keeps_the_first_columns(shape, cols):
    x = np.random.default_rng(cols).standard_normal(shape).astype(np.float32)
    got = crop32(x, cols, xp=np, get_kernel=emulate.get_kernel)
    assert got.shape == (shape[0], cols)
    np.testing.assert_array_equal(got, x[:, :cols])


def test_pad16_pair_pads_both_operands_in_one_launch():
    rng = np.random.default_rng(9)
    a, b = rng.integers(1, 2**16, (7, 13), dtype=np.uint16), rng.integers(1, 2**16, (13, 5), dtype=np.uint16)
    pa, pb = pad16_pair(a, (7, 16), b, (16, 8), xp=np, get_kernel=emulate.get_kernel)
    want_a, want_b = np.zeros((7, 16), np.uint16), np.zeros((16, 8), np.uint16)
    want_a[:, :13], want_b[:13, :5] = a, b
    np.testing.assert_array_equal(pa, want_a)
    np.testing.assert_array_equal(pb, want_b)
