"""``fused/column_sum.cu`` (the short column sums ``KernelBackend.sum`` sends to one launch) on the CPU emulator."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.kernels import emulate
from hyperion.kernels.fused.column_sum import column_sum

pytestmark = pytest.mark.skipif(not emulate.available(), reason="the CUDA emulator needs g++ on PATH")


@pytest.mark.parametrize("rows, cols", [(1, 1), (3, 10), (128, 256), (7, 129), (17, 31), (1024, 33), (1000, 1)])
def test_column_sums_equal_numpy_in_float64(rows, cols):
    x = np.random.default_rng(rows * cols).standard_normal((rows, cols)).astype(np.float32)
    got = column_sum(x, xp=np, get_kernel=emulate.get_kernel)
    assert got.shape == (cols,) and got.dtype == np.float32
    np.testing.assert_allclose(got, x.astype(np.float64).sum(0), rtol=1e-5, atol=1e-5)
