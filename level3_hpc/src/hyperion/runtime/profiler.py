"""Per-op profiling: one hook in ``Function.apply`` (and the backward pass) sees every op.

    from hyperion import runtime
    with runtime.profile() as prof:
        loss = model(x, y); loss.backward()
    print(prof.table())                    # sorted by time: share of the profiled span, GFLOP/s, GB/s
    prof.chrome_trace("step.json")         # open in https://ui.perfetto.dev or chrome://tracing

A span holds the op and level 1's own work on its result (the hook's ``finish``: the Tensor and its
graph after a forward, the gradients handed on and the saved values freed after a backward), as
PyTorch's op spans hold its autograd recording.
Each record holds the op's name, phase (forward/backward), input shapes, dtype, device, time and
the FLOPs and bytes its shapes imply (:func:`cost`: an estimate from shapes, not a hardware count).
Time comes from a per-device timer table: ``perf_counter`` on the CPU, a pair of CUDA events on the
GPU (read after one synchronisation at the end, so profiling does not serialise the stream).
``backend_calls=True`` also wraps the backends' primitive methods (matmul, reductions, ...), nested
inside their Function's span in the trace. Work a step does outside any Function is seen too: the
backward pass's own array work (``AccumulateGrad``, ``AddGrads``: phase "engine") and views (phase
"view") come through the same hook, and host data entering or leaving a device (``from_host``,
``to_numpy``) and the backward's seed (``full``) are always-wrapped backend calls.

With no profile open the cost is one ``is None`` test per op in level 1 (``set_op_hook``).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hyperion.tensor import autograd
from hyperion.tensor.backend import get_backend

MATMUL_OPS = {"Matmul", "Linear", "FlashAttention", "FlashAttentionCUDA", "FlashAttentionHopper", "KernelMatmul"}
OUTSIDE_OPS = ("from_host", "to_numpy", "full")  # backend calls Tensors make outside any op: always timed
BACKEND_PRIMITIVES = ("matmul", "sum", "max", "exp", "log", "tanh", "erf", "take", "index_add",
                      "contiguous", "copy", "where", "maximum", "concatenate", "pad")


def cost(name: str, phase: str, shapes: list[tuple[int, ...]], out_shape: tuple[int, ...] | None,
         itemsize: int) -> tuple[float, float]:
    """(FLOPs, bytes) implied by the forward's input ``shapes`` and output shape -- an estimate, not a
    hardware count. FLOPs: ``2·M·N·K`` (× batch) for a matmul, ``x @ Wᵀ`` for Linear, ``4·N_q·N_k·d``
    per head for attention; one per element of the largest operand otherwise (so convolutions are
    under-counted). Bytes: every operand read once and the output written once. A backward counts
    twice the forward's matmul FLOPs and reads the inputs and the gradient, writing input gradients."""
    if phase == "view":  # a new stride view of the same storage: no arithmetic, no bytes moved
        return 0.0, 0.0
    numel = [math.prod(s) for s in shapes]
    out = math.prod(out_shape) if out_shape is not None else 0
    flops = float(max([out, *numel]))
    if name in MATMUL_OPS and len(shapes) >= 2 and shapes[0] and shapes[1]:
        a, b = shapes[0], shapes[1]
        if name == "Linear":
            flops = 2.0 * math.prod(a) * b[0]
        elif name.startswith("FlashAttention"):
            flops = 4.0 * math.prod(a[:-1]) * b[-2] * a[-1]
        else:
            flops = 2.0 * math.prod(a) * (b[-1] if len(b) >= 2 else 1)
        if phase == "backward":
            flops *= 2
    reads = sum(numel) + (out if phase == "backward" else 0)
    writes = sum(numel) if phase == "backward" else out
    return flops, float((reads + writes) * itemsize)


@dataclass
class Record:
    name: str
    phase: str
    shapes: list[tuple[int, ...]]
    dtype: str
    device: str
    flops: float
    bytes: float
    start: float = 0.0  # seconds from the profile's start
    duration: float = 0.0
    depth: int = 0  # 0: a top-level op; 1 and more: a call inside another op's span


class HostTimer:
    """Wall clock around the call (the CPU backend is synchronous)."""

    def __init__(self, origin: float) -> None:
        self.origin = origin

    def start(self) -> Any:
        return time.perf_counter()

    def stop(self, token: Any) -> tuple[float, float]:
        now = time.perf_counter()
        return token - self.origin, now - token

    def resolve(self, value: Any) -> tuple[float, float]:
        return value


class CudaEventTimer:
    """Two CUDA events per call, read after one synchronisation in :meth:`resolve`. Events come from a
    pool kept across profiles (creating one is a driver call), returned once read."""

    _pool: list = []

    def __init__(self, origin: float) -> None:
        import cupy

        self.cupy = cupy
        self.base = self._event()
        self.base.record()
        self.offset = time.perf_counter() - origin  # spans start from the profile's start, as on the CPU

    def _event(self) -> Any:
        return self._pool.pop() if self._pool else self.cupy.cuda.Event()

    def start(self) -> Any:
        event = self._pool.pop() if self._pool else self.cupy.cuda.Event()
        event.record()
        return event

    def stop(self, token: Any) -> Any:
        event = self._pool.pop() if self._pool else self.cupy.cuda.Event()
        event.record()
        return (token, event)

    def resolve(self, value: Any) -> tuple[float, float]:
        begin, end = value
        end.synchronize()
        elapsed = self.cupy.cuda.get_elapsed_time
        out = self.offset + elapsed(self.base, begin) * 1e-3, elapsed(begin, end) * 1e-3
        self._pool += (begin, end)
        return out


TIMERS = {"cpu": HostTimer, "cuda": CudaEventTimer}  # one timer kind per device


class Profile:
    """Records of one ``with profile():`` block, and the reports made from them."""

    def __init__(self, backend_calls: bool = False, device_timeline: str | None = None) -> None:
        self.records: list[Record] = []  # filled when the block closes
        self._pending: list[tuple] = []  # (what the hook saw, its time stamp), made into Records by __exit__
        self.backend_calls = backend_calls
        self.origin = time.perf_counter()
        self.wall = 0.0
        self.timers: dict[str, Any] = {}
        self.depth = 0
        self._patched: list[tuple[Any, str]] = []
        self.timeline = None  # the device's own records (``device_timeline``: CUPTI on cuda)
        if device_timeline is not None:
            from hyperion.runtime.device_timeline import DEVICE_TIMELINES

            if device_timeline not in DEVICE_TIMELINES:
                raise ValueError(f"no device timeline for {device_timeline!r}; there is one for "
                                 f"{sorted(DEVICE_TIMELINES)}")
            self.timeline = DEVICE_TIMELINES[device_timeline]()

    def timer(self, device: str) -> Any:
        if device not in self.timers:
            self.timers[device] = TIMERS[device](self.origin)
        return self.timers[device]

    # ---- the hook ------------------------------------------------------------------------------
    def hook(self, ctx: Any, phase: str, arrays: list, options: dict, finish: Any) -> Any:
        # The span runs from the hook's entry to its exit, as PyTorch's op spans run from dispatch to
        # return: the profiler's own bookkeeping of an op is inside its span, not in the gap after it.
        device = ctx.backend.device
        timer = self.timers.get(device) or self.timer(device)
        token = timer.start()
        first = arrays[0] if arrays and hasattr(arrays[0], "dtype") else None
        if phase == "backward":  # backward(grad): the forward's shapes are the parents' and the gradient's
            # (read now: ``finish`` lets go of the parents)
            shapes, out_shape = [p.shape for p in ctx.parents], getattr(first, "shape", None)
        self.depth += 1
        try:
            result = ctx.backward(*arrays) if phase == "backward" else ctx.forward(*arrays, **options)
            if phase != "backward":  # forward, a view, or the engine's work between backward ops
                shapes, out_shape = [a.shape for a in arrays if hasattr(a, "shape")], getattr(result, "shape", None)
            finished = finish(result)  # the engine's work on the result: a Tensor and its graph, or gradients passed on
        finally:
            self.depth -= 1
        # The rest waits for __exit__ (FLOPs, bytes, Records).
        what = (type(ctx).__name__, phase, shapes, getattr(first, "dtype", None), device, self.depth, out_shape)
        self._pending.append((what, timer.stop(token)))
        return finished

    def _wrap(self, backend: Any, method: str) -> None:
        original = getattr(backend, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            timer = self.timer(backend.device)
            token = timer.start()
            result = original(*args, **kwargs)
            shapes = [a.shape for a in args if hasattr(a, "shape")]
            first = next((a for a in args if hasattr(a, "dtype")), None)
            what = (f"backend.{method}", "call", shapes, getattr(first, "dtype", None), backend.device,
                    self.depth, getattr(result, "shape", None))
            self._pending.append((what, timer.stop(token)))
            return result

        backend.__dict__[method] = timed
        self._patched.append((backend, method))

    # ---- open / close --------------------------------------------------------------------------
    def __enter__(self) -> Profile:
        global _active
        if _active is not None:
            raise RuntimeError("a profile is already open; profiles do not nest")
        _active = self
        self._previous = autograd.set_op_hook(self.hook)
        from hyperion.tensor.backend import _BACKENDS

        for backend in list(_BACKENDS.values()):
            for method in OUTSIDE_OPS + (BACKEND_PRIMITIVES if self.backend_calls else ()):
                if hasattr(backend, method):
                    self._wrap(backend, method)
        if self.timeline is not None:
            self.timeline.start()
        self.origin = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        global _active
        for device in self.timers:
            get_backend(device).synchronize()
        self.wall = time.perf_counter() - self.origin
        autograd.set_op_hook(self._previous)
        if self.timeline is not None:
            self.timeline.stop()
        for backend, method in self._patched:
            del backend.__dict__[method]
        _active = None
        for (name, phase, shapes, dtype, device, depth, out_shape), stamp in self._pending:
            shapes = [tuple(shape) for shape in shapes]
            out_shape = None if out_shape is None else tuple(out_shape)
            kind = "Matmul" if name == "backend.matmul" else name.removeprefix("backend.")
            flops, nbytes = cost(kind, "forward" if phase == "call" else phase, shapes, out_shape,
                                 dtype.itemsize if dtype is not None else 4)
            start, duration = self.timers[device].resolve(stamp)
            self.records.append(Record(name, phase, shapes, "" if dtype is None else str(dtype), device,
                                       flops, nbytes, start, duration, depth))
        self._pending.clear()

    # ---- reports -------------------------------------------------------------------------------
    def summary(self) -> list[dict]:
        """One row per (op, phase), biggest total time first."""
        rows: dict[tuple[str, str], dict] = defaultdict(
            lambda: {"calls": 0, "seconds": 0.0, "flops": 0.0, "bytes": 0.0})
        for r in self.records:
            row = rows[(r.name, r.phase)]
            row.update(name=r.name, phase=r.phase, device=r.device, depth=r.depth)
            row["calls"] += 1
            row["seconds"] += r.duration
            row["flops"] += r.flops
            row["bytes"] += r.bytes
        out = sorted(rows.values(), key=lambda row: -row["seconds"])
        for row in out:
            peak_flops, peak_bw = roofline(row["device"])
            s = max(row["seconds"], 1e-12)
            row["share"] = row["seconds"] / self.wall if self.wall else 0.0
            row["gflops"], row["gbps"] = row["flops"] / s / 1e9, row["bytes"] / s / 1e9
            row["of_peak"] = max(row["flops"] / s / peak_flops, row["bytes"] / s / peak_bw)
            row["bound"] = "compute" if row["flops"] / s / peak_flops >= row["bytes"] / s / peak_bw else "memory"
        return out

    def op_seconds(self) -> float:
        """Time inside top-level ops (Functions not nested in another op's span)."""
        return sum(r.duration for r in self.records if r.depth == 0)

    def coverage(self) -> float:
        """Share of the profiled wall time inside top-level op spans: what the per-op table explains."""
        return self.op_seconds() / self.wall if self.wall else 0.0

    def gaps(self, limit: int | None = 10) -> list[dict]:
        """The uncovered time between consecutive top-level spans, summed by (op before, op after),
        biggest first: where the step's time goes that no op accounts for (Python between ops)."""
        spans = sorted((r.start, r.start + r.duration, f"{r.name}.{r.phase}") for r in self.records if r.depth == 0)
        rows: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
        end, before = 0.0, "(start)"
        for start, stop, name in spans:
            row = rows[(before, name)]
            row[0] += 1
            row[1] += max(start - end, 0.0)
            end, before = max(end, stop), name
        rows[(before, "(end)")][1] += max(self.wall - end, 0.0)
        out = [{"before": b, "after": a, "count": n, "seconds": t} for (b, a), (n, t) in rows.items()]
        return sorted(out, key=lambda row: -row["seconds"])[:limit]  # limit None: every row

    def table(self, limit: int = 25) -> str:
        """A Markdown table of :meth:`summary`, with the share of the profiled wall time."""
        lines = [
            f"profiled {self.wall * 1e3:.2f} ms wall, {self.op_seconds() / max(self.wall, 1e-12):.0%} inside ops",
            "",
            "| op | phase | calls | total ms | share | GFLOP/s | GB/s | % of roofline (bound) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in self.summary()[:limit]:
            lines.append(
                f"| {row['name']} | {row['phase']} | {row['calls']} | {row['seconds'] * 1e3:.3f} | "
                f"{row['share']:.1%} | {row['gflops']:.1f} | {row['gbps']:.1f} | "
                f"{row['of_peak']:.1%} ({row['bound']}) |"
            )
        return "\n".join(lines)

    def trace_events(self) -> list[dict]:
        """Chrome trace-event format ("X" complete events, microseconds), one track per device."""
        devices = sorted({r.device for r in self.records})
        events: list[dict] = [
            {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "hyperion"}}
        ]
        for i, device in enumerate(devices):
            events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": i, "args": {"name": device}})
        for r in self.records:
            events.append({
                "name": r.name, "cat": r.phase, "ph": "X", "pid": 1, "tid": devices.index(r.device),
                "ts": round(r.start * 1e6, 3), "dur": round(max(r.duration, 0.0) * 1e6, 3),
                "args": {"shapes": [list(s) for s in r.shapes], "dtype": r.dtype,
                         "flops": r.flops, "bytes": r.bytes},
            })
        if self.timeline is not None:  # the device's kernels, copies and allocations, per stream
            events += self.timeline.trace_events(self.origin)
        return events

    def chrome_trace(self, path: str | Path | None = None) -> dict:
        """The trace as a dict (``{"traceEvents": [...]}``); written as JSON to ``path`` if given."""
        trace = {"traceEvents": self.trace_events(), "displayTimeUnit": "ms"}
        if path is not None:
            Path(path).write_text(json.dumps(trace), encoding="utf-8")
        return trace


_active: Profile | None = None
_ROOFLINE: dict[str, tuple[float, float]] = {}


def roofline(device: str) -> tuple[float, float]:
    """(peak FLOP/s, peak bytes/s) of ``device``: the H200 datasheet's fp32 67 TFLOP/s and 4.8 TB/s on
    cuda; on the CPU measured once here (a 512² fp32 matmul, a 64 MiB copy; best of three)."""
    if device not in _ROOFLINE:
        _ROOFLINE[device] = _MEASURE[device]()
    return _ROOFLINE[device]


def _measure_host() -> tuple[float, float]:
    a = np.ones((512, 512), np.float32)
    src, dst = np.ones(16 * 2**20, np.float32), np.empty(16 * 2**20, np.float32)
    best_mm = best_copy = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        a @ a
        best_mm = min(best_mm, time.perf_counter() - t)
        t = time.perf_counter()
        np.copyto(dst, src)
        best_copy = min(best_copy, time.perf_counter() - t)
    return 2 * 512**3 / best_mm, 2 * src.nbytes / best_copy


_MEASURE = {"cpu": _measure_host, "cuda": lambda: (67e12, 4.8e12)}


def hook_check_seconds(number: int = 200_000, repeat: int = 7) -> float:
    """What one op pays for the profiler when no profile is open: level 1's ``_op_hook is None`` test
    before each forward and backward, timed as (a call behind that test) − (the bare call), best of
    ``repeat`` runs of ``number``. Multiply by the ops of a step (a profile's record count) for the
    profiler-off overhead of a step."""
    import timeit

    namespace = {"_op_hook": None, "f": lambda: None}
    tested = min(timeit.repeat("f() if _op_hook is None else _op_hook()", globals=namespace,
                               number=number, repeat=repeat))
    bare = min(timeit.repeat("f()", globals=namespace, number=number, repeat=repeat))
    return max(tested - bare, 0.0) / number


@contextlib.contextmanager
def profile(backend_calls: bool = False, device_timeline: str | None = None) -> Iterator[Profile]:
    """Record every op run inside the block; yields the :class:`Profile` (reports after the block).
    ``device_timeline="cuda"`` also collects the device's own records (CUPTI: kernels, copies,
    allocations, per stream) into the Chrome trace (:mod:`hyperion.runtime.device_timeline`)."""
    prof = Profile(backend_calls, device_timeline)
    with prof:
        yield prof
