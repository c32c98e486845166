"""The runtime judged on the GPT training step (GPU): allocators side by side, a per-op profile, the MLP step.

    python -m hyperion.runtime.bench_gpu --out results/   # writes runtime_gpu.json and runtime_gpu.md

1. Allocators, one model each, same step (level-2 GPT, ``gpt_bench.CONFIG``, B=32, T=256, fp32, the
   level-3 softmax/LayerNorm/GELU kernels with cuBLAS matmuls -- the fastest Hyperion variant):
   no pool (every allocation a ``cudaMalloc``), CuPy's ``MemoryPool``, ours. Device mallocs per step
   after 3 warm-up steps, peak reserved, fragmentation at the allocated peak, tokens/s.
2. A profile of the step under ``hyperion.runtime.profile()``: top ops, share of step inside ops,
   step time with the profiler on vs off, and the PyTorch twin's step in the same run.
3. The level-1 MLP step on cuda vs PyTorch (``hyperion.examples.bench.mlp_step``).
4. The same GPT step under ``hyperion.runtime.lazy("cuda")``: kernels launched vs the ops eager mode
   launches (counted by lazy mode's ``Stats``), compiles on the second step, loss and gradients vs
   eager, step time. The allocator comparison runs twice (interleaved with the rest) for its 3 % target.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path

import numpy as np

from hyperion.kernels.gpt_bench import CONFIG, _torch_gpt

WARMUP, STEPS = 3, 10


class CountingRaw:
    """``cudaMalloc`` through CuPy's ``Memory``, counted: the raw allocator under "no pool" and CuPy's pool."""

    def __init__(self) -> None:
        import cupy

        self.cupy, self.count = cupy, 0

    def __call__(self, size: int):
        self.count += 1
        return self.cupy.cuda.MemoryPointer(self.cupy.cuda.Memory(size), 0)


def _gpt_step(B: int, T: int):
    import hyperion.tensor as ht
    from hyperion.transformer.gpt import GPT, GPTConfig

    rng = np.random.default_rng(0)
    idx = rng.integers(0, CONFIG["vocab_size"], (B, T)).astype(np.int64)
    tgt = rng.integers(0, CONFIG["vocab_size"], (B, T)).astype(np.int64)
    ht.manual_seed(0)
    model = GPT(GPTConfig(**CONFIG), device="cuda")
    x, y = ht.tensor(idx, device="cuda"), ht.tensor(tgt, device="cuda")

    def step():
        model.zero_grad()
        _, loss = model(x, y)
        loss.backward()
        return loss

    return model, step, (idx, tgt)


def _time_steps(step, n: int) -> list[float]:
    """Wall ms per step, each ended by a device synchronisation (host overhead included, as in training)."""
    import cupy

    times = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        cupy.cuda.runtime.deviceSynchronize()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def allocators(B: int, T: int) -> dict:
    import cupy

    from hyperion.runtime import memory
    from hyperion.runtime.backend import use_kernels

    use_kernels(True, matmul_version=None)
    out = {}
    for mode in ("no pool", "CuPy pool", "ours"):
        gc.collect()
        raw, pool, ours = CountingRaw(), None, None
        if mode == "no pool":
            cupy.cuda.set_allocator(raw)
        elif mode == "CuPy pool":
            pool = cupy.cuda.MemoryPool(allocator=raw)
            cupy.cuda.set_allocator(pool.malloc)
        else:
            ours = memory.use_caching_allocator("cuda")
        model, step, _ = _gpt_step(B, T)
        loss = float(step().item())
        for _ in range(WARMUP - 1):
            step()
        cupy.cuda.runtime.deviceSynchronize()
        before = raw.count if ours is None else ours.memory_stats()["num_device_alloc"]
        times = _time_steps(step, STEPS)
        after = raw.count if ours is None else ours.memory_stats()["num_device_alloc"]
        row = {"loss": loss, "step_ms_median": statistics.median(times), "step_ms_all": times,
               "tokens_per_s": B * T / (statistics.median(times) * 1e-3),
               "device_mallocs_per_step": (after - before) / STEPS}
        if pool is not None:
            row["peak_reserved_bytes"] = pool.total_bytes()
            row["used_bytes_after"] = pool.used_bytes()
        if ours is not None:
            s = ours.memory_stats()
            peak, at_peak = s["allocated_bytes.all.peak"], s["reserved_bytes_at_allocated_peak"]
            row.update(peak_reserved_bytes=s["reserved_bytes.all.peak"], peak_allocated_bytes=peak,
                       reserved_at_allocated_peak=at_peak, fragmentation_at_peak=1 - peak / at_peak,
                       segments=s["segment.all.current"], stats=s)
        out[mode] = row
        del model, step
        gc.collect()
        if pool is not None:
            pool.free_all_blocks()
        if ours is not None:
            ours.empty_cache()
    cupy.cuda.set_allocator(cupy.get_default_memory_pool().malloc)
    use_kernels(False)
    return out


def profile_step(B: int, T: int) -> dict:
    import cupy

    from hyperion.runtime.backend import use_kernels
    from hyperion.runtime.profiler import profile

    use_kernels(True, matmul_version=None)
    model, step, (idx, tgt) = _gpt_step(B, T)
    for _ in range(WARMUP):
        step()
    off = statistics.median(_time_steps(step, STEPS))
    with profile() as prof:
        step()
    on_times = []
    for _ in range(5):
        with profile():
            t = time.perf_counter()
            step()
            cupy.cuda.runtime.deviceSynchronize()
            on_times.append((time.perf_counter() - t) * 1e3)
    on = statistics.median(on_times)
    use_kernels(False)
    out = {"step_ms_profiler_off": off, "step_ms_profiler_on": on, "profiled_wall_ms": prof.wall * 1e3,
           "ops_share_of_wall": prof.op_seconds() / prof.wall, "table": prof.table(limit=15),
           "summary": [{k: v for k, v in row.items()} for row in prof.summary()[:25]]}
    Path(_OUT, "gpt_step_trace.json").write_text(json.dumps(prof.chrome_trace()), encoding="utf-8")
    del model, step
    gc.collect()
    try:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.manual_seed(0)
        tmodel = _torch_gpt(torch, CONFIG)  # initialised as GPT-2, on cuda
        tx, ty = torch.from_numpy(idx).cuda(), torch.from_numpy(tgt).cuda()

        def tstep():
            tmodel.zero_grad(set_to_none=True)
            loss = tmodel(tx, ty)
            loss.backward()
            return loss

        for _ in range(WARMUP):
            tstep()
        times = []
        for _ in range(STEPS):
            t = time.perf_counter()
            tstep()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t) * 1e3)
        out["torch_step_ms"] = statistics.median(times)
        out["torch_kernel_profile"] = _torch_top_kernels(torch, tstep)
    except Exception as exc:  # noqa: BLE001 - reported
        out["torch_error"] = f"{type(exc).__name__}: {exc}"
    return out


def _torch_top_kernels(torch, tstep) -> str:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as tprofile

    with tprofile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
        tstep()
        torch.cuda.synchronize()
    return p.key_averages().table(sort_by="cuda_time_total", row_limit=12)


def lazy_step(B: int, T: int, kernels: bool = True) -> dict:
    """The GPT step eager and under ``lazy("cuda")``, side by side: kernels, compiles, loss, ms.
    ``kernels``: level 3's softmax/LayerNorm/GELU Functions registered (opaque to lazy mode), else
    level 1's composed Functions on CuPy (which lazy mode fuses)."""
    import cupy

    from hyperion.runtime.backend import use_kernels
    from hyperion.runtime.lazy import lazy

    use_kernels(kernels, matmul_version=None)
    model, step, _ = _gpt_step(B, T)
    eager_loss = float(step().item())
    eager_grads = [p.grad.numpy() for p in model.parameters()]
    for _ in range(WARMUP - 1):
        step()
    eager = _time_steps(step, STEPS)
    runs = []
    for _ in range(2):
        with lazy("cuda") as run:
            loss = float(step().item())
        runs.append({**{k: v for k, v in vars(run).items() if k != "groups"}, "loss": loss,
                     "groups": [[list(g.shape), list(g.axes), g.ops] for g in run.groups]})
    lazy_grads = [p.grad.numpy() for p in model.parameters()]
    times = []
    for _ in range(STEPS):
        t = time.perf_counter()
        with lazy("cuda"):
            step()
        cupy.cuda.runtime.deviceSynchronize()
        times.append((time.perf_counter() - t) * 1e3)
    use_kernels(False)
    grad_err = max(float(np.abs(a - b).max() / (np.abs(a).max() + 1e-30)) for a, b in zip(eager_grads, lazy_grads))
    return {"eager_loss": eager_loss, "lazy_runs": runs, "max_rel_grad_diff": grad_err,
            "eager_step_ms": statistics.median(eager), "lazy_step_ms": statistics.median(times),
            "lazy_step_ms_all": times, "kernels_lazy_over_eager": runs[1]["kernels"] / runs[1]["eager_kernels"]}


def mlp(quick: bool) -> str:
    from hyperion.examples.bench import mlp_step

    return mlp_step(quick, "cuda")


_OUT = "."


def main(argv: list[str] | None = None) -> None:
    global _OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--only", nargs="*", help="run only these parts (lazy, profile, mlp_step, allocators)")
    args = parser.parse_args(argv)
    _OUT = args.out
    Path(_OUT).mkdir(parents=True, exist_ok=True)
    from hyperion.runtime.device import gpu_info

    results: dict = {"gpu": gpu_info(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "batch": args.batch, "T": CONFIG["context_length"]}
    for name, fn in (("lazy", lambda: lazy_step(args.batch, CONFIG["context_length"])),
                     ("lazy_plain", lambda: lazy_step(args.batch, CONFIG["context_length"], kernels=False)),
                     ("profile", lambda: profile_step(args.batch, CONFIG["context_length"])),
                     ("mlp_step", lambda: mlp(False)),
                     ("allocators", lambda: allocators(args.batch, CONFIG["context_length"])),
                     ("allocators_again", lambda: allocators(args.batch, CONFIG["context_length"]))):
        if args.only and name.removesuffix("_again") not in args.only:
            continue
        t = time.perf_counter()
        try:
            results[name] = fn()
        except Exception as exc:  # noqa: BLE001 - the other parts still run
            import traceback

            results[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        results[f"{name}_seconds"] = time.perf_counter() - t
        Path(_OUT, "runtime_gpu.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
        print(name, "done in", round(results[f"{name}_seconds"], 1), "s", flush=True)


if __name__ == "__main__":
    main()
