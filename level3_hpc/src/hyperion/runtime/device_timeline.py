"""The device's own timeline (the Nsight Systems view without nsys): CUPTI activity records.

    with runtime.profile(device_timeline="cuda") as prof:
        step()
    prof.chrome_trace("step.json")  # op spans, and every kernel, copy, memset and device allocation

CUPTI (NVIDIA's profiling interface, through ``cupti-python``) fills buffers with one record per
kernel, memcpy, memset and ``cudaMalloc``/``cudaFree`` (activity kinds ``CONCURRENT_KERNEL``,
``MEMCPY``, ``MEMSET``, ``MEMORY2``), each with its stream and its start and end in CUPTI's clock.
:class:`CuptiTimeline` turns each record into an :class:`Activity` as its buffer completes
(:func:`activity_from_record`); :func:`timeline_events` places them in the profile's Chrome trace,
a second process with one track per stream, beside the op spans. The two clocks are tied by one
pair of readings taken together when collection starts (``cupti.get_timestamp()`` and
``time.perf_counter()``); the op spans of a CUDA profile are placed from the host time of its first
event, so the two agree to within the GPU's queue lag at the first op (none when the step starts
on an idle stream, as ``bench_gpu`` does).

The GPU machine has no network: ``cupti-python`` and its dependencies travel as wheels
(``.whl/cupti/``, see the level-3 README) and are installed there before the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Activity:
    """One record of the device timeline, in CUPTI's nanoseconds."""

    kind: str  # "kernel", "memcpy", "memset", "malloc" or "free"
    name: str
    start_ns: int
    end_ns: int  # == start_ns for an allocation (an instant)
    stream: int
    bytes: int = 0
    device: int = 0


def activity_from_record(record: Any, kinds: dict[int, str], memory_ops: dict[int, str]) -> Activity | None:
    """An :class:`Activity` from a CUPTI activity record; ``kinds`` maps CUPTI's activity kinds to
    "kernel"/"memcpy"/"memset"/"memory", ``memory_ops`` its memory operation types to "malloc"/"free".
    Other records (and memory operations that are neither) give ``None``."""
    kind = kinds.get(int(record.kind))
    if kind == "kernel":
        return Activity("kernel", str(record.name), int(record.start), int(record.end), int(record.stream_id),
                        device=int(record.device_id))
    if kind in ("memcpy", "memset"):
        return Activity(kind, kind, int(record.start), int(record.end), int(record.stream_id),
                        int(record.bytes), int(record.device_id))
    if kind == "memory":
        op = memory_ops.get(int(record.memory_operation_type))
        if op is None:
            return None
        stamp = int(record.timestamp)
        return Activity(op, op, stamp, stamp, int(record.stream_id), int(record.bytes), int(record.device_id))
    return None


def timeline_events(activities: list[Activity], anchor_ns: int, anchor_s: float, origin_s: float,
                    pid: int = 2) -> list[dict]:
    """Chrome trace events (microseconds from the profile's start) for ``activities``: process ``pid``
    named "device (CUPTI)", one thread per stream; kernels, copies and memsets as complete ("X")
    events, allocations and frees as instant ("i") events with their bytes. ``anchor_ns`` (CUPTI's
    clock) and ``anchor_s`` (``perf_counter``) were read together; ``origin_s`` is the profile's start."""
    shift_us = (anchor_s - origin_s) * 1e6
    streams = sorted({a.stream for a in activities})
    events: list[dict] = [{"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
                           "args": {"name": "device (CUPTI)"}}]
    for stream in streams:
        events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": stream,
                       "args": {"name": f"stream {stream}"}})
    for a in sorted(activities, key=lambda a: (a.start_ns, a.stream)):
        event = {"name": a.name, "cat": a.kind, "pid": pid, "tid": a.stream,
                 "ts": round((a.start_ns - anchor_ns) / 1e3 + shift_us, 3),
                 "args": {"bytes": a.bytes, "device": a.device}}
        if a.kind in ("malloc", "free"):
            event.update(ph="i", s="t")
        else:
            event.update(ph="X", dur=round(max(a.end_ns - a.start_ns, 0) / 1e3, 3))
        events.append(event)
    return events


def busy_seconds(activities: list[Activity]) -> float:
    """Seconds in which the device ran at least one kernel, copy or memset (the union of their spans)."""
    spans = sorted((a.start_ns, a.end_ns) for a in activities if a.kind not in ("malloc", "free"))
    busy, end = 0, None
    for start, stop in spans:
        if end is None or start > end:
            busy += stop - start
            end = stop
        elif stop > end:
            busy += stop - end
            end = stop
    return busy * 1e-9


class CuptiTimeline:
    """Collects CUPTI activity records between :meth:`start` and :meth:`stop` (needs ``cupti-python``)."""

    BUFFER_BYTES = 8 * 2**20

    def __init__(self) -> None:
        try:
            from cupti import cupti
        except ImportError as exc:
            raise RuntimeError(
                "the CUDA device timeline needs cupti-python (pip install the wheels of .whl/cupti/ on the "
                f"GPU machine; see the level-3 README): {exc}"
            ) from exc
        self.cupti = cupti
        kind = cupti.ActivityKind
        self.enabled = [kind.CONCURRENT_KERNEL, kind.MEMCPY, kind.MEMSET, kind.MEMORY2]
        self.kinds = {int(kind.CONCURRENT_KERNEL): "kernel", int(kind.MEMCPY): "memcpy",
                      int(kind.MEMSET): "memset", int(kind.MEMORY2): "memory"}
        ops = cupti.ActivityMemoryOperationType
        self.memory_ops = {int(ops.ALLOCATION): "malloc", int(ops.RELEASE): "free"}
        self.activities: list[Activity] = []
        self.anchor_ns, self.anchor_s = 0, 0.0

    def take(self, records: list) -> None:
        """Keep the kernels, copies, memsets and allocations among a completed buffer's records."""
        for record in records:
            activity = activity_from_record(record, self.kinds, self.memory_ops)
            if activity is not None:
                self.activities.append(activity)

    def start(self) -> None:
        global _collecting, _registered
        if _collecting is not None:
            raise RuntimeError("a CUPTI device timeline is already being collected")
        if not _registered:  # once per process: the callbacks hand buffers to whichever timeline collects
            self.cupti.activity_register_callbacks(_buffer_requested, _buffer_completed)
            _registered = True
        _collecting = self
        for kind in self.enabled:
            self.cupti.activity_enable(kind)
        self.anchor_ns, self.anchor_s = self.cupti.get_timestamp(), time.perf_counter()

    def stop(self) -> None:
        global _collecting
        try:
            self.cupti.activity_flush_all(1)  # 1: hand over incomplete buffers too
            for kind in self.enabled:
                self.cupti.activity_disable(kind)
        finally:
            _collecting = None

    def trace_events(self, origin_s: float) -> list[dict]:
        return timeline_events(self.activities, self.anchor_ns, self.anchor_s, origin_s)


_registered = False
_collecting: CuptiTimeline | None = None


def _buffer_requested() -> tuple[int, int]:
    return CuptiTimeline.BUFFER_BYTES, 0  # bytes per buffer, no limit on its records


def _buffer_completed(records: list) -> None:  # called by CUPTI, possibly on a thread of its own
    if _collecting is not None:
        _collecting.take(records)


DEVICE_TIMELINES = {"cuda": CuptiTimeline}  # one collector per device that has one
