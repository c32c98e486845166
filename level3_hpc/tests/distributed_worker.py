"""Run by test_distributed.py under ``python -m hyperion.distributed.run -n N``: every check that
needs several ranks, results written by rank 0 to the JSON file named by argv[1]."""

from __future__ import annotations

import json
import sys

import numpy as np

import hyperion.distributed as dist
from hyperion import nn, optim
from hyperion.data import TensorDataset
from hyperion.nn.functional import mse_loss
from hyperion.tensor import Tensor, cat, manual_seed, tanh

BATCH, STEPS = 8, 10


class Net(nn.Module):
    """An embedding, two linear layers: parameters of several sizes, so buckets have something to cut."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        g = manual_seed(seed)
        self.embed = nn.Embedding(11, 6, dtype=np.float64, generator=g)
        self.fc1 = nn.Linear(6 + 5, 16, dtype=np.float64, generator=g)
        self.fc2 = nn.Linear(16, 3, dtype=np.float64, generator=g)

    def forward(self, tokens: Tensor, x: Tensor) -> Tensor:
        return self.fc2(tanh(self.fc1(cat([self.embed(tokens), x], dim=1))))


def data(step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + step)
    return rng.integers(0, 11, BATCH), rng.standard_normal((BATCH, 5)), rng.standard_normal((BATCH, 3))


def train(model: nn.Module, opt, rows: slice, ddp=None):
    for step in range(STEPS):
        tokens, x, y = data(step)
        out = (ddp or model)(Tensor(tokens[rows]), Tensor(x[rows]))
        loss = mse_loss(out, Tensor(y[rows]))
        opt.zero_grad()
        loss.backward()
        if ddp is not None:
            ddp.finish_gradient_synchronization()
        opt.step()
    return opt


def flat_params(model: nn.Module) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def main() -> None:
    out_path = sys.argv[1]
    pg = dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    result: dict = {"world": world, "backend": dist.get_backend()}

    # collectives
    t = Tensor(np.arange(4.0) + rank)
    dist.all_reduce(t)
    result["all_reduce_sum"] = t.numpy().tolist()
    t = Tensor(np.arange(4.0) + rank)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    result["all_reduce_avg"] = t.numpy().tolist()
    t = Tensor(np.array([float(rank)]))
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    result["all_reduce_max"] = t.numpy().tolist()
    t = Tensor(np.full(3, 7.0) if rank == 0 else np.zeros(3))
    dist.broadcast(t, src=0)
    result["broadcast"] = t.numpy().tolist()
    gathered = [Tensor(np.zeros(2)) for _ in range(world)]
    dist.all_gather(gathered, Tensor(np.array([rank, 10.0 * rank])))
    result["all_gather"] = [g.numpy().tolist() for g in gathered]
    out = Tensor(np.zeros(2))
    dist.reduce_scatter(out, [Tensor(np.full(2, float(r + rank))) for r in range(world)])
    result["reduce_scatter"] = out.numpy().tolist()
    work = dist.all_reduce(Tensor(np.ones(1000)), async_op=True)
    result["async_completed"] = bool(work.wait())
    dist.barrier()

    # sampler: the shards are disjoint and cover the dataset
    sampler = dist.DistributedSampler(TensorDataset(np.arange(10.0)), shuffle=True, seed=3)
    sampler.set_epoch(1)
    mine = Tensor(np.array(list(sampler), dtype=np.float64))
    every = [Tensor(np.zeros(len(sampler))) for _ in range(world)]
    dist.all_gather(every, mine)
    result["sampler"] = sorted(int(v) for g in every for v in g.numpy())

    # data parallel == one process with the whole batch
    reference = Net(seed=0)
    full = train(reference, optim.AdamW(reference.parameters(), lr=1e-2), slice(None))
    expected = flat_params(reference)
    per = BATCH // world
    rows = slice(rank * per, (rank + 1) * per)
    diffs = {}
    for variant, cap in [("naive", 25), ("flat", 25), ("overlap", 25), ("bucketed", 25), ("bucketed", 0.0005)]:
        model = Net(seed=rank)  # rank != 0 starts elsewhere: DDP must broadcast rank 0's weights
        ddp = dist.DistributedDataParallel(model, variant=variant, bucket_cap_mb=cap)
        train(model, optim.AdamW(model.parameters(), lr=1e-2), rows, ddp)
        key = f"{variant}" if cap == 25 else f"{variant}_{len(ddp.bucket_sizes_mb)}buckets"
        diffs[key] = float(np.abs(flat_params(model) - expected).max())
    model = Net(seed=rank)
    ddp = dist.DistributedDataParallel(model, variant="bucketed", bucket_cap_mb=0.0005)
    zero = dist.ZeroRedundancyOptimizer(model.parameters(), optim.AdamW, lr=1e-2)
    train(model, zero, rows, ddp)
    diffs["zero1"] = float(np.abs(flat_params(model) - expected).max())
    result["max_abs_diff"] = diffs

    # ZeRO-1 memory: this rank's optimizer state vs the unsharded optimizer's
    unsharded = sum(v.numel() * v.element_size() for s in full.state.values() for v in s.values()
                    if isinstance(v, Tensor))
    state_bytes = Tensor(np.array([float(zero.state_bytes())]))
    every = [Tensor(np.zeros(1)) for _ in range(world)]
    dist.all_gather(every, state_bytes)
    result["zero_state_bytes"] = [float(e.numpy()[0]) for e in every]
    result["unsharded_state_bytes"] = float(unsharded)
    consolidated = zero.consolidated_state_dict(to=0)
    if rank == 0:
        result["consolidated_numel"] = int(consolidated["flat_state"]["exp_avg"].size)
    wrote = dist.save_on_rank0(model, out_path + ".npz")
    result["wrote_checkpoint"] = wrote
    if rank == 0:
        with open(out_path, "w") as f:
            json.dump(result, f)
    dist.destroy_process_group()
    del pg


if __name__ == "__main__":
    main()
