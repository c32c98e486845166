"""Comparisons the judge runs on decoded data. Never imported by anything the submission can reach
(the child gets its own copy, and patching that copy changes nothing in the judge)."""

from __future__ import annotations

import numpy as np


def plain(value, limit: int = 200) -> str:
    """A value as a learner reads it: ``0.5``, not ``np.float64(0.5)``; long texts cut in the middle."""
    return shorten(str(value) if isinstance(value, np.generic) else repr(value), limit)


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, the middle replaced by `` … `` (the end often holds a count)."""
    if len(text) <= limit:
        return text
    head = (limit - 3) * 2 // 3
    return text[:head] + " … " + text[len(text) - (limit - 3 - head):]


def assert_true(cond: bool, message: str) -> None:
    if cond is not True:
        raise AssertionError(message)


def assert_close(actual, expected, rtol: float = 1e-5, atol: float = 1e-8, name: str = "value") -> None:
    """Same shape, same dtype kind, same NaN positions, and ``|a - e| <= atol + rtol * |e|`` elementwise."""
    a, e = np.asarray(actual), np.asarray(expected)
    if type(actual) not in (np.ndarray, int, float, complex, bool) or a.dtype.kind not in "biufc":
        raise AssertionError(f"{name}: expected a numeric array, got {type(actual).__name__}")
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape {a.shape}, expected {e.shape}")
    if a.dtype.kind != e.dtype.kind and not (a.dtype.kind in "iu" and e.dtype.kind in "iu"):
        raise AssertionError(f"{name}: dtype {a.dtype}, expected {e.dtype}")
    if a.dtype.kind in "fc" or e.dtype.kind in "fc":
        a64, e64 = a.astype(np.complex128), e.astype(np.complex128)
        nan_a, nan_e = np.isnan(a64), np.isnan(e64)
        if not np.array_equal(nan_a, nan_e):
            raise AssertionError(f"{name}: NaN at different positions")
        with np.errstate(invalid="ignore"):  # inf - inf: equal infinities pass via a64 == e64
            ok = nan_a | (a64 == e64) | (np.abs(a64 - e64) <= atol + rtol * np.abs(e64))
    else:
        ok = a == e
    if not bool(np.all(ok)):
        bad = np.argwhere(~np.asarray(ok))[0] if a.ndim else ()
        idx = tuple(int(i) for i in bad)
        differ = int(np.size(ok) - np.count_nonzero(ok))
        raise AssertionError(
            f"{name}: mismatch at {idx}: got {plain(a[idx])}, expected {plain(e[idx])} "
            f"({differ} of {np.size(ok)} elements differ)"
        )


def assert_match(actual, expected, rtol: float = 1e-5, atol: float = 1e-8, name: str = "result") -> None:
    """Structural equality: same containers and keys, numbers/arrays close, everything else equal."""
    ta, te = type(actual), type(expected)
    numeric = (np.ndarray, int, float, complex)
    if te in numeric and ta in numeric and te is not bool and ta is not bool:
        assert_close(actual, expected, rtol, atol, name)
    elif ta is not te:
        raise AssertionError(f"{name}: got {ta.__name__}, expected {te.__name__}")
    elif te is dict:
        if list(actual) != list(expected):
            raise AssertionError(f"{name}: keys {sorted(actual)}, expected {sorted(expected)}")
        for k in expected:
            assert_match(actual[k], expected[k], rtol, atol, f"{name}[{k!r}]")
    elif te in (list, tuple):
        if len(actual) != len(expected):
            raise AssertionError(f"{name}: length {len(actual)}, expected {len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_match(a, e, rtol, atol, f"{name}[{i}]")
    elif actual != expected:
        raise AssertionError(f"{name}: got {plain(actual)}, expected {plain(expected)}")


def assert_speedup(result: dict, at_least: float, tolerance: float = 0.3, name: str = "speedup") -> None:
    """``result`` from :func:`hyperion_grader.perf.compare_speed`: ``slow/fast >= at_least * (1 - tol)``."""
    if type(result) is not dict or result.get("kind") != "speed":
        raise AssertionError(f"{name}: not a compare_speed result")
    ratio, need = float(result["ratio"]), at_least * (1 - tolerance)
    if not ratio >= need:
        raise AssertionError(
            f"{name}: {ratio:.2f}x faster than the baseline, need {at_least:.2f}x "
            f"(with tolerance: {need:.2f}x); fast {result['fast_s']:.4g}s, "
            f"baseline {result['slow_s']:.4g}s"
        )
