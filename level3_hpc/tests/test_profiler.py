"""The per-op profiler on the CPU: every op seen once per phase, costs from shapes, a valid Chrome trace."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hyperion.tensor as ht
from hyperion import nn
from hyperion.runtime.profiler import cost, profile
from hyperion.tensor import autograd


def mlp_step():
    ht.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    x = ht.randn(16, 64)
    y = ht.tensor(np.arange(16) % 10)
    return model, x, y


def test_every_op_is_recorded_with_its_phase_and_shapes():
    model, x, y = mlp_step()
    with profile() as prof:
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
    names = [(r.name, r.phase) for r in prof.records if r.depth == 0]
    assert names.count(("Linear", "forward")) == 2 and names.count(("Linear", "backward")) == 2
    assert ("ReLU", "forward") in names and ("ReLU", "backward") in names
    assert ("CrossEntropy", "forward") in names and ("CrossEntropy", "backward") in names
    first = next(r for r in prof.records if r.name == "Linear" and r.phase == "forward")
    assert first.shapes == [(16, 64), (32, 64), (32,)] and first.dtype == "float32" and first.device == "cpu"
    assert first.flops == 2 * 16 * 64 * 32
    assert first.bytes == 4 * (16 * 64 + 32 * 64 + 32 + 16 * 32)
    assert all(r.duration >= 0 and r.start >= 0 for r in prof.records)
    assert 0 < prof.op_seconds() <= prof.wall
    assert autograd._op_hook is None  # the hook is gone after the block


def test_results_are_the_same_with_the_profiler_on():
    model, x, y = mlp_step()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    with profile(backend_calls=True):
        loss2 = nn.functional.cross_entropy(model(x), y)
        loss2.backward()
    assert loss2.item() == loss.item()
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_backend_calls_nest_inside_their_function():
    model, x, y = mlp_step()
    with profile(backend_calls=True) as prof:
        model(x)
    calls = [r for r in prof.records if r.name == "backend.matmul"]
    assert len(calls) == 2 and all(r.depth == 1 for r in calls)
    assert calls[0].flops == 2 * 16 * 64 * 32
    assert "matmul" not in ht.get_backend("cpu").__dict__  # unwrapped again


def test_the_table_is_sorted_and_shares_add_up():
    model, x, y = mlp_step()
    with profile() as prof:
        for _ in range(3):
            nn.functional.cross_entropy(model(x), y).backward()
    rows = prof.summary()
    assert [r["seconds"] for r in rows] == sorted((r["seconds"] for r in rows), reverse=True)
    top = [r for r in rows if r["depth"] == 0]
    assert sum(r["share"] for r in top) <= 1.0 + 1e-9
    linear = next(r for r in rows if r["name"] == "Linear" and r["phase"] == "forward")
    assert linear["calls"] == 6 and linear["gflops"] > 0 and linear["bound"] in ("compute", "memory")
    text = prof.table()
    assert text.splitlines()[2].startswith("| op | phase | calls") and "Linear" in text


def test_chrome_trace_is_valid_trace_event_json(tmp_path):
    model, x, y = mlp_step()
    with profile() as prof:
        nn.functional.cross_entropy(model(x), y).backward()
    path = tmp_path / "trace.json"
    prof.chrome_trace(path)
    trace = json.loads(path.read_text())
    events = trace["traceEvents"]
    assert isinstance(events, list) and trace["displayTimeUnit"] == "ms"
    spans = [e for e in events if e["ph"] == "X"]
    assert len(spans) == len(prof.records)
    for e in spans:  # the fields Perfetto's JSON importer reads for a complete event
        assert isinstance(e["name"], str) and isinstance(e["pid"], int) and isinstance(e["tid"], int)
        assert isinstance(e["ts"], float | int) and isinstance(e["dur"], float | int)
        assert e["ts"] >= 0 and e["dur"] >= 0 and isinstance(e["args"], dict)
    meta = [e for e in events if e["ph"] == "M"]
    assert {e["name"] for e in meta} == {"process_name", "thread_name"}


def test_cost_model():
    assert cost("Matmul", "forward", [(4, 8, 16), (16, 32)], (4, 8, 32), 4)[0] == 2 * 4 * 8 * 16 * 32
    assert cost("Matmul", "backward", [(8, 16), (16, 32)], (8, 32), 4)[0] == 4 * 8 * 16 * 32
    flops, nbytes = cost("Add", "forward", [(10, 10), (10,)], (10, 10), 8)
    assert flops == 100 and nbytes == 8 * (100 + 10 + 100)
    assert cost("FlashAttention", "forward", [(2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 8)], (2, 3, 5, 8), 4)[0] == (
        4 * 2 * 3 * 5 * 7 * 8
    )


def test_profiles_do_not_nest():
    with profile(), pytest.raises(RuntimeError, match="do not nest"), profile():
        pass
