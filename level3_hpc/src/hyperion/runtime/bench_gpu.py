"""The runtime judged on the GPT training step (GPU): allocators side by side, a per-op profile, the MLP step.

    python -m hyperion.runtime.bench_gpu --out results/   # writes runtime_gpu.json and runtime_gpu.md

1. Allocators, one model each, same step (level-2 GPT, ``gpt_bench.CONFIG``, B=32, T=256, fp32, the
   level-3 softmax/LayerNorm/GELU kernels with cuBLAS matmuls -- the fastest Hyperion variant):
   no pool (every allocation a ``cudaMalloc``), CuPy's ``MemoryPool``, ours (parking every freed block;
   parking only small ones). Each model is built and warmed (3 steps) under its own allocator, then the
   timed steps run interleaved, one of each per round. Device mallocs per step, peak reserved,
   fragmentation at the allocated peak, tokens/s (also as the median of each round's ratio to CuPy's
   pool), a cProfile of one step of each pooled mode, and the host µs of one ``cupy.empty`` + free
   through each allocator (``plumbing_us``).
2. A profile of the step under ``hyperion.runtime.profile()``: top ops, share of step inside ops,
   step time with the profiler on vs off, and the PyTorch twin's step in the same run.
3. The level-1 MLP step on cuda vs PyTorch (``hyperion.examples.bench.mlp_step``).
4. The GPT step captured once as a CUDA graph (``hyperion.runtime.cuda_graph.CudaGraphStep``) and
   replayed, beside the eager step and the PyTorch eager twin, interleaved: losses and gradients
   of the replays vs eager, ms per step.
5. The same GPT step under ``hyperion.runtime.lazy("cuda")``: kernels launched vs the ops eager mode
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


def _gpt_step(B: int, T: int, device: str = "cuda", config: dict | None = None):
    import hyperion.tensor as ht
    from hyperion.transformer.gpt import GPT, GPTConfig

    config = config or CONFIG
    rng = np.random.default_rng(0)
    idx = rng.integers(0, config["vocab_size"], (B, T)).astype(np.int64)
    tgt = rng.integers(0, config["vocab_size"], (B, T)).astype(np.int64)
    ht.manual_seed(0)
    model = GPT(GPTConfig(**config), device=device)
    x, y = ht.tensor(idx, device=device), ht.tensor(tgt, device=device)

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


class GcPauses:
    """Seconds and passes of Python's cyclic garbage collector, read through ``gc.callbacks``."""

    def __init__(self) -> None:
        self.seconds, self.passes, self._start = 0.0, 0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.passes += 1


MODES = ("no pool", "CuPy pool", "ours", "ours, park small only")


def _install(mode: str, raw: CountingRaw, pool, ours) -> None:
    """Make ``mode``'s allocator the one CuPy allocates through."""
    import cupy

    from hyperion.runtime import memory

    if mode == "no pool":
        cupy.cuda.set_allocator(raw)
    elif mode == "CuPy pool":
        cupy.cuda.set_allocator(pool.malloc)
    else:
        memory.use_caching_allocator("cuda", ours)


def _host_profile(step, lines: int = 18) -> str:
    """cProfile of one step: where the host's time goes (sorted by time inside each function)."""
    import cProfile
    import io
    import pstats

    import cupy

    profiler = cProfile.Profile()
    profiler.enable()
    step()
    cupy.cuda.runtime.deviceSynchronize()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(lines)
    return text.getvalue()[-6000:]


def plumbing_us(n: int = 20000) -> dict[str, float]:
    """Host µs of one ``cupy.empty`` (1 MiB) and its free through each allocator, the floor of CuPy's
    Python-allocator plumbing included (``PythonFunctionAllocator`` over two trivial functions)."""
    import cupy

    from hyperion.runtime import memory

    base = cupy.cuda.runtime.malloc(1 << 20)
    trivial = cupy.cuda.PythonFunctionAllocator(lambda size, device_id: base, lambda ptr, device_id: None)
    installs = {"CuPy pool": lambda: cupy.cuda.set_allocator(cupy.cuda.MemoryPool().malloc),
                "PythonFunctionAllocator, trivial functions": lambda: cupy.cuda.set_allocator(trivial.malloc),
                "ours": lambda: memory.use_caching_allocator("cuda", memory.DeviceAllocator())}
    out = {}
    for name, install in installs.items():
        install()
        for _ in range(200):
            cupy.empty(1 << 18, np.float32)
        t = time.perf_counter()
        for _ in range(n):
            cupy.empty(1 << 18, np.float32)
        out[name] = (time.perf_counter() - t) / n * 1e6
    cupy.cuda.set_allocator(cupy.get_default_memory_pool().malloc)
    cupy.cuda.runtime.free(base)
    return out


def allocators(B: int, T: int) -> dict:
    """One model per allocator, built and warmed under it; then the timed steps interleaved, one step
    of each mode per round, so a host that drifts in speed moves every mode alike."""
    import cupy

    from hyperion.runtime import memory
    from hyperion.runtime.backend import use_kernels

    use_kernels(True, matmul_version=None)
    setups = {}
    for mode in MODES:
        gc.collect()
        raw = CountingRaw()
        pool = cupy.cuda.MemoryPool(allocator=raw) if mode == "CuPy pool" else None
        # large blocks merge when freed in the last: the backward frees each finished op's memory
        ours = memory.DeviceAllocator(park_large=mode == "ours") if mode.startswith("ours") else None
        _install(mode, raw, pool, ours)
        model, step, _ = _gpt_step(B, T)
        loss = float(step().item())
        for _ in range(WARMUP - 1):
            step()
        cupy.cuda.runtime.deviceSynchronize()
        setups[mode] = (raw, pool, ours, model, step, loss)
    counts = {m: (raw.count if ours is None else ours.memory_stats()["num_device_alloc"],
                  0 if ours is None else ours.memory_stats()["num_park_merges"])
              for m, (raw, pool, ours, *_rest) in setups.items()}
    times: dict[str, list[float]] = {m: [] for m in MODES}
    gc_ms = dict.fromkeys(MODES, 0.0)
    gc_passes = dict.fromkeys(MODES, 0)
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    for _ in range(STEPS):
        for mode, (raw, pool, ours, _model, step, _loss) in setups.items():
            _install(mode, raw, pool, ours)
            seconds, passes = pauses.seconds, pauses.passes
            times[mode] += _time_steps(step, 1)
            gc_ms[mode] += (pauses.seconds - seconds) * 1e3 / STEPS
            gc_passes[mode] += pauses.passes - passes
    gc.callbacks.remove(pauses)
    out = {"timing": f"{STEPS} rounds, one step of each mode per round, in the order {list(MODES)}",
           "plumbing_us_per_empty_and_free": plumbing_us()}
    for mode, (raw, pool, ours, _model, step, loss) in setups.items():
        before, merges = counts[mode]
        after = raw.count if ours is None else ours.memory_stats()["num_device_alloc"]
        row = {"loss": loss, "step_ms_median": statistics.median(times[mode]), "step_ms_all": times[mode],
               "tokens_per_s": B * T / (statistics.median(times[mode]) * 1e-3),
               "device_mallocs_per_step": (after - before) / STEPS,
               "gc_ms_per_step": gc_ms[mode], "gc_passes": gc_passes[mode]}
        if mode != "CuPy pool":  # each round's pair: steps one after the other on the same host
            row["tokens_per_s_vs_cupy_pool_paired"] = statistics.median(
                c / m for c, m in zip(times["CuPy pool"], times[mode]))
        if pool is not None:
            row["peak_reserved_bytes"] = pool.total_bytes()
            row["used_bytes_after"] = pool.used_bytes()
        if ours is not None:  # runs of parked blocks merged instead of a new segment, after warm-up
            s = ours.memory_stats()
            row["park_merges_per_step"] = (s["num_park_merges"] - merges) / STEPS
            peak, at_peak = s["allocated_bytes.all.peak"], s["reserved_bytes_at_allocated_peak"]
            row.update(peak_reserved_bytes=s["reserved_bytes.all.peak"], peak_allocated_bytes=peak,
                       reserved_at_allocated_peak=at_peak, fragmentation_at_peak=1 - peak / at_peak,
                       segments=s["segment.all.current"], stats=s)
        if mode != "no pool":
            _install(mode, raw, pool, ours)
            row["host_profile"] = _host_profile(step)
        out[mode] = row
    caches = [(pool, ours) for raw, pool, ours, *_ in setups.values()]
    del setups, step, model, _model
    gc.collect()  # every model gone: the pools below hold only cached blocks
    for pool, ours in caches:
        if pool is not None:
            pool.free_all_blocks()
        if ours is not None:
            ours.empty_cache()
    cupy.cuda.set_allocator(cupy.get_default_memory_pool().malloc)
    use_kernels(False)
    return out


def profile_step(B: int, T: int) -> dict:

    from hyperion.runtime.backend import use_kernels
    from hyperion.runtime.bench_profile import coverage
    from hyperion.runtime.profiler import hook_check_seconds, profile

    use_kernels(True, matmul_version=None)
    model, step, (idx, tgt) = _gpt_step(B, T)
    for _ in range(WARMUP):
        step()
    off_times, on_times = [], []
    for _ in range(STEPS):  # off and on in turns, so a host that drifts in speed moves both alike
        off_times += _time_steps(step, 1)
        with profile():
            on_times += _time_steps(step, 1)
    off, on = statistics.median(off_times), statistics.median(on_times)
    share, shares, prof = coverage(step, 5)  # the figure bench_profile measures on the CPU twin
    timeline = _device_timeline(step)
    use_kernels(False)
    check_s = hook_check_seconds()
    out = {"step_ms_profiler_off": off, "step_ms_profiler_on": on, "profiler_on_overhead": on / off - 1,
           "profiler_on_overhead_paired": statistics.median(b / a - 1 for a, b in zip(off_times, on_times)),
           "step_ms_off_all": off_times, "step_ms_on_all": on_times, "profiled_wall_ms": prof.wall * 1e3,
           "hook_checks_per_step": len(prof.records), "hook_check_ns": check_s * 1e9,
           "profiler_off_overhead": check_s * len(prof.records) / (off * 1e-3),
           "ops_share_of_wall": share, "ops_share_of_wall_each": shares, "uncovered_gaps": prof.gaps(15),
           "engine_ms": sum(r.duration for r in prof.records if r.phase == "engine") * 1e3,
           "view_ms": sum(r.duration for r in prof.records if r.phase == "view") * 1e3,
           "table": prof.table(limit=15),
           "summary": [{k: v for k, v in row.items()} for row in prof.summary()[:25]],
           "device_timeline": timeline}
    Path(_OUT, "gpt_step_trace.json").write_text(json.dumps(prof.chrome_trace()), encoding="utf-8")
    del model, step
    gc.collect()
    try:
        import torch

        tstep = _torch_step(torch, idx, tgt)
        out["torch_step_ms"] = statistics.median(_time_torch(torch, tstep))
        out["torch_kernel_profile"] = _torch_top_kernels(torch, tstep)
    except Exception as exc:  # noqa: BLE001 - reported
        out["torch_error"] = f"{type(exc).__name__}: {exc}"
    return out


def _device_timeline(step) -> dict:
    """One step profiled with the CUPTI device timeline: its kernels, copies and device allocations,
    the share of the wall time the GPU was busy, merged into ``gpt_step_trace_cupti.json``."""
    import cupy

    from hyperion.runtime.device_timeline import busy_seconds
    from hyperion.runtime.profiler import profile

    try:
        cupy.cuda.runtime.deviceSynchronize()
        with profile(device_timeline="cuda") as prof:
            step()
    except Exception as exc:  # noqa: BLE001 - reported (e.g. cupti-python not installed)
        return {"error": f"{type(exc).__name__}: {exc}"}
    acts = prof.timeline.activities
    Path(_OUT, "gpt_step_trace_cupti.json").write_text(json.dumps(prof.chrome_trace()), encoding="utf-8")
    return {"kernels": sum(a.kind == "kernel" for a in acts), "memcpys": sum(a.kind == "memcpy" for a in acts),
            "memsets": sum(a.kind == "memset" for a in acts), "device_mallocs": sum(a.kind == "malloc" for a in acts),
            "streams": sorted({a.stream for a in acts}), "wall_ms": prof.wall * 1e3,
            "gpu_busy_share_of_wall": busy_seconds(acts) / prof.wall, "ops_share_of_wall": prof.coverage()}


def _torch_step(torch, idx: np.ndarray, tgt: np.ndarray):
    """The PyTorch eager twin's step (fp32, TF32 off, same config, GPT-2 init), warmed up."""
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
    return tstep


def _time_torch(torch, tstep) -> list[float]:
    times = []
    for _ in range(STEPS):
        t = time.perf_counter()
        tstep()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def _torch_top_kernels(torch, tstep) -> str:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as tprofile

    with tprofile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
        tstep()
        torch.cuda.synchronize()
    return p.key_averages().table(sort_by="cuda_time_total", row_limit=12)


def graph_step(B: int, T: int) -> dict:
    """The GPT step eager, captured as one CUDA graph (``CudaGraphStep``) and the PyTorch eager twin,
    side by side, interleaved round by round: loss and gradients of the replays vs eager, ms/step."""
    import torch

    from hyperion.runtime.backend import use_kernels
    from hyperion.runtime.cuda_graph import CudaGraphStep

    use_kernels(True, matmul_version=None)
    model, step, (idx, tgt) = _gpt_step(B, T)
    eager_loss = float(step().item())
    eager_grads = [p.grad.numpy() for p in model.parameters()]
    for _ in range(WARMUP - 1):
        step()
    t = time.perf_counter()
    graphed = CudaGraphStep(step)
    capture_s = time.perf_counter() - t
    replay_losses = [float(graphed().item()) for _ in range(3)]
    graph_grads = [p.grad.numpy() for p in model.parameters()]
    with graphed.same_kernels():  # an eager step on the graph's cuBLAS calls: bitwise comparable
        same_kernels_loss = float(step().item())
    tstep = _torch_step(torch, idx, tgt)
    eager, graph, twin = [], [], []
    for _ in range(3):  # interleaved rounds: drifting clocks or load hit all three alike
        eager += _time_steps(step, STEPS)
        graph += _time_steps(graphed, STEPS)
        twin += _time_torch(torch, tstep)
    last_loss = float(graphed().item())
    use_kernels(False)
    grad_err = max(float(np.abs(a - b).max() / (np.abs(a).max() + 1e-30)) for a, b in zip(eager_grads, graph_grads))
    e, g, tw = statistics.median(eager), statistics.median(graph), statistics.median(twin)
    return {"eager_loss": eager_loss, "replay_losses": replay_losses, "loss_after_timing": last_loss,
            "same_kernels_eager_loss": same_kernels_loss,
            "replays_equal_same_kernels_eager": all(x == same_kernels_loss for x in [*replay_losses, last_loss]),
            "losses_equal": all(x == eager_loss for x in [*replay_losses, last_loss]),
            "loss_rel_diff_vs_cupy_eager": abs(last_loss - eager_loss) / abs(eager_loss),
            "gemm_calls": graphed.gemm.calls,
            "max_rel_grad_diff": grad_err, "capture_seconds": capture_s,
            "graph_pool_reserved_bytes": graphed.memory_stats()["reserved_bytes.all.current"],
            "eager_step_ms": e, "graph_step_ms": g, "torch_step_ms": tw,
            "eager_ms_all": eager, "graph_ms_all": graph, "torch_ms_all": twin,
            "eager_over_torch_speed": tw / e, "graph_over_torch_speed": tw / g,
            "tokens_per_s": {"eager": B * T / (e * 1e-3), "graph": B * T / (g * 1e-3),
                             "torch": B * T / (tw * 1e-3)}}


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


def mlp_graph(rounds: int = 5, number: int = 300) -> dict:
    """The level-1 MLP step (784-256-10, batch 128, cross-entropy, SGD lr 0.01: ``examples.bench.mlp_step``)
    on cuda with level 3's backend, eager and as a CUDA graph, beside PyTorch eager, interleaved.
    Check: the parameters after the graph's 2 warm-up steps and 5 replays equal those of 7 eager steps
    of a twin model (same initialisation)."""
    import torch

    import hyperion.tensor as ht
    from hyperion import nn, optim
    from hyperion.runtime.backend import use_kernels
    from hyperion.runtime.cuda_graph import CudaGraphStep

    use_kernels(True, matmul_version=None)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((128, 784), dtype=np.float32), rng.integers(0, 10, 128)

    def build():
        ht.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        init = {k: np.asarray(v) for k, v in model.state_dict().items()}
        model.to("cuda")
        opt, loss_fn = optim.SGD(model.parameters(), lr=0.01), nn.CrossEntropyLoss()
        hx, hy = ht.tensor(x, device="cuda"), ht.tensor(y, device="cuda")

        def step():
            opt.zero_grad()
            loss = loss_fn(model(hx), hy)
            loss.backward()
            opt.step()
            return loss

        return model, step, init

    model, step, init = build()
    twin, twin_step, _ = build()
    graphed = CudaGraphStep(step)  # 2 warm-up steps
    for _ in range(5):
        graphed()
    for _ in range(7):
        twin_step()
    param_diff = max(float(np.abs(a.detach().numpy() - b.detach().numpy()).max())
                     for a, b in zip(model.parameters(), twin.parameters()))
    theirs = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    theirs.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    theirs.cuda()
    topt, tloss = torch.optim.SGD(theirs.parameters(), lr=0.01), torch.nn.CrossEntropyLoss()
    tx, ty = torch.tensor(x, device="cuda"), torch.tensor(y, device="cuda")

    def tstep():
        topt.zero_grad()
        tloss(theirs(tx), ty).backward()
        topt.step()

    import cupy

    def per_step_ms(fn) -> float:
        cupy.cuda.runtime.deviceSynchronize()
        t = time.perf_counter()
        for _ in range(number):
            fn()
        cupy.cuda.runtime.deviceSynchronize()
        return (time.perf_counter() - t) / number * 1e3

    for fn in (twin_step, graphed, tstep):
        per_step_ms(fn)
    times: dict[str, list[float]] = {"eager": [], "graph": [], "torch": []}
    for _ in range(rounds):
        for name, fn in (("eager", twin_step), ("graph", graphed), ("torch", tstep)):
            times[name].append(per_step_ms(fn))
    use_kernels(False)
    best = {k: min(v) for k, v in times.items()}
    return {"param_max_abs_diff_graph_vs_eager": param_diff, "ms_best": best, "ms_all": times,
            "eager_over_torch_time": best["eager"] / best["torch"],
            "graph_over_torch_time": best["graph"] / best["torch"]}


def mlp(quick: bool) -> str:
    from hyperion.examples.bench import mlp_step

    return mlp_step(quick, "cuda")


_OUT = "."


def main(argv: list[str] | None = None) -> None:
    global _OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--only", nargs="*",
                        help="run only these parts (graph, lazy, lazy_plain, profile, mlp_step, mlp_graph, allocators)")
    args = parser.parse_args(argv)
    _OUT = args.out
    Path(_OUT).mkdir(parents=True, exist_ok=True)
    from hyperion.runtime.device import gpu_info

    results: dict = {"gpu": gpu_info(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "batch": args.batch, "T": CONFIG["context_length"]}
    for name, fn in (("allocators", lambda: allocators(args.batch, CONFIG["context_length"])),
                     ("profile", lambda: profile_step(args.batch, CONFIG["context_length"])),
                     ("lazy_plain", lambda: lazy_step(args.batch, CONFIG["context_length"], kernels=False)),
                     ("graph", lambda: graph_step(args.batch, CONFIG["context_length"])),
                     ("mlp_graph", mlp_graph),
                     ("mlp_step", lambda: mlp(False)),
                     ("lazy", lambda: lazy_step(args.batch, CONFIG["context_length"])),
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
