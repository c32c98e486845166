"""The device timeline's logic on the CPU: CUPTI-shaped records -> activities -> Chrome trace events
merged with the op spans (synthetic records; the real collector runs in test_device_timeline_gpu.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

import hyperion.tensor as ht
from hyperion.runtime import device_timeline
from hyperion.runtime.device_timeline import Activity, activity_from_record, busy_seconds, timeline_events
from hyperion.runtime.profiler import profile

KINDS = {10: "kernel", 1: "memcpy", 2: "memset", 49: "memory"}  # CUPTI's enum values do not matter here
MEMORY_OPS = {1: "malloc", 2: "free"}


def test_records_become_activities_and_the_rest_is_dropped():
    kernel = SimpleNamespace(kind=10, name="gemm_kernel", start=1000, end=5000, stream_id=7, device_id=0)
    copy = SimpleNamespace(kind=1, start=6000, end=6500, stream_id=7, bytes=4096, device_id=0)
    malloc = SimpleNamespace(kind=49, memory_operation_type=1, timestamp=900, stream_id=0, bytes=2**21,
                             device_id=0)
    other_op = SimpleNamespace(kind=49, memory_operation_type=9, timestamp=1, stream_id=0, bytes=1, device_id=0)
    driver_call = SimpleNamespace(kind=3, start=0, end=1)
    got = [activity_from_record(r, KINDS, MEMORY_OPS) for r in (kernel, copy, malloc, other_op, driver_call)]
    assert got == [Activity("kernel", "gemm_kernel", 1000, 5000, 7),
                   Activity("memcpy", "memcpy", 6000, 6500, 7, 4096),
                   Activity("malloc", "malloc", 900, 900, 0, 2**21), None, None]


def test_timeline_events_are_placed_on_the_profile_clock_one_track_per_stream():
    acts = [Activity("kernel", "k2", 3_000, 4_000, 13), Activity("kernel", "k1", 1_000, 2_500, 7),
            Activity("free", "free", 5_000, 5_000, 0, 512)]
    # CUPTI read 1_000 ns when perf_counter read 10.0 s; the profile started at 9.999 s: +1000 us
    events = timeline_events(acts, anchor_ns=1_000, anchor_s=10.0, origin_s=9.999)
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == {0: "stream 0", 7: "stream 7", 13: "stream 13"}
    spans = [e for e in events if e["ph"] in ("X", "i")]
    assert [e["name"] for e in spans] == ["k1", "k2", "free"]  # by start time
    assert spans[0]["ts"] == pytest.approx(1000.0) and spans[0]["dur"] == pytest.approx(1.5)
    assert spans[1]["ts"] == pytest.approx(1002.0) and spans[1]["tid"] == 13
    assert spans[2]["ph"] == "i" and spans[2]["args"]["bytes"] == 512 and "dur" not in spans[2]
    assert all(e["pid"] == 2 for e in events)


class FakeTimeline:
    """A collector that 'sees' one kernel per op run while it is open (the CPU stands in for the GPU)."""

    def __init__(self) -> None:
        self.activities: list[Activity] = []

    def start(self) -> None:
        import time

        self.anchor_ns, self.anchor_s = 0, time.perf_counter()
        self.activities.append(Activity("kernel", "first_kernel", 1_000, 2_000, 7))

    def stop(self) -> None:
        self.activities.append(Activity("malloc", "malloc", 3_000, 3_000, 7, 1 << 20))

    def trace_events(self, origin_s: float) -> list[dict]:
        return timeline_events(self.activities, self.anchor_ns, self.anchor_s, origin_s)


def test_the_profile_merges_the_device_timeline_into_its_chrome_trace(monkeypatch, tmp_path):
    monkeypatch.setitem(device_timeline.DEVICE_TIMELINES, "fake", FakeTimeline)
    x = ht.randn(8, 8, requires_grad=True)
    with profile(device_timeline="fake") as prof:
        (x @ x).sum().backward()
    trace = json.loads(json.dumps(prof.chrome_trace(tmp_path / "t.json")))
    ops = [e for e in trace["traceEvents"] if e["pid"] == 1 and e["ph"] == "X"]
    device = [e for e in trace["traceEvents"] if e["pid"] == 2 and e["ph"] in ("X", "i")]
    assert len(ops) == len(prof.records) and {e["name"] for e in device} == {"first_kernel", "malloc"}
    # the collector started just before the profile's clock: its first kernel lands near 0 us
    assert -1e4 < device[0]["ts"] < 1e4
    assert json.loads((tmp_path / "t.json").read_text()) == trace


def test_an_unknown_device_timeline_is_refused_by_name():
    with pytest.raises(ValueError, match="no device timeline for 'tpu'"):
        profile(device_timeline="tpu").__enter__()


def test_the_cuda_collector_names_the_missing_package():
    try:
        import cupti  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="cupti-python"):
            device_timeline.CuptiTimeline()
    else:
        pytest.skip("cupti-python is installed here: the GPU test exercises the collector")


def test_busy_time_is_the_union_of_device_spans():
    acts = [Activity("kernel", "a", 0, 100, 1), Activity("kernel", "b", 50, 150, 2),  # overlap: 0..150
            Activity("memcpy", "memcpy", 200, 260, 1), Activity("malloc", "malloc", 300, 300, 0, 1 << 20),
            Activity("kernel", "c", 210, 230, 2)]  # inside the copy
    assert busy_seconds(acts) == pytest.approx((150 + 60) * 1e-9)
    assert busy_seconds([]) == 0.0


class FakeCupti:
    """The slice of ``cupti-python``'s API the collector calls, with records handed over at flush."""

    class ActivityKind:
        CONCURRENT_KERNEL, MEMCPY, MEMSET, MEMORY2 = 10, 1, 2, 49

    class ActivityMemoryOperationType:
        ALLOCATION, RELEASE = 1, 2

    def __init__(self, pending: list) -> None:
        self.pending, self.enabled, self.registrations, self.clock = pending, set(), 0, 5_000

    def activity_enable(self, kind: int) -> None:
        self.enabled.add(kind)

    def activity_disable(self, kind: int) -> None:
        self.enabled.discard(kind)

    def activity_register_callbacks(self, requested, completed) -> None:
        self.registrations += 1
        self.requested, self.completed = requested, completed

    def get_timestamp(self) -> int:
        return self.clock

    def activity_flush_all(self, flag: int) -> None:
        assert flag == 1 and self.requested()[0] > 0
        self.completed(list(self.pending))
        self.pending.clear()


def test_the_cupti_collector_registers_once_and_keeps_what_each_profile_saw(monkeypatch):
    import sys
    import types

    pending: list = []
    fake = FakeCupti(pending)
    module = types.ModuleType("cupti")
    module.cupti = fake
    monkeypatch.setitem(sys.modules, "cupti", module)
    monkeypatch.setattr(device_timeline, "_registered", False)
    x = ht.randn(4, 4)
    with profile(device_timeline="cuda") as first:
        assert fake.enabled == {10, 1, 2, 49}
        pending += [SimpleNamespace(kind=10, name="k", start=6_000, end=9_000, stream_id=3, device_id=0),
                    SimpleNamespace(kind=49, memory_operation_type=1, timestamp=5_500, stream_id=0,
                                    bytes=512, device_id=0)]
        x + x
    assert fake.enabled == set() and [a.kind for a in first.timeline.activities] == ["kernel", "malloc"]
    with profile(device_timeline="cuda") as second:
        pending.append(SimpleNamespace(kind=1, start=7_000, end=7_100, stream_id=3, bytes=64, device_id=0))
    assert fake.registrations == 1 and [a.kind for a in second.timeline.activities] == ["memcpy"]
    assert len(first.timeline.activities) == 2  # the second profile's records went to the second
    spans = [e for e in first.trace_events() if e["pid"] == 2 and e["ph"] == "X"]
    assert spans[0]["name"] == "k" and spans[0]["dur"] == pytest.approx(3.0)  # 3000 ns
    assert device_timeline._collecting is None
