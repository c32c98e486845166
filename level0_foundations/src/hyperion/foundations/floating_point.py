"""Experiment 2, floating point: where float arithmetic loses digits, and the rewrites that keep them.

Every function here returns measurements (numpy arrays and numbers), so the notebook
``site/docs/notebooks/l0_floating_point.py`` can draw them and the tests can assert the theory:

- :func:`float_formats` measures epsilon, range and smallest numbers of float16, bfloat16, float32, float64;
- :func:`cancellation` measures the relative error of ``(1 + x) - 1`` and ``1 - cos x`` against rewrites;
- :func:`log1p_expm1` does the same for ``log(1 + x)`` / ``exp(x) - 1`` against ``log1p`` / ``expm1``;
- :func:`softmax_overflow` finds the logit at which naive softmax and logsumexp stop being finite;
- :func:`summation_error` measures the error of naive, pairwise and Kahan summation against ``n``.

Throughout, ``eps`` is the machine epsilon (the gap between 1 and the next float, ``2^-p`` for ``p``
stored mantissa bits) and ``u = eps / 2`` is the unit roundoff: one correctly rounded operation
returns ``x (1 + δ)`` with ``|δ| ≤ u``.
"""

from __future__ import annotations

import math

import numpy as np

from hyperion.foundations.bfloat16 import to_bfloat16

__all__ = [
    "FORMATS",
    "round_to",
    "float_formats",
    "cancellation",
    "log1p_expm1",
    "softmax_naive",
    "logsumexp_naive",
    "softmax",
    "logsumexp",
    "softmax_overflow",
    "naive_sum",
    "pairwise_sum",
    "kahan_sum",
    "summation_error",
    "growth_exponent",
]

FORMATS = ("float16", "bfloat16", "float32", "float64")
_BITS = {"float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}


def round_to(x: np.ndarray | float, fmt: str) -> np.ndarray:
    """``x`` rounded to format ``fmt`` (one of :data:`FORMATS`); bfloat16 is returned as float32."""
    if fmt == "bfloat16":
        return to_bfloat16(x)
    if fmt not in FORMATS:
        raise ValueError(f"round_to: unknown format {fmt!r}; expected one of {FORMATS}")
    return np.asarray(x, dtype=fmt)


def _measure_format(fmt: str) -> dict:
    """Measure one format by arithmetic in it (every intermediate rounded to ``fmt``)."""

    def r(v):
        return round_to(v, fmt)

    one = r(1.0)
    eps = r(1.0)
    while r(one + r(eps / 2)) != one:  # halve while 1 + eps/2 is still distinguishable from 1
        eps = r(eps / 2)
    big = r(1.0)
    while np.isfinite(r(big * 2)):  # the largest power of two
        big = r(big * 2)
    largest = r(big * r(2 - eps))  # the largest power of two times the largest significand
    tiny = r(1.0)
    while r(tiny + r(tiny * eps)) != tiny:  # halve while the gap below is still eps * tiny: normal
        tiny = r(tiny / 2)
    tiny = r(tiny * 2)
    sub = tiny
    while r(sub / 2) != 0:  # halve into the subnormals until the next halving rounds to zero
        sub = r(sub / 2)
    return {
        "format": fmt,
        "bits": _BITS[fmt],
        "mantissa_bits": int(round(-math.log2(float(eps)))),
        "eps": float(eps),
        "max": float(largest),
        "min_normal": float(tiny),
        "min_subnormal": float(sub),
        "log_max": math.log(float(largest)),  # exp(x) overflows for x above this
    }


def float_formats() -> list[dict]:
    """Measured epsilon, largest finite, smallest normal and subnormal of each of :data:`FORMATS`.

    Nothing is read from ``np.finfo``: each number comes from arithmetic in the format (the tests
    compare them with ``np.finfo`` and with PyTorch's bfloat16).
    """
    with np.errstate(over="ignore", under="ignore"):
        return [_measure_format(fmt) for fmt in FORMATS]


def cancellation(xs: np.ndarray, dtype: str = "float32") -> dict:
    """Relative errors of ``(1 + x) - 1`` and ``1 - cos x`` (naive) and of their rewrites, in ``dtype``.

    ``(1 + x) - 1`` keeps only the digits of ``x`` that survive rounding ``1 + x``: its relative error
    is up to ``u / |x|``. ``1 - cos x`` subtracts two numbers that agree in ``-2 log2 x`` leading bits:
    relative error up to about ``2u / x²`` (and 100% once ``cos x`` rounds to 1). The rewrite
    ``2 sin²(x/2)`` has no subtraction. Truth: float64 evaluation of the same ``dtype`` inputs.
    """
    x = np.asarray(xs, dtype=dtype)
    x64 = x.astype(np.float64)
    one = np.asarray(1, dtype=dtype)
    u = float(np.finfo(dtype).eps) / 2

    def rel(got, want):
        return np.abs(got.astype(np.float64) - want) / np.abs(want)

    true_cos = 2 * np.sin(x64 / 2) ** 2
    return {
        "x": x64,
        "dtype": dtype,
        "u": u,
        "add_sub_naive": rel((one + x) - one, x64),
        "add_sub_bound": u / np.abs(x64),
        "one_minus_cos_naive": rel(one - np.cos(x), true_cos),
        "one_minus_cos_stable": rel(2 * np.sin(x / 2) ** 2, true_cos),
        "one_minus_cos_bound": 2 * u / x64**2,
    }


def log1p_expm1(xs: np.ndarray, dtype: str = "float32") -> dict:
    """Relative errors of ``log(1 + x)`` vs ``log1p(x)`` and ``exp(x) - 1`` vs ``expm1(x)``, in ``dtype``.

    Truth: ``log1p``/``expm1`` in float64 of the same ``dtype`` inputs.
    """
    x = np.asarray(xs, dtype=dtype)
    x64 = x.astype(np.float64)
    one = np.asarray(1, dtype=dtype)
    true_log, true_exp = np.log1p(x64), np.expm1(x64)

    def rel(got, want):
        return np.abs(got.astype(np.float64) - want) / np.abs(want)

    return {
        "x": x64,
        "dtype": dtype,
        "log_naive": rel(np.log(one + x), true_log),
        "log1p": rel(np.log1p(x), true_log),
        "exp_naive": rel(np.exp(x) - one, true_exp),
        "expm1": rel(np.expm1(x), true_exp),
    }


def softmax_naive(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` exactly as the formula reads: overflows once ``x > log(max)``."""
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def logsumexp_naive(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(sum(exp(x)))`` as the formula reads: ``inf`` once one ``exp`` overflows."""
    return np.log(np.exp(x).sum(axis=axis))


def logsumexp(x: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """Task 0.3: ``log(sum(exp(x)))`` along ``axis`` that never overflows.

    Use ``logsumexp(x) = m + log(sum(exp(x - m)))`` with ``m = max(x)``: every exponent is ≤ 0
    (no overflow) and one term is exactly 1 (the log never sees 0). A slice that is all ``-inf``
    has ``m = -inf`` and ``x - m`` would be NaN: use ``m = 0`` there, so the answer is
    ``log(0) = -inf``. Keep ``x``'s dtype (float16 and float32 must not be promoted).
    """
    # BEGIN SOLUTION
    x = np.asarray(x)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
    with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf slice is the right answer
        out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)
    # END SOLUTION


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Task 0.3: ``softmax(x) = exp(x - m) / sum(exp(x - m))`` along ``axis``, with ``m = max(x)``.

    The shift changes nothing mathematically (it cancels between numerator and denominator) and
    everything numerically: no ``exp`` of a positive number, a denominator ≥ 1. Keep ``x``'s dtype.
    """
    # BEGIN SOLUTION
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
    # END SOLUTION


def _first_overflow(fn, dtype: str, lo: float = 0.0, hi: float = 1e4) -> float:
    """Smallest logit ``s`` (to 1e-4) at which ``fn([s, 0, -s])`` in ``dtype`` is not finite."""
    def bad(s):
        with np.errstate(over="ignore", invalid="ignore"):
            return not np.all(np.isfinite(fn(np.asarray([s, 0.0, -s], dtype=dtype))))

    if not bad(hi):
        return math.inf
    while hi - lo > 1e-4:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if bad(mid) else (mid, hi)
    return hi


def softmax_overflow(dtypes: tuple[str, ...] = ("float16", "float32", "float64")) -> dict:
    """The logit at which naive softmax/logsumexp stop being finite, per dtype, and ``log(max)``.

    Also the results at the logits ``[90, 0, -90]`` in float32, naive and stable.
    """
    out = {}
    for dt in dtypes:
        out[dt] = {
            "log_max": math.log(float(np.finfo(dt).max)),
            "softmax_naive": _first_overflow(softmax_naive, dt),
            "logsumexp_naive": _first_overflow(logsumexp_naive, dt),
            "softmax_stable": _first_overflow(softmax, dt),
            "logsumexp_stable": _first_overflow(logsumexp, dt),
        }
    x = np.asarray([90.0, 0.0, -90.0], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        out["at_90_float32"] = {
            "softmax_naive": softmax_naive(x),
            "softmax_stable": softmax(x),
            "logsumexp_naive": logsumexp_naive(x),
            "logsumexp_stable": logsumexp(x),
        }
    return out


def naive_sum(x: np.ndarray) -> np.floating:
    """Left-to-right recursive summation ``s = s + x_i`` in ``x``'s dtype.

    ``np.add.accumulate`` is exactly that loop (unlike ``np.sum``, which sums pairwise in blocks),
    run in C; its last element is the sum.
    """
    x = np.asarray(x).reshape(-1)
    return np.add.accumulate(x, dtype=x.dtype)[-1] if x.size else x.dtype.type(0)


def pairwise_sum(x: np.ndarray) -> np.floating:
    """Pairwise (tree) summation in ``x``'s dtype: add neighbours, halve, repeat.

    Each element passes through ``⌈log2 n⌉`` additions instead of up to ``n - 1``, so the error
    bound is ``⌈log2 n⌉ u Σ|x_i|`` instead of ``(n - 1) u Σ|x_i|``.
    """
    x = np.asarray(x).reshape(-1)
    if not x.size:
        return x.dtype.type(0)
    while x.size > 1:
        if x.size % 2:
            x = np.append(x, x.dtype.type(0))  # adding zero is exact
        x = x[0::2] + x[1::2]
    return x[0]


def kahan_sum(x: np.ndarray) -> np.floating:
    """Task 0.2: compensated (Kahan) summation of a 1-D array, every operation in ``x``'s dtype.

    Keep a running sum ``s`` and a compensation ``c`` (the low-order bits the last addition lost):
    for each ``v``: ``y = v - c; t = s + y; c = (t - s) - y; s = t``. ``(t - s)`` is the part of
    ``y`` that made it into ``t``, so ``c`` is minus what was rounded away, and it is fed back into
    the next term. The error bound drops from ``(n - 1) u Σ|x_i|`` to ``(2u + O(n u²)) Σ|x_i|``:
    independent of ``n``. Return a numpy scalar of ``x``'s dtype (no float64 anywhere for float32).
    """
    x = np.asarray(x).reshape(-1)
    # BEGIN SOLUTION
    s = x.dtype.type(0)
    c = x.dtype.type(0)
    for v in x:
        y = v - c
        t = s + y
        c = (t - s) - y
        s = t
    return s
    # END SOLUTION


def summation_error(
    ns: list[int] | np.ndarray, trials: int = 4, data: str = "uniform", dtype: str = "float32", seed: int = 0
) -> dict:
    """Relative error of naive, pairwise and Kahan summation of ``n`` numbers, for each ``n`` in ``ns``.

    ``data="uniform"``: ``U[0, 1)`` draws (rounding errors of random sign, naive error grows like
    ``√n u``); ``data="constant"``: ``n`` copies of ``0.1`` (the rounding error has the same sign
    for long runs, so naive error grows like ``n u``, the shape of its worst-case bound).
    All data are positive, so ``Σ|x_i| = |Σ x_i|`` and the bounds are relative errors:
    naive ``(n - 1) u``, pairwise ``⌈log2 n⌉ u``, Kahan ``2u + n u²``. The truth is ``math.fsum``
    (exact, then rounded once) of the same numbers in float64. Errors are the mean over ``trials``.
    """
    rng = np.random.default_rng(seed)
    u = float(np.finfo(dtype).eps) / 2
    ns = np.asarray(ns, dtype=np.int64)
    errors = {"naive": [], "pairwise": [], "kahan": []}
    for n in ns:
        per_trial = {k: [] for k in errors}
        for _ in range(trials if data == "uniform" else 1):
            if data == "uniform":
                x = rng.random(int(n)).astype(dtype)
            elif data == "constant":
                x = np.full(int(n), 0.1, dtype=dtype)
            else:
                raise ValueError(f"summation_error: data must be 'uniform' or 'constant', not {data!r}")
            truth = math.fsum(x.astype(np.float64).tolist())
            for name, fn in (("naive", naive_sum), ("pairwise", pairwise_sum), ("kahan", kahan_sum)):
                per_trial[name].append(abs(float(fn(x)) - truth) / abs(truth))
        for k in errors:
            errors[k].append(float(np.mean(per_trial[k])))
    n64 = ns.astype(np.float64)
    return {
        "n": ns,
        "u": u,
        "data": data,
        **{k: np.asarray(v) for k, v in errors.items()},
        "naive_bound": (n64 - 1) * u,
        "pairwise_bound": np.ceil(np.log2(n64)) * u,
        "kahan_bound": 2 * u + n64 * u**2,
    }


def growth_exponent(n: np.ndarray, error: np.ndarray) -> float:
    """Least-squares slope of ``log error`` against ``log n`` (error ∝ n^slope).

    Zero errors are skipped; NaN if fewer than two remain.
    """
    keep = np.asarray(error) > 0
    if keep.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(np.asarray(n, dtype=float)[keep]), np.log(np.asarray(error)[keep]), 1)[0])
