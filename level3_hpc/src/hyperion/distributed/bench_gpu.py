"""Data-parallel training on several GPUs, measured against torch.distributed in the same processes:

    python -m hyperion.distributed.run -n 2 --backend nccl -m hyperion.distributed.bench_gpu [--json PATH]

1. all-reduce bus bandwidth, 1 MB … 1 GB fp32: our NCCL group (CuPy's NCCL) vs torch.distributed's
   NCCL, each timed by synchronising the device around 10 calls (median);
2. the level-2 GPT (6 layers, 384 wide, context 256, batch 32 per GPU, fp32) on N GPUs: tokens/s of
   each DDP variant against N × one GPU alone (same per-GPU batch), and the exposed communication
   (step − step alone) / step;
3. the bucket sweep against ``overhead(b) ≈ ⌈S/b⌉·α + min(b, S)/β`` (α, β fitted on step 1);
4. ZeRO-1: optimizer state bytes per GPU, from the state tensors and from the caching allocator.
Rank 0 prints markdown tables. Keep NVLink multicast off (``NCCL_NVLS_ENABLE=0``, set by the group).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np

import hyperion.distributed as dist

SIZES_MB = (1, 4, 16, 64, 256, 1024)
CONFIG = dict(vocab_size=65, context_length=256, n_layer=6, n_head=6, n_embd=384)


def _median(fn: Any, sync: Any, repeat: int = 10, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeat):
        dist.barrier()
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def allreduce(cp: Any, torch: Any) -> list[dict]:
    from hyperion.tensor import Tensor

    world = dist.get_world_size()
    sync = cp.cuda.get_current_stream().synchronize
    rows = []
    for mb in SIZES_MB:
        n = mb * 2**20 // 4
        t = Tensor._from_array(cp.ones(n, dtype=cp.float32), "cuda")
        ours = _median(lambda: dist.all_reduce(t), sync)
        row = {"MB": mb, "ours_ms": ours * 1e3, "ours_busbw": n * 4 / ours / 1e9 * 2 * (world - 1) / world}
        if torch is not None:
            x = torch.ones(n, dtype=torch.float32, device="cuda")
            theirs = _median(lambda: torch.distributed.all_reduce(x), torch.cuda.synchronize)
            row.update(torch_ms=theirs * 1e3, torch_busbw=n * 4 / theirs / 1e9 * 2 * (world - 1) / world)
            row["ours_vs_torch"] = row["ours_busbw"] / row["torch_busbw"]
        rows.append(row)
    return rows


def gpt_step_time(cp: Any, variant: str | None, bucket_mb: float, batch: int, steps: int) -> float:
    import hyperion.tensor as ht
    from hyperion.optim import AdamW
    from hyperion.transformer.gpt import GPT, GPTConfig

    ht.manual_seed(0)
    model = GPT(GPTConfig(**CONFIG), device="cuda")
    ddp = dist.DistributedDataParallel(model, variant=variant, bucket_cap_mb=bucket_mb) if variant else None
    opt = AdamW(model.parameters(), lr=1e-4)
    rng = np.random.default_rng(dist.get_rank())
    x = ht.tensor(rng.integers(0, 65, (batch, 256)).astype(np.int64), device="cuda")
    y = ht.tensor(rng.integers(0, 65, (batch, 256)).astype(np.int64), device="cuda")

    def step() -> None:
        _, loss = (ddp or model)(x, y)
        opt.zero_grad()
        loss.backward()
        if ddp is not None:
            ddp.finish_gradient_synchronization()
        opt.step()

    return _median(step, cp.cuda.get_current_stream().synchronize, repeat=steps, warmup=2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args(argv)
    import cupy as cp

    dist.init_process_group("nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch = None
    if not args.no_torch:
        try:
            import torch as _torch

            _torch.cuda.set_device(cp.cuda.Device().id)
            _torch.distributed.init_process_group(
                "nccl", init_method=f"file://{os.environ['HYPERION_RENDEZVOUS']}/torch_store",
                rank=rank, world_size=world)
            torch = _torch
        except Exception as exc:  # noqa: BLE001 - reported; our side still runs
            print(f"rank {rank}: torch.distributed unavailable: {exc}")
    result: dict = {"world": world, "allreduce": allreduce(cp, torch)}
    small = [r for r in result["allreduce"] if r["MB"] <= 64]
    slope, alpha = np.polyfit([r["MB"] * 2**20 for r in small], [r["ours_ms"] / 1e3 for r in small], 1)
    alpha, beta = max(float(alpha), 0.0), 1.0 / max(float(slope), 1e-30)
    alone = gpt_step_time(cp, None, 25, args.batch, args.steps)
    tokens = args.batch * 256
    result["alone_step_ms"], result["variants"], result["sweep"] = alone * 1e3, [], []
    for variant in ("naive", "flat", "overlap", "bucketed"):
        t = gpt_step_time(cp, variant, 25, args.batch, args.steps)
        result["variants"].append({"variant": variant, "step_ms": t * 1e3, "tok_s": world * tokens / t,
                                   "vs_one_gpu": alone / t * world, "exposed": max(t - alone, 0.0) / t})
    from hyperion.transformer.gpt import GPT, GPTConfig

    size = sum(p.numel() * 4 for p in GPT(GPTConfig(**CONFIG)).parameters())
    for mb in (1, 5, 25, 100):
        t = gpt_step_time(cp, "bucketed", mb, args.batch, args.steps)
        model = (np.ceil(size / (mb * 2**20)) * alpha + min(mb * 2**20, size) / beta) * 1e3
        result["sweep"].append({"bucket_MB": mb, "step_ms": t * 1e3, "overhead_ms": (t - alone) * 1e3,
                                "model_ms": model})
    # ZeRO-1 memory
    import hyperion.tensor as ht
    from hyperion.optim import AdamW
    from hyperion.runtime.memory import memory_stats, use_caching_allocator

    use_caching_allocator("cuda")
    model = GPT(GPTConfig(**CONFIG), device="cuda")
    for p in model.parameters():
        p.grad = ht.Tensor._from_array(cp.zeros(p.shape, dtype=cp.float32), "cuda")
    before = memory_stats()["allocated_bytes.all.current"]
    zero = dist.ZeroRedundancyOptimizer(model.parameters(), AdamW, lr=1e-4)
    zero.step()
    cp.cuda.get_current_stream().synchronize()
    after = memory_stats()["allocated_bytes.all.current"]
    result["zero"] = {"state_bytes": zero.state_bytes(), "unsharded_bytes": 2 * size,
                      "allocator_delta_bytes": after - before, "params_bytes": size}
    if rank == 0:
        print(f"## {world} GPUs: all-reduce bus bandwidth, GB/s\n")
        print("| MB | ours | torch.distributed | ours/torch |\n|---|---|---|---|")
        for r in result["allreduce"]:
            print(f"| {r['MB']} | {r['ours_busbw']:.1f} | {r.get('torch_busbw', float('nan')):.1f} "
                  f"| {r.get('ours_vs_torch', float('nan')):.3f} |")
        print(f"\n## GPT, batch {args.batch}/GPU: one GPU alone {alone * 1e3:.1f} ms/step\n")
        print("| variant | step ms | tok/s | vs one GPU | exposed comm |\n|---|---|---|---|---|")
        for v in result["variants"]:
            print(f"| {v['variant']} | {v['step_ms']:.1f} | {v['tok_s']:.0f} | {v['vs_one_gpu']:.2f}x "
                  f"| {100 * v['exposed']:.1f}% |")
        print(f"\nfit ≤ 64 MB: α = {alpha * 1e6:.1f} µs, β = {beta / 1e9:.1f} GB/s\n")
        print("| bucket MB | step ms | overhead ms | model ms |\n|---|---|---|---|")
        for s in result["sweep"]:
            print(f"| {s['bucket_MB']} | {s['step_ms']:.1f} | {s['overhead_ms']:.1f} | {s['model_ms']:.1f} |")
        z = result["zero"]
        print(f"\nZeRO-1: state {z['state_bytes']} B/GPU, allocator delta {z['allocator_delta_bytes']} B, "
              f"unsharded {z['unsharded_bytes']} B ({z['state_bytes'] / z['unsharded_bytes']:.3f})")
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
