"""The caching allocator (:mod:`.allocator`) on real memory: a numpy arena on the CPU, ``cudaMalloc`` on the GPU.

    from hyperion import runtime
    runtime.use_caching_allocator("cuda")   # every CuPy allocation now goes through our cache
    ...
    runtime.memory_stats("cuda")["reserved_bytes.all.peak"]
    runtime.memory_snapshot("cuda")         # segments and their blocks, as torch.cuda.memory_snapshot()
    runtime.empty_cache("cuda")

One allocator per device, kept in a table (``_ALLOCATORS``); the device's raw memory and events are
what differ:

- ``cuda``: ``cupy.cuda.runtime.malloc``/``free`` for segments, CUDA events for cross-stream reuse,
  installed under CuPy with ``cupy.cuda.set_allocator`` (so CuPy's own pool is bypassed);
- ``cpu``: :class:`Arena`, one numpy byte buffer, carved into segments address-ordered first fit;
  :meth:`HostAllocator.empty` hands out numpy arrays that are views of it and give their block back
  when the last view dies. Same allocator code, so CPU-only CI runs every line of it.
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from hyperion.runtime.allocator import CachingAllocator
from hyperion.tensor.cuda_build import cupy_module

_ALLOCATORS: dict[str, Any] = {}


class Arena:
    """``capacity`` bytes of one numpy buffer, handed out as ``(offset, size)`` ranges (the "device")."""

    ALIGN = 512

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"Arena capacity must be positive, got {capacity}")
        self.buffer = np.empty(capacity, dtype=np.uint8)
        self.capacity = capacity
        self.free_ranges: list[tuple[int, int]] = [(0, capacity)]  # (offset, size), by offset
        self.sizes: dict[int, int] = {}

    def alloc(self, size: int) -> int:
        """The offset of ``size`` free bytes (first fit); MemoryError when no range is large enough."""
        size = -(-size // self.ALIGN) * self.ALIGN
        for i, (offset, length) in enumerate(self.free_ranges):
            if length >= size:
                if length == size:
                    self.free_ranges.pop(i)
                else:
                    self.free_ranges[i] = (offset + size, length - size)
                self.sizes[offset] = size
                return offset
        raise MemoryError(f"arena of {self.capacity} bytes has no free range of {size} bytes")

    def free(self, offset: int) -> None:
        size = self.sizes.pop(offset)
        i = bisect.bisect_left(self.free_ranges, (offset, 0))
        self.free_ranges.insert(i, (offset, size))
        if i + 1 < len(self.free_ranges) and offset + size == self.free_ranges[i + 1][0]:  # merge right
            self.free_ranges[i] = (offset, size + self.free_ranges.pop(i + 1)[1])
        if i > 0 and sum(self.free_ranges[i - 1]) == offset:  # merge left
            prev = self.free_ranges.pop(i - 1)
            self.free_ranges[i - 1] = (prev[0], prev[1] + self.free_ranges[i - 1][1])


class HostAllocator(CachingAllocator):
    """The caching allocator over an :class:`Arena`; :meth:`empty` returns numpy arrays in it."""

    def __init__(self, capacity: int = 256 * 2**20) -> None:
        self.arena = Arena(capacity)
        super().__init__(self.arena.alloc, self.arena.free, name="cpu")

    def empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """An uninitialised array in the arena; its block is freed when the array (and every view
        of it) is garbage."""
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        nbytes = max(count * dtype.itemsize, 1)
        offset = self.malloc(nbytes)
        lease = _Lease(self.arena.buffer, offset, shape, dtype)
        weakref.finalize(lease, self.free, offset)
        return np.asarray(lease)


class _Lease:
    """The owner of one block's bytes as numpy sees it: every view of the array returned by
    :meth:`HostAllocator.empty` has this as its ``base`` (numpy collapses chains of ndarray bases to
    the first non-ndarray), so the block is freed exactly when the last view is garbage."""

    __slots__ = ("__array_interface__", "buffer", "__weakref__")

    def __init__(self, buffer: np.ndarray, offset: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.buffer = buffer  # keeps the arena alive while any view lives
        self.__array_interface__ = {
            "shape": tuple(shape), "typestr": dtype.str, "descr": dtype.descr,
            "data": (buffer.ctypes.data + offset, False), "strides": None, "version": 3,
        }


class CudaEvents:
    """``record(stream pointer) -> cupy.cuda.Event``, ``query`` (done yet?), ``synchronize``."""

    def __init__(self) -> None:
        cupy = cupy_module()

        self.cupy = cupy

    def record(self, stream: int) -> Any:
        event = self.cupy.cuda.Event(disable_timing=True)
        self.cupy.cuda.runtime.eventRecord(event.ptr, stream)  # a raw stream pointer: no stream object made
        return event

    def query(self, event: Any) -> bool:
        return event.done

    def synchronize(self) -> None:
        self.cupy.cuda.runtime.deviceSynchronize()


class DeviceAllocator(CachingAllocator):
    """The caching allocator over ``cudaMalloc``; :meth:`install` makes CuPy allocate through it."""

    def __init__(self, park_large: bool = True) -> None:
        cupy = cupy_module()

        self.cupy = cupy
        self._stream_ptr = _current_stream_ptr(cupy)
        super().__init__(self._cuda_malloc, cupy.cuda.runtime.free, CudaEvents(), name="cuda", park_large=park_large)

    def _cuda_malloc(self, size: int) -> int:
        runtime = self.cupy.cuda.runtime
        try:
            return runtime.malloc(size)
        except runtime.CUDARuntimeError as error:
            if error.status == runtime.errorMemoryAllocation:
                raise MemoryError(str(error)) from error
            raise

    def _malloc(self, size: int, device_id: int) -> int:
        return self.malloc(size, self._stream_ptr())

    def install(self) -> None:
        self.cupy.cuda.set_allocator(self.cupy.cuda.PythonFunctionAllocator(self._malloc, self.free).malloc)


def _current_stream_ptr(cupy: Any) -> Callable[[], int]:
    """The cheapest way this CuPy offers to read the current stream's pointer (called per allocation)."""
    try:
        from cupy_backends.cuda.stream import get_current_stream_ptr

        get_current_stream_ptr()
        return get_current_stream_ptr
    except (ImportError, AttributeError, TypeError):
        return lambda: cupy.cuda.get_current_stream().ptr


def _host() -> HostAllocator:
    return HostAllocator()


def _cuda() -> DeviceAllocator:
    allocator = DeviceAllocator()
    allocator.install()
    return allocator


_FACTORIES = {"cpu": _host, "cuda": _cuda}


def use_caching_allocator(device: str = "cuda", allocator: Any = None) -> Any:
    """Create (or take) the caching allocator of ``device`` and make it the one in use; returns it."""
    if device not in _FACTORIES:
        raise ValueError(f"no caching allocator for device {device!r}; expected one of {sorted(_FACTORIES)}")
    if allocator is None:
        allocator = _FACTORIES[device]()
    elif hasattr(allocator, "install"):
        allocator.install()
    _ALLOCATORS[device] = allocator
    return allocator


def get_allocator(device: str = "cuda") -> Any:
    """The caching allocator in use on ``device``; an error naming the fix when there is none."""
    if device not in _ALLOCATORS:
        raise RuntimeError(
            f"no caching allocator on {device!r}: call hyperion.runtime.use_caching_allocator({device!r})"
        )
    return _ALLOCATORS[device]


def memory_stats(device: str = "cuda") -> dict[str, int]:
    """``torch.cuda.memory_stats``-named counters: ``allocated_bytes.all.current``, ``reserved_bytes.all.peak``,
    ``num_alloc_retries``, ``num_ooms``, ``num_device_alloc`` (segments asked of the raw allocator), ..."""
    return get_allocator(device).memory_stats()


def memory_snapshot(device: str = "cuda") -> list[dict]:
    """Every segment with its blocks (address, size, state), as ``torch.cuda.memory_snapshot()``."""
    return get_allocator(device).memory_snapshot()


def empty_cache(device: str = "cuda") -> None:
    """Release every entirely free cached segment of ``device`` back to the raw allocator."""
    get_allocator(device).empty_cache()
