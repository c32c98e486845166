"""Record the allocations of a step on the CPU: every numpy data buffer made and freed, in order.

    python -m hyperion.runtime.alloc_trace --batch 32 --context 256 --steps 2 --out trace.json.gz

    with record_numpy_allocations() as events:
        step()
    # events: ("alloc", nbytes) and ("free", k) -- free the k-th allocation -- as bench_alloc replays them

NumPy lets a program replace the allocator of array data (NEP 49, ``PyDataMem_SetHandler``); this
installs, through ``ctypes``, a handler whose ``malloc``/``calloc``/``realloc``/``free`` call libc's and
log the call. The arrays of the CPU backend are what the GPU backend allocates through CuPy's
allocator on cuda, op for op (plus numpy's own temporaries inside an op, minus CuPy's), so a GPT step
recorded here stands in for the device step's trace when no GPU is at hand (:func:`gpt_step_trace`).
Each logged call costs a Python callback: record a step, do not time it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

_SET_HANDLER_SLOT = 304  # PyDataMem_SetHandler in NumPy's C-API table (numpy/__multiarray_api.h, NumPy >= 1.22)


class _Allocator(ctypes.Structure):  # PyDataMemAllocator (numpy/ndarraytypes.h)
    _fields_ = [("ctx", ctypes.c_void_p), ("malloc", ctypes.c_void_p), ("calloc", ctypes.c_void_p),
                ("realloc", ctypes.c_void_p), ("free", ctypes.c_void_p)]


class _Handler(ctypes.Structure):  # PyDataMem_Handler
    _fields_ = [("name", ctypes.c_char * 127), ("version", ctypes.c_uint8), ("allocator", _Allocator)]


_MALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_CALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t)
_REALLOC = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_FREE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


class _Recorder:
    """The handler and its log. Arrays made while it was installed keep calling its ``free`` after the
    block, so one recorder lives for the whole process (``_RECORDER``) and logs only while ``on``."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None)
        for name, res, args in (("malloc", ctypes.c_void_p, [ctypes.c_size_t]),
                                ("calloc", ctypes.c_void_p, [ctypes.c_size_t, ctypes.c_size_t]),
                                ("realloc", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_size_t]),
                                ("free", None, [ctypes.c_void_p])):
            getattr(libc, name).restype, getattr(libc, name).argtypes = res, args
        self.libc, self.on = libc, False
        self.events: list[tuple[str, int]] = []
        self.index: dict[int, int] = {}  # live address -> its allocation's number in ``events``
        self.count = 0
        self.callbacks = (_MALLOC(self._malloc), _CALLOC(self._calloc), _REALLOC(self._realloc), _FREE(self._free))
        self.handler = _Handler(b"hyperion_trace", 1, _Allocator(
            None, *[ctypes.cast(cb, ctypes.c_void_p) for cb in self.callbacks]))
        api = ctypes.pythonapi
        api.PyCapsule_New.restype, api.PyCapsule_New.argtypes = ctypes.py_object, [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        api.PyCapsule_GetPointer.restype = ctypes.c_void_p
        api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        self.capsule = api.PyCapsule_New(ctypes.addressof(self.handler), b"mem_handler", None)
        from numpy._core import _multiarray_umath

        table = ctypes.cast(api.PyCapsule_GetPointer(_multiarray_umath._ARRAY_API, None),
                            ctypes.POINTER(ctypes.c_void_p))
        self.set_handler = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.py_object)(table[_SET_HANDLER_SLOT])

    def _log_alloc(self, address: int | None, nbytes: int) -> None:
        if self.on and address:
            self.index[address] = self.count
            self.count += 1
            self.events.append(("alloc", nbytes))

    def _log_free(self, address: int | None) -> None:
        k = self.index.pop(address, None) if address else None
        if self.on and k is not None:
            self.events.append(("free", k))

    def _malloc(self, ctx: int, size: int) -> int | None:
        address = self.libc.malloc(size or 1)
        self._log_alloc(address, size)
        return address

    def _calloc(self, ctx: int, count: int, itemsize: int) -> int | None:
        address = self.libc.calloc(count or 1, itemsize or 1)
        self._log_alloc(address, count * itemsize)
        return address

    def _realloc(self, ctx: int, address: int | None, size: int) -> int | None:
        self._log_free(address)
        moved = self.libc.realloc(address, size or 1)
        self._log_alloc(moved, size)
        return moved

    def _free(self, ctx: int, address: int | None, size: int) -> None:
        self._log_free(address)
        self.libc.free(address)


_RECORDER: _Recorder | None = None


@contextlib.contextmanager
def record_numpy_allocations() -> Iterator[list[tuple[str, int]]]:
    """Log every numpy data allocation and free inside the block (frees of arrays made before it are
    not logged; arrays made inside and still alive at the end have no free)."""
    global _RECORDER
    if _RECORDER is None:
        _RECORDER = _Recorder()
    rec = _RECORDER
    if rec.on:
        raise RuntimeError("record_numpy_allocations does not nest")
    rec.events, rec.index, rec.count = [], {}, 0
    previous = rec.set_handler(rec.capsule)
    rec.on = True
    try:
        yield rec.events
    finally:
        rec.on = False
        rec.set_handler(previous)


def gpt_step_trace(batch: int = 32, context: int = 256, steps: int = 3) -> list[tuple[str, int]]:
    """The allocation trace of ``steps`` CPU GPT training steps (``bench_gpu``'s step: zero_grad,
    forward, loss, backward; ``gpt_bench.CONFIG``) after one unrecorded warm-up, ending with the
    gradients dropped, so every allocation in it is freed in it."""
    from hyperion.kernels.gpt_bench import CONFIG
    from hyperion.runtime.bench_gpu import _gpt_step

    model, step, _ = _gpt_step(batch, context, device="cpu", config={**CONFIG, "context_length": context})
    step()
    with record_numpy_allocations() as events:
        for _ in range(steps):
            step()
        model.zero_grad()
        gc.collect()
    freed = {k for kind, k in events if kind == "free"}
    missing = sum(kind == "alloc" for kind, _ in events) - len(freed)
    if missing:
        raise RuntimeError(f"gpt_step_trace: {missing} allocations of the recorded steps were never freed")
    return events


def trace_summary(events: list[tuple[str, int]]) -> dict:
    """Allocations, bytes allocated, and the peak of live bytes (what any allocator must hold at least)."""
    sizes: list[int] = []
    live_bytes = peak = 0
    for kind, value in events:
        if kind == "alloc":
            sizes.append(value)
            live_bytes += value
            peak = max(peak, live_bytes)
        else:
            live_bytes -= sizes[value]
    return {"allocations": len(sizes), "bytes": sum(sizes), "peak_live_bytes": peak, "numpy": np.__version__}


def save(events: list[tuple[str, int]], path: str | Path) -> None:
    """``events`` as JSON, gzipped when ``path`` ends in ``.gz``."""
    text = json.dumps(events, separators=(",", ":"))
    Path(path).write_bytes(gzip.compress(text.encode()) if str(path).endswith(".gz") else text.encode())


def load(path: str | Path) -> list[tuple[str, int]]:
    """A trace written by :func:`save`."""
    data = Path(path).read_bytes()
    events = json.loads(gzip.decompress(data) if str(path).endswith(".gz") else data)
    return [(str(kind), int(value)) for kind, value in events]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    events = gpt_step_trace(args.batch, args.context, args.steps)
    save(events, args.out)
    print(json.dumps(trace_summary(events)))


if __name__ == "__main__":
    main()
