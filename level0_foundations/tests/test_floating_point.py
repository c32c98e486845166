"""Experiment 2: the floating-point theory holds, measured (formats, cancellation, softmax, summation)."""

import math

import numpy as np
import pytest

from hyperion.foundations.bfloat16 import to_bfloat16
from hyperion.foundations.floating_point import (
    cancellation,
    float_formats,
    growth_exponent,
    kahan_sum,
    log1p_expm1,
    logsumexp,
    naive_sum,
    pairwise_sum,
    softmax,
    softmax_naive,
    softmax_overflow,
    summation_error,
)

torch = pytest.importorskip("torch")

U32 = float(np.finfo(np.float32).eps) / 2


# ---- formats ------------------------------------------------------------------------------------


def test_measured_formats_agree_with_finfo_and_torch():
    measured = {row["format"]: row for row in float_formats()}
    for name in ("float16", "float32", "float64"):
        info = np.finfo(name)
        row = measured[name]
        assert row["eps"] == float(info.eps), name
        assert row["max"] == float(info.max), name
        assert row["min_normal"] == float(info.smallest_normal), name
        assert row["min_subnormal"] == float(info.smallest_subnormal), name
        assert row["mantissa_bits"] == info.nmant, name
    bf = torch.finfo(torch.bfloat16)
    row = measured["bfloat16"]
    assert (row["eps"], row["max"], row["min_normal"]) == (bf.eps, bf.max, bf.smallest_normal)
    assert row["min_subnormal"] == 2.0**-133 and row["mantissa_bits"] == 7
    assert row["max"] < measured["float32"]["max"] < 1.01 * row["max"]  # same exponent range


def test_bfloat16_rounding_matches_torch_bit_for_bit():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, size=20000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = x[np.isfinite(x)]
    ties = np.array([1 + 2**-8, 1 + 3 * 2**-8, 3.3895314e38, 3.40e38, -0.0, 1e-40, 2.0**-133 * 1.5],
                    dtype=np.float32)
    x = np.concatenate([x, ties])
    want = torch.from_numpy(x).to(torch.bfloat16).to(torch.float32).numpy()
    got = to_bfloat16(x)
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    assert np.isnan(to_bfloat16(np.float32(np.nan)))


# ---- cancellation, log1p, expm1 -----------------------------------------------------------------


def test_one_plus_x_minus_one_loses_digits_as_the_bound_says():
    r = cancellation(np.logspace(-7, -1, 13), "float32")
    assert np.all(r["add_sub_naive"] <= r["add_sub_bound"] * 1.0001)
    small = r["x"] < 1e-5
    assert np.max(r["add_sub_naive"][small]) > 1e-3  # thousands of ulps wrong: cancellation
    assert np.max(r["add_sub_naive"][~small]) < 1e-2


def test_one_minus_cos_cancels_and_the_rewrite_does_not():
    r = cancellation(np.logspace(-5, -1, 9), "float32")
    assert np.all(r["one_minus_cos_stable"] < 4 * r["u"])
    assert r["one_minus_cos_naive"][0] == 1.0  # cos(1e-5) rounds to 1: every digit lost
    assert np.all(r["one_minus_cos_naive"] <= r["one_minus_cos_bound"] * 1.0001 + 4 * r["u"])


def test_log1p_and_expm1_keep_small_arguments():
    r = log1p_expm1(np.logspace(-8, -2, 7), "float32")
    assert np.all(r["log1p"] < 4 * U32) and np.all(r["expm1"] < 4 * U32)
    assert r["log_naive"][0] == 1.0 and r["exp_naive"][0] == 1.0  # 1 + 1e-8 == 1 in float32
    assert np.all(r["log_naive"][:4] > 1e-3) and np.all(r["exp_naive"][:4] > 1e-3)


# ---- softmax and logsumexp ----------------------------------------------------------------------


def test_naive_softmax_overflows_exactly_at_log_max_and_stable_never():
    r = softmax_overflow()
    for dt in ("float16", "float32", "float64"):
        assert r[dt]["softmax_naive"] == pytest.approx(r[dt]["log_max"], abs=0.01), dt
        assert r[dt]["logsumexp_naive"] == pytest.approx(r[dt]["log_max"], abs=0.01), dt
        assert r[dt]["softmax_stable"] == math.inf and r[dt]["logsumexp_stable"] == math.inf, dt
    assert r["float32"]["log_max"] == pytest.approx(88.72, abs=0.01)
    at90 = r["at_90_float32"]
    assert np.isnan(at90["softmax_naive"][0]) and np.isinf(at90["logsumexp_naive"])
    assert np.all(np.isfinite(at90["softmax_stable"])) and at90["softmax_stable"].sum() == pytest.approx(1)
    assert float(at90["logsumexp_stable"]) == pytest.approx(90.0)


def test_float16_naive_softmax_overflows_at_logit_12():
    x = np.array([12.0, 0.0], dtype=np.float16)
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.all(np.isfinite(softmax_naive(x)))
    s = softmax(x)
    assert s.dtype == np.float16 and np.all(np.isfinite(s))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_logsumexp_match_torch(dtype, axis):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((4, 5, 6)) * 50).astype(dtype)
    x[0, 0, 0] = 1e4 if dtype == np.float64 else 500.0
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    s, lse = softmax(x, axis=axis), logsumexp(x, axis=axis)
    assert s.dtype == dtype and lse.dtype == dtype
    np.testing.assert_allclose(s, torch.softmax(torch.from_numpy(x), axis).numpy(), **tol)
    np.testing.assert_allclose(lse, torch.logsumexp(torch.from_numpy(x), axis).numpy(), **tol)
    assert logsumexp(x, axis=axis, keepdims=True).shape == tuple(1 if i == axis % 3 else n
                                                                  for i, n in enumerate(x.shape))


def test_logsumexp_of_an_all_minus_infinity_row_is_minus_infinity():
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    np.testing.assert_array_equal(logsumexp(x, axis=1), [-np.inf, 0.0])


# ---- summation ----------------------------------------------------------------------------------


def test_naive_sum_is_the_left_to_right_loop_bit_for_bit():
    x = np.random.default_rng(1).random(3000).astype(np.float32)
    s = np.float32(0)
    for v in x:
        s = s + v
    assert naive_sum(x) == s and naive_sum(x).dtype == np.float32


def test_kahan_keeps_the_small_terms_that_naive_summation_drops():
    x = np.array([1.0] + [1e-8] * 10000, dtype=np.float32)  # each 1e-8 is below half an ulp of 1
    truth = math.fsum(x.astype(np.float64).tolist())  # 1.0001
    assert naive_sum(x) == 1.0  # every small term rounded away
    assert abs(float(kahan_sum(x)) - truth) <= U32 * truth
    assert abs(float(pairwise_sum(x)) - truth) <= 14 * U32 * truth  # ceil(log2 10001) = 14
    assert kahan_sum(x).dtype == np.float32 and pairwise_sum(x).dtype == np.float32
    assert kahan_sum(np.zeros(0, np.float32)) == 0 and pairwise_sum(np.ones(7, np.float32)) == 7


def test_summation_errors_follow_their_bounds_and_growth_rates():
    ns = np.unique(np.round(np.logspace(2, 16, 15, base=2)).astype(int))
    uniform = summation_error(ns, trials=3, data="uniform")
    constant = summation_error(ns, data="constant")
    u = uniform["u"]
    for r in (uniform, constant):
        assert np.all(r["naive"] <= r["naive_bound"])
        assert np.all(r["pairwise"] <= r["pairwise_bound"])
        assert np.all(r["kahan"] <= r["kahan_bound"])
        assert np.all(r["kahan"] <= 1.0001 * u)  # correctly rounded or one rounding away: O(eps), any n
    # naive error grows: like sqrt(n) for random rounding, like n when every rounding has one sign
    assert 0.3 < growth_exponent(ns, uniform["naive"]) < 0.8
    assert growth_exponent(ns, constant["naive"]) > 0.85
    assert uniform["naive"][-1] > 30 * u and constant["naive"][-1] > 3000 * u
    assert uniform["naive"][-1] > 50 * uniform["kahan"][-1]
