"""Hardware intuition: memory locality, measured.

Memory moves in cache lines (64 bytes: eight float64). A traversal that uses every byte of each line it
loads (row order over a C-contiguous array) runs at the speed of the caches and the prefetcher; one that
jumps a whole row between neighbours (column order) uses 8 bytes of every 64 it loads and waits on DRAM.
Three experiments, each timed side by side in one run and reported as ratios (absolute times on a
shared CPU mean little):

- row- vs. column-order traversal of a 2-D array (numba loops, and numpy slices);
- strided access: summing every ``s``-th element, cost per element relative to ``s = 1``;
- transpose: the naive double loop vs. a blocked (tiled) one, whose tiles fit in L1, and the same at a
  power-of-two size, where cache-set conflicts make the naive loop far slower;
- and, once the data sit in cache, SIMD: a sum in strict order vs. one the compiler may vectorise.

The numba kernels are compiled on first use (:func:`kernels`), so importing this module is cheap and
does not need numba. :func:`blocked_transpose` (task 0.8) is plain numpy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache

import numpy as np

__all__ = ["blocked_transpose", "kernels", "best_time", "traversal_experiment", "stride_experiment",
           "transpose_experiment", "pitch_experiment", "simd_experiment", "locality_experiment"]


def blocked_transpose(a: np.ndarray, block: int = 64) -> np.ndarray:
    """Task 0.8: the transpose of a 2-D array, written tile by tile into a new C-contiguous array.

    Copy ``a[i:i+block, j:j+block]`` to ``out[j:j+block, i:i+block]`` (transposed) for every tile; the
    last tiles along each axis may be smaller when ``block`` does not divide the size. Why: a naive
    transpose reads rows and writes columns, so one of the two always strides through memory; a tile
    small enough for L1 cache is read and written while its lines are still there. ``ValueError`` for
    an array that is not 2-D or a ``block`` < 1. The result has ``a``'s dtype.
    """
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"blocked_transpose: expected a 2-D array, got shape {a.shape}")
    if block < 1:
        raise ValueError(f"blocked_transpose: block must be >= 1, got {block}")
    # BEGIN SOLUTION
    rows, cols = a.shape
    out = np.empty((cols, rows), dtype=a.dtype)
    for i in range(0, rows, block):
        for j in range(0, cols, block):
            out[j : j + block, i : i + block] = a[i : i + block, j : j + block].T
    return out
    # END SOLUTION


@cache
def kernels() -> dict[str, Callable]:
    """The numba kernels, compiled on first call (a few seconds): name -> function."""
    from numba import njit

    @njit(cache=False)
    def sum_row_order(a):
        total = 0.0
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                total += a[i, j]
        return total

    @njit(cache=False)
    def sum_column_order(a):
        total = 0.0
        for j in range(a.shape[1]):
            for i in range(a.shape[0]):
                total += a[i, j]
        return total

    @njit(cache=False, fastmath=True)  # may reorder the sum: memory, not the add's latency, is the limit
    def strided_sum(x, stride):
        total = 0.0
        for i in range(0, x.shape[0], stride):
            total += x[i]
        return total

    @njit(cache=False)
    def transpose_naive(a, out):
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                out[j, i] = a[i, j]

    @njit(cache=False)
    def transpose_blocked(a, out, block):
        rows, cols = a.shape
        for i0 in range(0, rows, block):
            for j0 in range(0, cols, block):
                for i in range(i0, min(i0 + block, rows)):
                    for j in range(j0, min(j0 + block, cols)):
                        out[j, i] = a[i, j]

    @njit(cache=False)
    def sum_strict(x):  # IEEE order: each add waits for the one before (no SIMD, one accumulator)
        total = x.dtype.type(0)
        for i in range(x.shape[0]):
            total += x[i]
        return total

    @njit(cache=False, fastmath=True)
    def sum_fast(x):  # reassociation allowed: the compiler uses SIMD lanes and several accumulators
        total = x.dtype.type(0)
        for i in range(x.shape[0]):
            total += x[i]
        return total

    return {"sum_strict": sum_strict, "sum_fast": sum_fast,
            "sum_row_order": sum_row_order, "sum_column_order": sum_column_order,
            "strided_sum": strided_sum, "transpose_naive": transpose_naive,
            "transpose_blocked": transpose_blocked}


def best_time(fns: dict[str, Callable[[], object]], repeat: int = 5) -> dict[str, float]:
    """Best wall time of each zero-argument callable, runs interleaved (so drift hits all alike)."""
    if repeat < 1:
        raise ValueError(f"best_time: repeat must be >= 1, got {repeat}")
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def _numpy_rows(a: np.ndarray) -> float:
    return float(sum(a[i, :].sum() for i in range(a.shape[0])))


def _numpy_columns(a: np.ndarray) -> float:
    return float(sum(a[:, j].sum() for j in range(a.shape[1])))


def traversal_experiment(n: int = 2048, repeat: int = 5, seed: int = 0) -> dict:
    """Sum an ``n×n`` float64 array in row and in column order: times and ``column / row`` ratios."""
    k = kernels()
    a = np.random.default_rng(seed).standard_normal((n, n))
    k["sum_row_order"](a[:2, :2]), k["sum_column_order"](a[:2, :2])  # compile outside the timing
    times = best_time({
        "numba_rows": lambda: k["sum_row_order"](a),
        "numba_columns": lambda: k["sum_column_order"](a),
        "numpy_rows": lambda: _numpy_rows(a),
        "numpy_columns": lambda: _numpy_columns(a),
    }, repeat)
    return {"n": n, "bytes": a.nbytes, "times": times,
            "numba_ratio": times["numba_columns"] / times["numba_rows"],
            "numpy_ratio": times["numpy_columns"] / times["numpy_rows"]}


def stride_experiment(
    size: int = 1 << 24, strides=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512), repeat: int = 5
) -> dict:
    """Sum every ``s``-th float64 of a ``size``-element array (128 MiB by default, beyond any cache).

    Returns the total time relative to ``s = 1`` (``time_ratio``) and the time per element summed
    relative to ``s = 1`` (``per_element_ratio``). While ``s·8`` bytes is within a 64-byte line, every
    line is still loaded, so skipping elements saves little time: the cost per element grows about
    ``s``-fold. What happens past a line depends on the prefetcher, which may still fetch the lines
    in between: the experiment shows it rather than assuming it.
    """
    k = kernels()
    x = np.random.default_rng(0).standard_normal(size)
    k["strided_sum"](x[:16], 1)
    times = best_time({s: (lambda s=s: k["strided_sum"](x, s)) for s in strides}, repeat)
    per_element = {s: times[s] / len(range(0, size, s)) for s in strides}
    first = strides[0]
    return {"size": size, "bytes": x.nbytes, "times": times,
            "time_ratio": {s: times[s] / times[first] for s in strides},
            "per_element_ratio": {s: per_element[s] / per_element[first] for s in strides}}


def transpose_experiment(n: int = 2048, blocks=(8, 16, 32, 64), repeat: int = 5) -> dict:
    """Transpose ``n×n`` float64: naive loop, blocked loops (each block size), numpy's copy; ratios to naive."""
    k = kernels()
    a = np.random.default_rng(0).standard_normal((n, n))
    out = np.empty_like(a)
    k["transpose_naive"](a[:2, :2], out[:2, :2]), k["transpose_blocked"](a[:2, :2], out[:2, :2], 2)
    fns = {"naive": lambda: k["transpose_naive"](a, out)}
    fns |= {f"blocked_{b}": (lambda b=b: k["transpose_blocked"](a, out, b)) for b in blocks}
    fns["numpy_copy"] = lambda: np.ascontiguousarray(a.T)
    times = best_time(fns, repeat)
    return {"n": n, "bytes": a.nbytes, "times": times,
            "speedup_over_naive": {name: times["naive"] / t for name, t in times.items()}}


def pitch_experiment(sizes=(2000, 2048), block: int = 8, repeat: int = 5) -> dict:
    """The naive and the blocked transpose at nearly equal sizes, one a power of two: time per element
    relative to the first size.

    With a 2048-float64 row the row pitch is 16 KiB, a multiple of the 4 KiB one way of a typical x86
    L1 spans (32 KiB in 8 ways, or 48 KiB in 12), so every element of a column maps to the same cache
    set and the set's few ways thrash; 2000 spreads them over the sets. Blocking helps most where that
    conflict exists.
    """
    rows = {}
    for n in sizes:
        t = transpose_experiment(n, blocks=(block,), repeat=repeat)["times"]
        rows[n] = {"naive": t["naive"] / n**2, "blocked": t[f"blocked_{block}"] / n**2}
    first = sizes[0]
    return {"sizes": tuple(sizes), "block": block,
            "naive_per_element_ratio": {n: rows[n]["naive"] / rows[first]["naive"] for n in sizes},
            "blocked_per_element_ratio": {n: rows[n]["blocked"] / rows[first]["blocked"] for n in sizes},
            "blocked_speedup": {n: rows[n]["naive"] / rows[n]["blocked"] for n in sizes}}


def simd_experiment(size: int = 1 << 15, repeat: int = 20) -> dict:
    """Sum an array that fits in L2 (256 KiB of float64 by default) with the adds in strict order vs.
    reassociated (``fastmath``: SIMD lanes, several accumulators), in float64 and float32.

    Returns ``strict / fast`` time ratios per dtype and ``float64 / float32`` for the fast sum (twice the
    lanes per vector register). Memory is not the limit here: the add's latency and width are.
    """
    k = kernels()
    x64 = np.random.default_rng(0).standard_normal(size)
    x32 = x64.astype(np.float32)
    for x in (x64[:4], x32[:4]):
        k["sum_strict"](x), k["sum_fast"](x)
    times = best_time({"strict_f64": lambda: k["sum_strict"](x64), "fast_f64": lambda: k["sum_fast"](x64),
                       "strict_f32": lambda: k["sum_strict"](x32), "fast_f32": lambda: k["sum_fast"](x32)},
                      repeat)
    return {"size": size, "times": times,
            "fast_speedup_f64": times["strict_f64"] / times["fast_f64"],
            "fast_speedup_f32": times["strict_f32"] / times["fast_f32"],
            "f64_over_f32_fast": times["fast_f64"] / times["fast_f32"]}


def locality_experiment(n: int = 2048, size: int = 1 << 24, repeat: int = 5) -> dict:
    """All three experiments, one after another."""
    return {"traversal": traversal_experiment(n, repeat), "stride": stride_experiment(size, repeat=repeat),
            "transpose": transpose_experiment(n, repeat=repeat), "simd": simd_experiment(repeat=repeat)}
