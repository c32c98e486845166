"""The per-op profiler on the CPU: every op seen once per phase, costs from shapes, a valid Chrome trace."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hyperion.tensor as ht
from hyperion import nn, optim
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
    for name in ("FlashAttention", "FlashAttentionCUDA", "FlashAttentionHopper"):  # every device's Function
        assert cost(name, "forward", [(2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 8)], (2, 3, 5, 8), 4)[0] == (
            4 * 2 * 3 * 5 * 7 * 8
        )


def test_profiles_do_not_nest():
    with profile(), pytest.raises(RuntimeError, match="do not nest"), profile():
        pass


def test_the_engine_work_between_backward_ops_is_recorded():
    """A leaf's gradient stored (one AccumulateGrad per leaf) and two gradients of one tensor summed
    (AddGrads: ``h`` feeds two ops) are spans of their own, not uncovered time."""
    w = ht.randn(8, 8, requires_grad=True)
    b = ht.randn(8, requires_grad=True)
    x = ht.randn(4, 8)
    with profile() as prof:
        h = x @ w
        ((h * h) + b).sum().backward()
    engine = [r.name for r in prof.records if r.phase == "engine"]
    assert sorted(engine) == ["AccumulateGrad", "AccumulateGrad", "AddGrads"]
    store = next(r for r in prof.records if r.name == "AccumulateGrad" and r.shapes == [(8, 8)])
    assert store.depth == 0 and store.bytes == 4 * 2 * 64  # the gradient read, the stored copy written
    np.testing.assert_allclose(w.grad.numpy(), x.numpy().T @ (2 * (x.numpy() @ w.detach().numpy())), rtol=1e-5)


def test_zero_grad_is_engine_work_and_still_forgets_every_gradient():
    """``zero_grad`` (module and optimizer) frees or zeroes the gradients inside one ZeroGrads span."""
    model, x, y = mlp_step()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    for zero in (model.zero_grad, optimizer.zero_grad, lambda: optimizer.zero_grad(set_to_none=False)):
        nn.functional.cross_entropy(model(x), y).backward()
        with profile() as prof:
            zero()
        assert [(r.name, r.phase, r.depth) for r in prof.records] == [("ZeroGrads", "engine", 0)]
        grads = [p.grad for p in model.parameters()]
        if all(g is None for g in grads):
            continue
        assert all(float(np.abs(g.numpy()).max()) == 0.0 for g in grads)  # set_to_none=False: zeros
    assert all(p.grad is not None for p in model.parameters())


def test_views_are_spans_that_move_no_bytes():
    x = ht.randn(4, 6, requires_grad=True)
    with profile() as prof:
        x.reshape(6, 4).permute(1, 0)[1:].sum().backward()
    views = [(r.name, r.flops, r.bytes) for r in prof.records if r.phase == "view"]
    assert [name for name, _, _ in views] == ["View", "Permute", "BasicIndex"]
    assert all(flops == 0 and nbytes == 0 for _, flops, nbytes in views)
    assert ("Permute", "backward") in [(r.name, r.phase) for r in prof.records]


def test_gaps_and_op_spans_add_up_to_the_wall_time():
    model, x, y = mlp_step()
    with profile() as prof:
        nn.functional.cross_entropy(model(x), y).backward()
    gaps = prof.gaps(limit=None)
    assert gaps == sorted(gaps, key=lambda g: -g["seconds"]) and all(g["seconds"] >= 0 for g in gaps)
    assert sum(g["count"] for g in gaps) == sum(1 for r in prof.records if r.depth == 0)
    # CPU spans are serial, so covered + uncovered is the whole profiled span
    assert abs(sum(g["seconds"] for g in gaps) + prof.op_seconds() - prof.wall) < 1e-6
    assert prof.coverage() == prof.op_seconds() / prof.wall


def test_the_coverage_bench_runs_the_gpt_step_on_the_cpu(capsys):
    from hyperion.runtime.bench_profile import main

    main(["--device", "cpu", "--batch", "1", "--context", "4", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "coverage median" in out and "AccumulateGrad" in out and "| Linear | backward |" in out
