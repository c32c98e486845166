"""The one dispatch point: every op reaches numpy or CuPy only through a ``Backend``.

A backend is a small set of primitive kernels over *native arrays* (a numpy or CuPy ndarray, with
its own shape and strides): allocation, elementwise math, reductions, matmul, gather/scatter-add
and the strided view of a flat storage buffer. Ops (``hyperion.tensor.ops``) use Python's
arithmetic operators on native arrays and call the backend for everything else, so a later level
can swap in hand-written kernels by registering another backend for a device::

    register_backend("cuda", MyKernels())     # level 3 does exactly this

The numpy backend serves ``"cpu"``; :class:`CupyBackend` serves ``"cuda"`` with the same code,
since CuPy mirrors numpy's API. Only the few places where the two differ are overridden.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.tensor.errors import DeviceError

Array = Any  # a numpy.ndarray or cupy.ndarray


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
        array = self.xp.asarray(array)
        if not array.flags.c_contiguous:
            array = self.xp.ascontiguousarray(array)
        item = array.itemsize
        return array.reshape(-1), tuple(s // item for s in array.strides), array

    def contiguous(self, x: Array) -> Array:
        return self.xp.ascontiguousarray(x)

    def copy(self, x: Array) -> Array:
        return self.xp.array(x, copy=True, order="C")

    def asarray(self, data: Any, dtype: Any = None) -> Array:
        return self.xp.asarray(data, dtype=dtype)

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

    # ---- reductions --------------------------------------------------------------------------
    def sum(self, x: Array, axis: tuple[int, ...] | None, keepdims: bool) -> Array:
        return self.xp.asarray(self.xp.sum(x, axis=axis, keepdims=keepdims))

    def max(self, x: Array, axis: tuple[int, ...] | None, keepdims: bool) -> Array:
        return self.xp.asarray(self.xp.max(x, axis=axis, keepdims=keepdims))

    def min(self, x: Array, axis: tuple[int, ...] | None, keepdims: bool) -> Array:
        return self.xp.asarray(self.xp.min(x, axis=axis, keepdims=keepdims))

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

    # ---- fused Functions ---------------------------------------------------------------------
    def function(self, op: type) -> type:
        """The Function class that runs ``op`` here: ``op`` itself (its forward/backward composed of
        the primitives above), or a backend's subclass of it with fused kernels -- level 3 maps
        ``Softmax``, ``LayerNorm`` and ``GELU`` to its CUDA kernels this way."""
        return op

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

    def strided_view(
        self, storage: Array, shape: tuple[int, ...], strides: tuple[int, ...], offset: int
    ) -> Array:
        item = storage.itemsize
        return self.xp.ndarray(
            shape,
            storage.dtype,
            memptr=storage.data + offset * item,
            strides=tuple(s * item for s in strides),
        )

    def to_numpy(self, x: Array) -> np.ndarray:
        return self.xp.asnumpy(x)

    def erf(self, x: Array) -> Array:
        from cupyx.scipy.special import erf

        return erf(x)

    def dropout_mask(self, shape: tuple[int, ...], p: float, seed: int, dtype: Any) -> Array:
        keep = self.xp.random.default_rng(seed).random(shape, dtype=np.float32) >= p
        return keep.astype(dtype)

    def windows(self, x: Array, window_shape: tuple[int, ...], axes: tuple[int, ...]) -> Array:
        from cupy.lib.stride_tricks import sliding_window_view

        return sliding_window_view(x, window_shape, axis=axes)


_BACKENDS: dict[str, Backend] = {"cpu": Backend(np)}


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
