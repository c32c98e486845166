"""15_wgmma_3xtf32 (Hopper only): the split against a numpy split, the product against float64 at fp32's
accuracy, on shapes that are not multiples of any tile."""

from __future__ import annotations

import numpy as np
import pytest
from level3_gpu import skip_without_gpu

skip_without_gpu()
import cupy  # noqa: E402

from hyperion.kernels import matmul as mm  # noqa: E402
from hyperion.kernels.matmul import tf32x3  # noqa: E402

if cupy.cuda.Device().compute_capability != "90":
    pytest.skip("15_wgmma_3xtf32 needs a Hopper GPU (sm_90a)", allow_module_level=True)


def tf32_round(x: np.ndarray) -> np.ndarray:
    """fp32 rounded to TF32 (10 mantissa bits), to nearest, ties away from zero: cvt.rna.tf32.f32."""
    bits = x.astype(np.float32).view(np.uint32)
    return ((bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)


def numpy_split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = tf32_round(x)
    return hi, tf32_round((x - hi).astype(np.float32))


def worst_error(c, a, b) -> float:
    """max |C - AB| / (|A| |B|), elementwise against the float64 product: a rounding error per unit of the
    sizes it could be made of (fp32's unit roundoff is 6e-8; one TF32 product alone gives about 5e-4)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return float(np.max(np.abs(np.asarray(c, np.float64) - a64 @ b64) / (np.abs(a64) @ np.abs(b64) + 1e-300)))


def test_split_matches_a_numpy_split():
    m, k, n = 37, 43, 29  # K padded to 44: one zero column in both splits
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((m, k)) * 10.0 ** rng.integers(-8, 8, (m, k))).astype(np.float32)
    b = (rng.standard_normal((k, n)) * 10.0 ** rng.integers(-8, 8, (k, n))).astype(np.float32)
    plan = tf32x3.plan(m, n, k, tf32x3.CONFIGS[0])
    split, kp = plan.split, plan.kp
    assert kp == 44
    scratch = cupy.full((2 * (m + n) * kp,), np.nan, np.float32)
    sa = scratch.data.ptr
    da, db = cupy.asarray(a), cupy.asarray(b)  # held: a temporary's memory would go back to the pool at once
    split(da.data.ptr, sa, db.data.ptr, sa + 2 * m * kp * 4, m, n, k, kp, -(-m // 32) * -(-kp // 32))
    out = scratch.get()
    got_a, got_b = out[:2 * m * kp].reshape(2, m, kp), out[2 * m * kp:].reshape(2, n, kp)
    for got, x in ((got_a, a), (got_b, b.T)):
        hi, lo = numpy_split(x)
        np.testing.assert_array_equal(got[0, :, :k], hi)
        np.testing.assert_array_equal(got[1, :, :k], lo)
        assert not got[:, :, k:].any()
        assert np.all(np.abs(hi.astype(np.float64) + lo - x) <= 2.0 ** -22 * np.abs(x))


@pytest.mark.parametrize("cfg", range(len(tf32x3.CONFIGS)))
@pytest.mark.parametrize("shape", [(1, 1, 1), (67, 45, 33), (257, 129, 63), (300, 64, 520), (130, 2003, 260),
                                   (1001, 999, 1003), (512, 512, 512)])
def test_product_holds_fp32_accuracy(cfg, shape):
    m, k, n = shape
    rng = np.random.default_rng(m + k + n)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    da, db = cupy.asarray(a), cupy.asarray(b)
    out = cupy.full((m, n), np.nan, np.float32)  # poisoned: every element must be written
    c = tf32x3.matmul_3xtf32(da, db, tf32x3.CONFIGS[cfg], out=out).get()
    ours, cublas = worst_error(c, a, b), worst_error(cupy.matmul(da, db).get(), a, b)
    print(f"{shape} cfg {cfg}: worst error ours {ours:.2e}, cuBLAS fp32 {cublas:.2e}")
    assert np.isfinite(c).all() and ours < 1e-6


def test_matmul_auto_takes_15_for_large_products_on_hopper():
    m, k, n = 1000, 1003, 1001  # 1.004e9 multiply-adds: over TF32X3_MIN_MACS
    assert mm.choose_fp32(m, n, k, True) == ("15_wgmma_3xtf32", 0)
    assert mm.choose_fp32(m, n, k, False)[0] != "15_wgmma_3xtf32"
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, n)).astype(np.float32)
    c = mm.matmul_auto(cupy.asarray(a), cupy.asarray(b)).get()
    assert worst_error(c, a, b) < 1e-6


def test_empty_and_zero_k():
    a, b = cupy.ones((3, 0), np.float32), cupy.ones((0, 5), np.float32)
    assert not tf32x3.matmul_3xtf32(a, b).any()
    assert tf32x3.matmul_3xtf32(cupy.ones((0, 4), np.float32), cupy.ones((4, 5), np.float32)).shape == (0, 5)


def test_refuses_what_it_does_not_take():
    with pytest.raises(ValueError, match="float32"):
        tf32x3.matmul_3xtf32(cupy.ones((4, 4), np.float16), cupy.ones((4, 4), np.float32))
    with pytest.raises(ValueError, match="inner dimensions"):
        tf32x3.matmul_3xtf32(cupy.ones((4, 4), np.float32), cupy.ones((5, 4), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        tf32x3.matmul_3xtf32(cupy.ones((4, 8), np.float32)[:, ::2], cupy.ones((4, 4), np.float32))
