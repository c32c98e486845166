"""One BLAS thread inside numba's parallel region: no nested threading, no OpenMP warnings.

numba's ``np.dot`` calls scipy's OpenBLAS. Called from inside a ``prange`` (numba's OpenMP threads),
a threaded OpenBLAS either prints "Detect OpenMP Loop and this application may hang" (thousands of
lines) or starts its own threads on top of numba's: on a 2-core machine that is 4 threads fighting
for 2 cores, and the flash kernels ran 3x slower than with one BLAS thread per numba thread.

:func:`blas_single_threaded` sets every OpenBLAS loaded in the process to one thread for the
duration of a ``with`` block and restores the previous count after it, so numpy code outside the
kernels keeps its threaded BLAS. The libraries are looked up once (by their exported
``*_set_num_threads`` / ``*_get_num_threads`` symbols, found through ``/proc/self/maps``).
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# (get, set) symbol names: scipy's wheel, numpy's 64-bit-integer wheel (its suffix after the name), a system OpenBLAS
_SYMBOLS = (("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
            ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads"))
_lock = threading.RLock()  # re-entrant: a flash call inside another one's block must not deadlock


@functools.cache
def _openblas_controls() -> tuple[tuple[object, object], ...]:
    """``(get_num_threads, set_num_threads)`` ctypes pairs for every OpenBLAS mapped into the process."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot uses scipy's OpenBLAS: load it first)
    except ImportError:  # pragma: no cover - scipy is a dependency; without it numba has no BLAS either
        pass
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    except OSError:  # not Linux: leave BLAS alone
        return ()
    controls = []
    for path in paths:
        lib = ctypes.CDLL(path)
        for getter, setter in _SYMBOLS:
            if hasattr(lib, getter) and hasattr(lib, setter):
                get, put = getattr(lib, getter), getattr(lib, setter)
                get.restype, put.argtypes = ctypes.c_int, (ctypes.c_int,)
                controls.append((get, put))
                break
    return tuple(controls)


@contextmanager
def blas_single_threaded() -> Iterator[None]:
    """Run the block with one OpenBLAS thread (every OpenBLAS in the process); restore the counts after."""
    controls = _openblas_controls()
    with _lock:
        saved = [get() for get, _ in controls]
        for _, put in controls:
            put(1)
        try:
            yield
        finally:
            for (_, put), n in zip(controls, saved, strict=True):
                put(n)
