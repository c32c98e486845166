"""``fused/add_scaled.cu`` (an optimizer's ``target += alpha * x`` in one planned launch) on the CPU emulator."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.kernels import emulate
from hyperion.kernels.fused.add_scaled import add_scaled

pytestmark = pytest.mark.skipif(not emulate.available(), reason="the CUDA emulator needs g++ on PATH")


@pytest.mark.parametrize("shape", [(1,), (7, 13), (784, 256), (300_001,)])
@pytest.mark.parametrize("alpha", [-0.01, 3.0, -0.0])
def test_add_scaled_is_one_fused_multiply_add_in_fp32(shape, alpha):
    rng = np.random.default_rng(shape[0])
    target, x = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    x.flat[0], target.flat[-1] = np.nan, np.inf
    want = (target.astype(np.float64) + np.float64(np.float32(alpha)) * x.astype(np.float64)).astype(np.float32)
    got = add_scaled(target.copy(), x, alpha, xp=np, get_kernel=emulate.get_kernel)
    np.testing.assert_array_max_ulp(got, want, maxulp=1)  # fma rounds once; the float64 sum can round twice


def test_add_scaled_refuses_mismatched_arrays():
    for target, x in ((np.zeros(3, np.float32), np.zeros(4, np.float32)),
                      (np.zeros(3, np.float64), np.zeros(3, np.float64))):
        with pytest.raises(ValueError, match="add_scaled: two fp32 arrays of one shape"):
            add_scaled(target, x, 1.0, xp=np, get_kernel=emulate.get_kernel)
