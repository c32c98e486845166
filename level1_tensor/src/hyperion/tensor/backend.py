"""The one dispatch point: every op reaches numpy or CuPy only through a ``Backend``.

A backend is a small set of primitive kernels over *native arrays* (a numpy or CuPy ndarray, with
its own shape and strides): allocation, elementwise math, reductions, matmul, gather/scatter-add
and the strided view of a flat storage buffer. Ops (``hyperion.tensor.ops``) use Python's
arithmetic operators on native arrays and call the backend for everything else, so a later level
can swap in hand-written kernels by registering another backend for a device::

    register_backend("cuda", MyKernels())     # level 3 does exactly this

and a whole op can be replaced on one device by registering a subclass of its ``Function``::

    register_function("cuda", Softmax, KernelSoftmax)   # Backend.function reads this table

That table (one per device) is the only place a device picks a different *Function*; no op
anywhere else asks ``if device == "cuda"``.

The numpy backend serves ``"cpu"``; :class:`CupyBackend` serves ``"cuda"`` with the same code,
since CuPy mirrors numpy's API. Only the few places where the two differ are overridden.
"""

from __future__ import annotations

import ctypes
import functools
import os
from typing import Any

import numpy as np

from hyperion.tensor.errors import DeviceError

Array = Any  # a numpy.ndarray or cupy.ndarray


def _cpu_workers() -> int:
    """The cores this process may run on (its affinity mask, so a grader's one-core box gets one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@functools.lru_cache(maxsize=4096)
def row_major_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Element strides of a C-contiguous array of ``shape`` (a tuple), remembered: results come in few
    shapes. The backend's own, not the learner's Task 1.1, so tasks are graded independently."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


class Backend:
    """Primitive kernels for one device, written against the numpy API (``self.xp``)."""

    device = "cpu"

    def __init__(self, xp: Any = np) -> None:
        self.xp = xp

    # ---- storage and views -------------------------------------------------------------------
    def strided_view(
        self, storage: Array, shape: tuple[int, ...], strides: tuple[int, ...], offset: int
    ) -> Array:
        """A native array looking at ``storage`` through ``shape``/``strides``/``offset`` (elements)."""
        storage = self.xp.asarray(storage)  # a no-op for arrays; realises level 3's lazy storage
        item = storage.itemsize
        return np.ndarray(
            shape,
            storage.dtype,
            buffer=storage,
            offset=offset * item,
            strides=tuple(s * item for s in strides),
        )

    def to_storage(self, array: Array) -> tuple[Array, tuple[int, ...]]:
        """Flat storage and element strides for a result array (copying only if not C-contiguous)."""
        if type(array) is not self.xp.ndarray:  # a scalar or another array type (an op's result is rarely)
            array = self.xp.asarray(array)
        if not array.flags.c_contiguous:
            array = self.xp.ascontiguousarray(array)
        return array.reshape(-1), row_major_strides(array.shape), array

    def contiguous(self, x: Array) -> Array:
        return self.xp.ascontiguousarray(x)

    def copy(self, x: Array) -> Array:
        return self.xp.array(x, copy=True, order="C")

    in_place_grads = True  # the engine may add a gradient into a pending sum it alone holds (level 3's lazy: no)

    def owns_memory(self, x: Array) -> bool:
        """Whether ``x`` is an array over memory of its own (not a view into another array's), so a leaf
        may keep it as its gradient instead of a copy when nothing else refers to it."""
        return (type(x) is self.xp.ndarray and x.base is None and x.flags.c_contiguous
                and getattr(x.flags, "writeable", True))  # CuPy arrays have no writeable flag

    def asarray(self, data: Any, dtype: Any = None) -> Array:
        return self.xp.asarray(data, dtype=dtype)

    def scalar(self, value: Any, dtype: Any) -> Array:
        """The 0-d array a Python number becomes as the operand of a binary op (``x * 0.5``)."""
        return self.asarray(value, dtype)

    def to_numpy(self, x: Array) -> np.ndarray:
        return np.asarray(x)

    # ---- allocation --------------------------------------------------------------------------
    def empty(self, shape: tuple[int, ...], dtype: Any) -> Array:
        return self.xp.empty(shape, dtype=dtype)

    def zeros(self, shape: tuple[int, ...], dtype: Any) -> Array:
        return self.xp.zeros(shape, dtype=dtype)

    def full(self, shape: tuple[int, ...], value: Any, dtype: Any) -> Array:
        return self.xp.full(shape, value, dtype=dtype)

    def arange(self, start: float, stop: float, step: float, dtype: Any) -> Array:
        return self.xp.arange(start, stop, step, dtype=dtype)

    def cast(self, x: Array, dtype: Any) -> Array:
        return x.astype(dtype, copy=False)

    # ---- elementwise -------------------------------------------------------------------------
    def exp(self, x: Array) -> Array:
        return self.xp.exp(x)

    def log(self, x: Array) -> Array:
        return self.xp.log(x)

    def sqrt(self, x: Array) -> Array:
        return self.xp.sqrt(x)

    def abs(self, x: Array) -> Array:
        return self.xp.abs(x)

    def sign(self, x: Array) -> Array:
        return self.xp.sign(x)

    def tanh(self, x: Array) -> Array:
        return self.xp.tanh(x)

    def erf(self, x: Array) -> Array:
        from scipy.special import erf

        return erf(x)

    def maximum(self, a: Array, b: Array) -> Array:
        return self.xp.maximum(a, b)

    def minimum(self, a: Array, b: Array) -> Array:
        return self.xp.minimum(a, b)

    def where(self, cond: Array, a: Array, b: Array) -> Array:
        return self.xp.where(cond, a, b)

    def clip(self, x: Array, lo: Any, hi: Any) -> Array:
        return self.xp.clip(x, lo, hi)

    def add_scaled_(self, target: Array, x: Array, alpha: float) -> Array:
        """``target += alpha * x`` in place (an optimizer's update); returns ``target`` (or, for an array
        type without in-place operators, the new array). A cast numpy refuses raises TypeError first."""
        target += alpha * x
        return target

    def count_outside(self, index: Array, size: int, skip: int) -> int:
        """How many entries of the integer array ``index`` other than ``skip`` lie outside ``[0, size)``
        (a target check: one value read back from the device)."""
        # one pass: a negative index wraps to a huge unsigned one
        return int(((index != skip) & (index.astype(np.uint64) >= size)).sum())

    # ---- reductions --------------------------------------------------------------------------
    def sum(self, x: Array, axis: tuple[int, ...] | None, keepdims: bool) -> Array:
        return self.xp.asarray(x.sum(axis=axis, keepdims=keepdims))  # the method: no numpy wrapper layers

    def max(self, x: Array, axis: tuple[int, ...] | None, keepdims: bool) -> Array:
        return self.xp.asarray(x.max(axis=axis, keepdims=keepdims))  # the method: no numpy wrapper layers

    def min(self, x: Array, axis: tuple[int, ...] | None, keepdims: bool) -> Array:
        return self.xp.asarray(x.min(axis=axis, keepdims=keepdims))  # the method: no numpy wrapper layers

    def argmax(self, x: Array, axis: int | None, keepdims: bool) -> Array:
        return self.xp.asarray(self.xp.argmax(x, axis=axis, keepdims=keepdims))

    def argmin(self, x: Array, axis: int | None, keepdims: bool) -> Array:
        return self.xp.asarray(self.xp.argmin(x, axis=axis, keepdims=keepdims))

    # ---- linear algebra and data movement ----------------------------------------------------
    def matmul(self, a: Array, b: Array) -> Array:
        return self.xp.matmul(a, b)

    def concatenate(self, arrays: list[Array], axis: int) -> Array:
        return self.xp.concatenate(arrays, axis=axis)

    def pad(self, x: Array, pad_width: tuple[tuple[int, int], ...], value: float = 0) -> Array:
        return self.xp.pad(x, pad_width, constant_values=value)

    def take(self, x: Array, index: Any) -> Array:
        """Gather with a numpy-style (advanced) index: returns a copy."""
        return x[index]

    def index_add(self, target: Array, index: Any, values: Array) -> None:
        """Scatter-add ``values`` into ``target[index]`` in place; repeated indices accumulate."""
        self.xp.add.at(target, index, values)

    # ---- Fourier transforms (complex arrays live only inside ops/fft.py) -----------------------
    def rfft(self, x: Array, n: int, axis: int, norm: str) -> Array:
        """Real-to-complex FFT along ``axis``, input cropped or zero-padded to ``n``."""
        return self._fft("rfft", x, n, axis, norm)

    def irfft(self, z: Array, n: int, axis: int, norm: str) -> Array:
        """Complex-to-real inverse FFT along ``axis`` giving ``n`` real values."""
        return self._fft("irfft", z, n, axis, norm)

    def fft(self, z: Array, n: int, axis: int, norm: str) -> Array:
        return self._fft("fft", z, n, axis, norm)

    def ifft(self, z: Array, n: int, axis: int, norm: str) -> Array:
        return self._fft("ifft", z, n, axis, norm)

    def _fft(self, name: str, a: Array, n: int, axis: int, norm: str) -> Array:
        """One transform of ``scipy.fft``: numpy's API, float32 kept, batch split over the process's cores.

        Measured on the 2-core CI machine at (20, 64, 1024) float32: ``numpy.fft.rfft`` 10.7 ms,
        ``scipy.fft.rfft`` 3.3 ms on one worker, 2.1 ms on two.
        """
        import scipy.fft

        return getattr(scipy.fft, name)(a, n=n, axis=axis, norm=norm, workers=_cpu_workers())

    def complex_to_pairs(self, z: Array) -> Array:
        """A complex array as real (re, im) pairs in a new last axis of size 2 (no copy if contiguous)."""
        z = self.xp.ascontiguousarray(z)
        return z.view(z.real.dtype).reshape(*z.shape, 2)

    def pairs_to_complex(self, x: Array) -> Array:
        """The inverse of :meth:`complex_to_pairs`: float32 pairs become complex64, float64 complex128."""
        x = self.xp.ascontiguousarray(x)
        return x.view(self.xp.result_type(x.dtype, self.xp.complex64))[..., 0]

    # ---- fused Functions ---------------------------------------------------------------------
    def function(self, op: type) -> type:
        """The Function class that runs ``op`` here: the override registered for this device with
        :func:`register_function` (level 3's fused Softmax/LayerNorm/GELU, level 2's CUDA flash
        attention), else ``op`` itself (its forward/backward composed of the primitives above)."""
        return _FUNCTIONS.get(self.device, {}).get(op, op)

    def synchronize(self) -> None:
        """Wait until every kernel queued on this device has finished (nothing to wait for on cpu)."""

    # ---- randomness --------------------------------------------------------------------------
    def from_host(self, x: np.ndarray) -> Array:
        """A host array (initialisers and factories draw on the host: the same numbers on every device)."""
        return self.xp.asarray(x)

    def dropout_mask(self, shape: tuple[int, ...], p: float, seed: int, dtype: Any) -> Array:
        """The 0/1 mask ``keep ~ Bernoulli(1 - p)`` in ``dtype``, drawn where the data lives from ``seed``.

        Masks are as large as the activations, so they are drawn on the device (a host draw and copy
        of an attention mask cost more than the whole GPU step); a seed therefore gives the same
        masks on every run of one device, not the same masks on CPU and CUDA (as in PyTorch).
        """
        keep = np.random.Generator(np.random.PCG64(seed)).random(shape, dtype=np.float32) >= p
        return keep.astype(dtype)


class CupyBackend(Backend):
    """The same kernels on CuPy arrays: strided views are built on device memory pointers."""

    device = "cuda"

    def __init__(self) -> None:
        import cupy

        super().__init__(cupy)
        self._scalars: dict[tuple, Array] = {}

    def strided_view(
        self, storage: Array, shape: tuple[int, ...], strides: tuple[int, ...], offset: int
    ) -> Array:
        storage = self.xp.asarray(storage)
        item = storage.itemsize
        return self.xp.ndarray(
            shape,
            storage.dtype,
            memptr=storage.data + offset * item,
            strides=tuple(s * item for s in strides),
        )

    def to_numpy(self, x: Array) -> np.ndarray:
        return self.xp.asnumpy(x)

    def scalar(self, value: Any, dtype: Any) -> Array:
        """One 0-d device array per (dtype, value), made once: uploading a number from the host on
        every call (attention's ``q * scale``, once per layer) took 20 µs of host time on an H100
        machine (2026-12-05), more than launching the multiply it feeds. Sharing is safe because no
        op writes into its inputs. Keyed by ``repr`` so that -0.0 and 0.0 stay apart, and copied from
        a one-element host array: made straight from the number, CuPy's 0-d array held +0.0 for -0.0
        (CuPy 14.2, H100, 2026-12-05: ``x * -0.0`` gave +0.0)."""
        key = (dtype, repr(value))
        array = self._scalars.get(key)
        if array is None:
            if len(self._scalars) >= 4096:  # numbers that never repeat: keep the table small
                self._scalars.clear()
            array = self._scalars[key] = self.xp.asarray(np.array([value], dtype=dtype)).reshape(())
        return array

    def synchronize(self) -> None:
        self.xp.cuda.get_current_stream().synchronize()

    def add_scaled_(self, target: Array, x: Array, alpha: float) -> Array:
        """One kernel (``target += alpha * x``) where both are float arrays of one dtype; else two."""
        if type(x) is not self.xp.ndarray or x.dtype != target.dtype or target.dtype.kind != "f":
            return super().add_scaled_(target, x, alpha)
        _cupy_kernels(self.xp)["add_scaled"](x, alpha, target)
        return target

    def count_outside(self, index: Array, size: int, skip: int) -> int:
        """One single-block kernel and one read (level 1's composition: four kernels and a read); more
        than 65,536 indices (one block would take tens of µs) take level 1's composition."""
        if index.dtype != np.int64 or not index.flags.c_contiguous or index.size > 1 << 16:
            return super().count_outside(index, size, skip)
        count = self.xp.empty(1, np.int64)
        _cupy_kernels(self.xp)["count_outside"]((1,), (256,), (index, np.int64(index.size), np.int64(size),
                                                              np.int64(skip), count))
        return int(count.get()[0])

    def full(self, shape: tuple[int, ...], value: Any, dtype: Any) -> Array:
        """``empty`` and ``fill``: ``cupy.full`` spends about 25 µs of Python in ``copyto`` (H100 host)."""
        out = self.xp.empty(shape, dtype=dtype)
        out.fill(value)
        return out

    def concatenate(self, arrays: list[Array], axis: int) -> Array:
        """One copy kernel per part into a fresh output. ``cupy.concatenate`` of several parts uploads a
        table of their pointers from the host first, which a CUDA-graph capture refuses."""
        arrays = [self.xp.asarray(a) for a in arrays]
        if len(arrays) == 1:
            return arrays[0].copy()
        axis = axis % arrays[0].ndim
        rest = [a.shape[:axis] + a.shape[axis + 1 :] for a in arrays]
        if any(a.ndim != arrays[0].ndim for a in arrays) or any(r != rest[0] for r in rest):
            raise ValueError(f"concatenate: parts must agree except along axis {axis}, got shapes "
                             f"{[a.shape for a in arrays]}")
        shape = list(arrays[0].shape)
        shape[axis] = sum(a.shape[axis] for a in arrays)
        out = self.xp.empty(shape, dtype=self.xp.result_type(*arrays))
        start, index = 0, [slice(None)] * len(shape)
        for a in arrays:
            index[axis] = slice(start, start + a.shape[axis])
            out[tuple(index)] = a
            start += a.shape[axis]
        return out

    def _fft(self, name: str, a: Array, n: int, axis: int, norm: str) -> Array:
        return getattr(self.xp.fft, name)(a, n=n, axis=axis, norm=norm)  # cuFFT, plans cached by CuPy

    def erf(self, x: Array) -> Array:
        from cupyx.scipy.special import erf

        return erf(x)

    def dropout_mask(self, shape: tuple[int, ...], p: float, seed: int, dtype: Any) -> Array:
        keep = self.xp.random.default_rng(seed).random(shape, dtype=np.float32) >= p
        return keep.astype(dtype)

    def windows(self, x: Array, window_shape: tuple[int, ...], axes: tuple[int, ...]) -> Array:
        from cupy.lib.stride_tricks import sliding_window_view

        return sliding_window_view(x, window_shape, axis=axes)


@functools.cache
def _cupy_kernels(cupy: Any) -> dict[str, Any]:
    """The kernels of the two fused primitives (compiled on first use, then cached by CuPy)."""
    return {
        "add_scaled": cupy.ElementwiseKernel("T x, T alpha", "T y", "y += alpha * x", "hyperion_add_scaled"),
        "count_outside": cupy.RawKernel(_COUNT_OUTSIDE, "hyperion_count_outside"),
    }


# one block: each thread counts a stride of the indices, then a tree in shared memory (no atomics, no memset)
_COUNT_OUTSIDE = r"""
extern "C" __global__ void hyperion_count_outside(const long long* x, long long n, long long size,
                                                  long long skip, long long* count) {
    __shared__ long long part[256];
    long long c = 0;
    for (long long i = threadIdx.x; i < n; i += blockDim.x)
        c += (x[i] != skip && (x[i] < 0 || x[i] >= size)) ? 1 : 0;
    part[threadIdx.x] = c;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) count[0] = part[0];
}
"""


def steady_host_malloc() -> bool:
    """Fix glibc malloc's thresholds so that a training loop keeps its freed arrays' memory.

    By default glibc serves large blocks with ``mmap`` below a threshold that moves with the
    workload, and trims the heap above twice that; a step that frees and reallocates the same
    large arrays can then hand the memory back to the kernel and fault it back in every step, or
    not, depending on the order of the first frees -- so the same MLP epoch runs at one of two
    speeds from process to process. Measured with ``python -m hyperion.runtime.bench_host``: about
    43,000 minor page faults per MLP epoch (20 batches) with the defaults in one launch, 12-16 in
    another, and 6-15 every time with fixed thresholds. This sets what ``MALLOC_MMAP_THRESHOLD_``
    (32 MiB, glibc's maximum) and ``MALLOC_TRIM_THRESHOLD_`` (256 MiB) would; it does nothing
    when either variable is set, when ``HYPERION_MALLOC=default``, or where the C library is not glibc.
    Returns whether the thresholds were set.
    """
    names = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    if any(os.environ.get(n) for n in names) or os.environ.get("HYPERION_MALLOC") == "default":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): nothing to fix
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, 32 * 2**20)) and bool(mallopt(m_trim_threshold, 256 * 2**20))


STEADY_HOST_MALLOC = steady_host_malloc()
_BACKENDS: dict[str, Backend] = {"cpu": Backend(np)}
_FUNCTIONS: dict[str, dict[type, type]] = {}  # device -> {Function: its override on that device}


def register_function(device: str, op: type, impl: type | None) -> None:
    """Run ``impl`` (a subclass of the Function ``op``) wherever ``op`` is applied on ``device``;
    ``impl=None`` removes the override. The one per-device table :meth:`Backend.function` reads."""
    if impl is None:
        _FUNCTIONS.get(device, {}).pop(op, None)
        return
    if not (isinstance(op, type) and isinstance(impl, type) and issubclass(impl, op)):
        raise TypeError(f"register_function: {impl!r} must be a subclass of the Function {op!r}")
    _FUNCTIONS.setdefault(device, {})[op] = impl


def registered_functions(device: str) -> dict[type, type]:
    """A copy of ``device``'s override table (for tests and for the profiler's report)."""
    return dict(_FUNCTIONS.get(device, {}))


def register_backend(device: str, backend: Backend) -> None:
    """Make ``backend`` serve ``device`` from now on (level 3 registers its own CUDA kernels)."""
    _BACKENDS[device] = backend


def get_backend(device: str) -> Backend:
    """The backend for ``device`` ("cpu" or "cuda"); CUDA is created on first use."""
    backend = _BACKENDS.get(device)
    if backend is not None:
        return backend
    if device == "cuda":
        try:
            backend = CupyBackend()
            backend.xp.cuda.runtime.getDeviceCount()
        except Exception as error:  # ImportError, CUDARuntimeError, ...
            raise DeviceError(
                f"device 'cuda' is not available ({type(error).__name__}: {error}); "
                "install cupy-cuda13x on a machine with an NVIDIA GPU"
            ) from error
        _BACKENDS[device] = backend
        return backend
    raise DeviceError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        get_backend("cuda")
    except DeviceError:
        return False
    return True
