"""Measure data-parallel training on this machine, side by side in one run:

    python -m hyperion.distributed.run -n 2 -m hyperion.distributed.bench [--quick] [--json PATH]

1. all-reduce: time, algorithm and bus bandwidth of our group vs the engine called directly
   (mpi4py on numpy / CuPy's NCCL communicator), 1 MB … ``--max-mb``; a fit ``t(s) = α + s/β``;
2. DDP on the level-2 GPT: step time and the share of it spent communicating, for no
   communication (each rank alone), naive, flat, overlap and bucketed;
3. the bucket sweep: measured communication overhead per bucket size against the model
   ``overhead(b) ≈ ⌈S/b⌉·α + min(b, S)/β`` (every bucket pays the latency; the last one, launched
   when backward ends, cannot hide behind compute).
Rank 0 prints markdown tables. Each rank computes as well as communicates: on a machine with as
many cores as ranks, communication competes with compute for the same cores.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import numpy as np

import hyperion.distributed as dist
from hyperion.tensor import Tensor


def _median_time(fn: Any, repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        dist.barrier()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def allreduce_table(sizes_mb: list[float], repeat: int) -> list[dict[str, float]]:
    """Our ``all_reduce`` on a Tensor beside the engine's own call on the same buffer."""
    group, world = dist.get_backend(), dist.get_world_size()
    rows = []
    for mb in sizes_mb:
        n = int(mb * 2**20 // 4)
        t = Tensor(np.ones(n, dtype=np.float32))
        ours = _median_time(lambda: dist.all_reduce(t), repeat)
        engine = None
        if group == "mpi":
            from mpi4py import MPI

            raw = np.ones(n, dtype=np.float32)
            engine = _median_time(lambda: MPI.COMM_WORLD.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM), repeat)
        nbytes = n * 4
        algbw = nbytes / ours / 1e9
        rows.append({"MB": mb, "ours_ms": ours * 1e3, "engine_ms": (engine or float("nan")) * 1e3,
                     "algbw_GBps": algbw, "busbw_GBps": algbw * 2 * (world - 1) / world,
                     "ours_vs_engine": (engine / ours) if engine else float("nan")})
    return rows


def fit_latency_bandwidth(rows: list[dict[str, float]], up_to_mb: float) -> tuple[float, float]:
    """Least squares ``t(s) = α + s/β`` over the measured sizes up to ``up_to_mb`` (the messages the
    buckets send; larger ones fall out of cache and run slower), at least the two smallest sizes.
    α is clipped at 0; β falls back to the largest message's rate if the slope comes out ≤ 0."""
    used = [r for r in rows if r["MB"] <= up_to_mb] or rows[:2]
    used = used if len(used) >= 2 else rows[:2]
    s = np.array([r["MB"] * 2**20 for r in used])
    t = np.array([r["ours_ms"] / 1e3 for r in used])
    slope, alpha = np.polyfit(s, t, 1)
    if slope <= 0:
        largest = max(rows, key=lambda r: r["MB"])
        slope = (largest["ours_ms"] / 1e3) / (largest["MB"] * 2**20)
    return max(float(alpha), 0.0), 1.0 / float(slope)


def _gpt(n_layer: int, n_embd: int) -> Any:
    from hyperion.transformer.gpt import GPT, GPTConfig

    return GPT(GPTConfig(vocab_size=256, context_length=64, n_layer=n_layer, n_head=4, n_embd=n_embd))


def ddp_step_time(variant: str | None, bucket_mb: float, steps: int, batch: int, size: tuple[int, int]) -> float:
    """Median seconds per training step on this rank (``variant=None``: no communication at all)."""
    from hyperion.optim import AdamW

    model = _gpt(*size)
    ddp = dist.DistributedDataParallel(model, variant=variant, bucket_cap_mb=bucket_mb) if variant else None
    opt = AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(dist.get_rank())
    idx = Tensor(rng.integers(0, 256, (batch, 64)))
    targets = Tensor(rng.integers(0, 256, (batch, 64)))

    def step() -> None:
        _, loss = (ddp or model)(idx, targets)
        opt.zero_grad()
        loss.backward()
        if ddp is not None:
            ddp.finish_gradient_synchronization()
        opt.step()

    return _median_time(step, steps, warmup=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (CI)")
    parser.add_argument("--max-mb", type=float, default=1024.0)
    parser.add_argument("--json", help="write every number here (rank 0)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per configuration")
    args = parser.parse_args(argv)
    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    quick = args.quick
    sizes = [1, 4, 16] if quick else [s for s in (1, 4, 16, 64, 256, 1024) if s <= args.max_mb]
    ar = allreduce_table(sizes, repeat=3 if quick else 10)
    size = (2, 64) if quick else (4, 256)
    steps, batch = (3, 4) if quick else (args.steps, 8)
    model_mb = sum(p.numel() * p.element_size() for p in _gpt(*size).parameters()) / 2**20
    alpha, beta = fit_latency_bandwidth(ar, up_to_mb=max(model_mb, 1.0))
    base = ddp_step_time(None, 25, steps, batch, size)
    variants = []
    for variant in ("naive", "flat", "overlap", "bucketed"):
        t = ddp_step_time(variant, 25, steps, batch, size)
        variants.append({"variant": variant, "step_ms": t * 1e3, "comm_share": max(t - base, 0.0) / t})
    sweep = []
    for mb in ([0.25, 1, 1000] if quick else [0.1, 0.5, 1, 5, 25, 100, 1000]):
        t = ddp_step_time("bucketed", mb, steps, batch, size)
        nbytes = model_mb * 2**20
        predicted = math.ceil(nbytes / (mb * 2**20)) * alpha + min(mb * 2**20, nbytes) / beta
        sweep.append({"bucket_MB": mb, "step_ms": t * 1e3, "measured_overhead_ms": (t - base) * 1e3,
                      "model_overhead_ms": predicted * 1e3})
    if rank == 0:
        print(f"## All-reduce, {world} ranks, backend {dist.get_backend()}\n")
        print("| MB | ours ms | engine ms | ours/engine speed | algbw GB/s | busbw GB/s |\n|---|---|---|---|---|---|")
        for r in ar:
            print(f"| {r['MB']:g} | {r['ours_ms']:.3f} | {r['engine_ms']:.3f} | {r['ours_vs_engine']:.2f} "
                  f"| {r['algbw_GBps']:.2f} | {r['busbw_GBps']:.2f} |")
        print(f"\nfit up to {max(model_mb, 1.0):.1f} MB: latency α = {alpha * 1e6:.1f} µs, "
              f"bandwidth β = {beta / 1e9:.2f} GB/s\n")
        print(f"## DDP on the GPT ({model_mb:.1f} MB of fp32 parameters), batch {batch}/rank, "
              f"no-communication step {base * 1e3:.1f} ms\n")
        print("| variant | step ms | share of the step communicating |\n|---|---|---|")
        for v in variants:
            print(f"| {v['variant']} | {v['step_ms']:.1f} | {100 * v['comm_share']:.0f}% |")
        print("\n## Bucket sweep (bucketed DDP): measured overhead vs the model\n")
        print("| bucket MB | step ms | measured overhead ms | model ms |\n|---|---|---|---|")
        for s in sweep:
            print(f"| {s['bucket_MB']:g} | {s['step_ms']:.1f} | {s['measured_overhead_ms']:.1f} "
                  f"| {s['model_overhead_ms']:.1f} |")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"world": world, "allreduce": ar, "alpha_s": alpha, "beta_Bps": beta,
                           "model_MB": model_mb, "no_comm_step_ms": base * 1e3, "variants": variants,
                           "sweep": sweep}, f, indent=1)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
