"""Locality: the kernels compute the right thing; the experiments return ratios (never asserted on
speed here: timings are benchmarks, and this machine is shared)."""

import numpy as np
import pytest

from hyperion.foundations import locality as lo


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (64, 64), (70, 129), (1, 200), (200, 1)])
@pytest.mark.parametrize("block", [1, 7, 32, 64, 500])
def test_blocked_transpose_is_the_transpose(shape, block):
    a = np.random.default_rng(0).standard_normal(shape)
    got = lo.blocked_transpose(a, block)
    np.testing.assert_array_equal(got, a.T)
    assert got.flags.c_contiguous and not np.shares_memory(got, a)


def test_blocked_transpose_keeps_dtype_and_reads_views():
    a = np.arange(60, dtype=np.int32).reshape(6, 10)[::2, 1:]  # a strided view
    got = lo.blocked_transpose(a, 4)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, a.T)
    np.testing.assert_array_equal(lo.blocked_transpose(np.zeros((0, 3)), 2), np.zeros((3, 0)))


def test_blocked_transpose_refuses_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        lo.blocked_transpose(np.zeros(4))
    with pytest.raises(ValueError, match="block"):
        lo.blocked_transpose(np.zeros((2, 2)), 0)


def test_numba_kernels_compute_sums_and_transposes():
    k = lo.kernels()
    a = np.random.default_rng(1).standard_normal((37, 53))
    assert k["sum_row_order"](a) == pytest.approx(a.sum(), rel=1e-12)
    assert k["sum_column_order"](a) == pytest.approx(a.sum(), rel=1e-12)
    x = a.ravel()
    for stride in (1, 3, 8, 100):
        assert k["strided_sum"](x, stride) == pytest.approx(x[::stride].sum(), rel=1e-12)
    for dtype in (np.float64, np.float32):
        y = x.astype(dtype)
        assert k["sum_strict"](y) == pytest.approx(np.sum(y, dtype=np.float64), rel=1e-5)
        assert k["sum_fast"](y) == pytest.approx(np.sum(y, dtype=np.float64), rel=1e-5)
    strict = k["sum_strict"](x)
    assert strict == sum(x.tolist())  # strict order is exactly Python's left-to-right sum
    out = np.empty((53, 37))
    k["transpose_naive"](a, out)
    np.testing.assert_array_equal(out, a.T)
    for block in (1, 8, 16, 64):
        out[:] = 0
        k["transpose_blocked"](a, out, block)
        np.testing.assert_array_equal(out, a.T)


def test_best_time_runs_every_callable_repeat_times():
    calls = {"a": 0, "b": 0}
    times = lo.best_time({"a": lambda: calls.__setitem__("a", calls["a"] + 1),
                          "b": lambda: calls.__setitem__("b", calls["b"] + 1)}, repeat=3)
    assert calls == {"a": 3, "b": 3} and set(times) == {"a", "b"}
    assert all(t >= 0 for t in times.values())
    with pytest.raises(ValueError, match="repeat"):
        lo.best_time({}, repeat=0)


def test_experiments_return_ratios_of_their_own_timings():
    result = lo.locality_experiment(n=128, size=1 << 12, repeat=1)
    trav = result["traversal"]
    assert trav["numba_ratio"] == pytest.approx(trav["times"]["numba_columns"] / trav["times"]["numba_rows"])
    stride = result["stride"]
    assert stride["time_ratio"][1] == 1.0 and stride["per_element_ratio"][1] == 1.0
    assert stride["per_element_ratio"][8] == pytest.approx(stride["time_ratio"][8] * 8)
    speedups = result["transpose"]["speedup_over_naive"]
    assert speedups["naive"] == 1.0 and {"blocked_8", "blocked_64", "numpy_copy"} <= set(speedups)
    assert all(np.isfinite(v) and v > 0 for v in speedups.values())
    simd = result["simd"]
    assert simd["fast_speedup_f64"] == pytest.approx(simd["times"]["strict_f64"] / simd["times"]["fast_f64"])


def test_pitch_experiment_reports_ratios_to_the_first_size():
    result = lo.pitch_experiment(sizes=(60, 64), block=8, repeat=1)
    assert result["naive_per_element_ratio"][60] == 1.0 and result["blocked_per_element_ratio"][60] == 1.0
    assert set(result["blocked_speedup"]) == {60, 64}
    assert all(np.isfinite(v) and v > 0 for v in result["blocked_speedup"].values())
