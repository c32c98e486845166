"""The CUPTI device timeline on a real GPU: kernels, a copy and an allocation with their streams, merged
with the op spans in one Chrome trace (needs cupti-python: the wheels of .whl/cupti/)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from level3_gpu import skip_without_gpu

skip_without_gpu()
cupti = pytest.importorskip("cupti", reason="cupti-python is not installed (pip install .whl/cupti/*.whl)")
import cupy  # noqa: E402

import hyperion.tensor as ht  # noqa: E402
from hyperion.runtime.profiler import profile  # noqa: E402


def test_kernels_copies_and_allocations_land_on_their_streams_inside_the_profile(tmp_path):
    a = ht.tensor(np.ones((256, 256), np.float32), device="cuda", requires_grad=True)
    cupy.cuda.runtime.deviceSynchronize()
    with profile(device_timeline="cuda") as prof:
        b = ht.tensor(np.full((256, 256), 2, np.float32), device="cuda")  # a host-to-device copy
        ((a @ b).relu().sum()).backward()
        raw = cupy.cuda.runtime.malloc(1 << 21)  # one cudaMalloc and its cudaFree, seen by CUPTI
        cupy.cuda.runtime.free(raw)
    kinds = [act.kind for act in prof.timeline.activities]
    assert kinds.count("kernel") >= 3 and "memcpy" in kinds and "malloc" in kinds and "free" in kinds
    stream = cupy.cuda.get_current_stream().ptr
    kernel_streams = {act.stream for act in prof.timeline.activities if act.kind == "kernel"}
    assert len(kernel_streams) >= 1, f"kernels on streams {kernel_streams} (CuPy's current stream {stream:#x})"
    assert any(act.bytes == 1 << 21 for act in prof.timeline.activities if act.kind == "malloc")
    trace = prof.chrome_trace(tmp_path / "trace.json")
    device = [e for e in trace["traceEvents"] if e["pid"] == 2 and e["ph"] == "X"]
    wall_us = prof.wall * 1e6
    # both clocks tied at the start: every device span lies inside the profiled block (1 ms of slack)
    assert all(-1000 <= e["ts"] and e["ts"] + e["dur"] <= wall_us + 1000 for e in device), (
        [(e["name"], e["ts"], e["dur"]) for e in device], wall_us)
    ops = [e for e in trace["traceEvents"] if e["pid"] == 1 and e["ph"] == "X"]
    assert len(ops) == len(prof.records)
    json.loads((tmp_path / "trace.json").read_text())
