"""FlashAttention benchmarks: time and peak memory against naive attention and PyTorch, in one run.

    python -m hyperion.transformer.flash.bench [--quick] [--device cpu|cuda] [--out DIR]

Every variant is first checked against naive attention on the benchmark's own inputs, then timed beside the
others in one process (best of ``--repeat`` or more, in three rotated passes; on the CPU each variant's timed
calls follow its own, see ``_in_passes``), so the ratios compare runs made side by side.

CPU (float32, d = 64, B·H given by --batch/--heads): naive numpy vs the numba kernels vs PyTorch CPU
``scaled_dot_product_attention``. Peak memory is ``tracemalloc``'s peak during one call: numpy
reports its array allocations to it, and the numba wrapper allocates every buffer (scratch tiles
included) in Python, so both are measured the same way. PyTorch's allocator is invisible to
tracemalloc: its memory is not reported. On a shared machine the times are noisy; read the ratios.

GPU (CUDA): see :mod:`.bench_gpu` — the CUDA kernels vs three naive baselines (ours, a practitioner's
cuBLAS one on CuPy, PyTorch's) and PyTorch SDPA's flash kernel.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np


# ---- CPU ---------------------------------------------------------------------------------------
def set_threads(n: int) -> list[str]:
    """Use ``n`` threads in numba, PyTorch and numpy's OpenBLAS (found among the loaded libraries)."""
    import ctypes

    import numba
    import torch

    numba.set_num_threads(n)
    torch.set_num_threads(n)
    done = [f"numba {n}", f"torch {n}"]
    import scipy.linalg.cython_blas  # noqa: F401  (numba's np.dot calls scipy's own OpenBLAS: load it first)

    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line})
    for path in libs:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads"):
            if hasattr(lib, name):
                getattr(lib, name)(n)
                done.append(f"{Path(path).name.split('-')[0]} {n}")
                break
    return done


def default_threads() -> str:
    """The thread counts a plain process runs with (nothing set), for the report's header."""
    import numba
    import torch

    return f"none set (process defaults: numba {numba.get_num_threads()}, torch {torch.get_num_threads()})"


def _peak_bytes(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _in_passes(fns: dict[str, Callable[[], object]], repeat: int, settle_s: float = 0.2,
                 budget_s: float = 0.5) -> dict[str, float]:
    """Best time of each function: three passes over them in a rotated order; in a pass, each function is
    first called untimed for ``settle_s`` (at least once), then timed ``repeat`` times or for ``budget_s``,
    whichever is more (at most 30 calls).

    What runs before a call matters: a call made within about 0.1 s of naive attention ran 1.2-2.7x slower
    (OpenBLAS's threads still spin after numpy's large products, and its N×N scores have flushed the caches;
    measured at N = 1024 and 2048 on 2 cores, flash and SDPA alike). Interleaving single calls in a rotated
    order did not even that out: at N = 1024 (8 ms calls) every flash call fell within 0.1 s of a naive one.
    So each function is timed in a run of its own calls, after the others' threads have settled; the passes
    still spread a change of the machine's load over every function.
    """
    best = {name: float("inf") for name in fns}
    names = list(fns)
    for p in range(3):
        for name in names[p % len(names):] + names[:p % len(names)]:
            fn = fns[name]
            start = time.perf_counter()
            fn()
            while time.perf_counter() - start < settle_s:
                fn()
            spent, calls = 0.0, 0
            while calls < max(1, math.ceil(repeat / 3)) or (spent < budget_s / 3 and calls < 10):
                t0 = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - t0
                best[name] = min(best[name], elapsed)
                spent, calls = spent + elapsed, calls + 1
    return best


def bench_cpu(sizes, batch, heads, d, repeat, backward_up_to) -> list[dict]:
    import torch

    from hyperion.transformer.flash.naive import naive_attention_backward, naive_attention_forward
    from hyperion.transformer.flash.numba_cpu import flash_backward, flash_forward

    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        q, k, v, do = (rng.standard_normal((batch, heads, n, d)).astype(np.float32) for _ in range(4))
        tq, tk, tv = (torch.from_numpy(x) for x in (q, k, v))
        out, lse = flash_forward(q, k, v)  # also compiles
        ref, _ = naive_attention_forward(q, k, v)
        torch_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv).numpy()
        for name, got in (("numba", out), ("torch", torch_out)):
            err = float(np.abs(got - ref).max())
            if err > 1e-4:
                raise AssertionError(f"N={n}: {name} differs from naive by {err:.2e}")
        fns = {
            "naive": lambda: naive_attention_forward(q, k, v),
            "numba": lambda: flash_forward(q, k, v),
            "torch": lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv),
        }
        times = _in_passes(fns, repeat)
        row = {"N": n, **{f"{name}_s": t for name, t in times.items()}}
        row["naive_mb"] = _peak_bytes(fns["naive"]) / 2**20
        row["numba_mb"] = _peak_bytes(fns["numba"]) / 2**20
        if n <= backward_up_to:
            def naive_fb():
                naive_attention_forward(q, k, v)
                return naive_attention_backward(q, k, v, do)

            gq, gk, gv = (t.clone().requires_grad_() for t in (tq, tk, tv))
            tdo = torch.from_numpy(do)

            def torch_fb():  # SDPA forward, then autograd's backward of it
                gq.grad = gk.grad = gv.grad = None
                torch.nn.functional.scaled_dot_product_attention(gq, gk, gv).backward(tdo)

            fb = {"naive_fb": naive_fb, "numba_fb": lambda: flash_backward(q, k, v, *flash_forward(q, k, v), do),
                  "torch_fb": torch_fb}
            flash_backward(q, k, v, out, lse, do)  # compile
            row.update({f"{name}_s": t for name, t in _in_passes(fb, max(1, repeat - 1)).items()})
            torch_fb()
            want = naive_attention_backward(q, k, v, do)
            got = flash_backward(q, k, v, out, lse, do)
            for name, grads in (("numba", got), ("torch", (gq.grad.numpy(), gk.grad.numpy(), gv.grad.numpy()))):
                err = max(float(np.abs(g - w).max()) for g, w in zip(grads, want, strict=True))
                if err > 1e-3:
                    raise AssertionError(f"N={n}: {name} gradients differ from naive by {err:.2e}")
            row["naive_fb_mb"] = _peak_bytes(fb["naive_fb"]) / 2**20
            row["numba_fb_mb"] = _peak_bytes(fb["numba_fb"]) / 2**20
        rows.append(row)
        print(_cpu_line(row), flush=True)
    return rows


def _cpu_line(r: dict) -> str:
    line = (
        f"| {r['N']} | {r['naive_s'] * 1e3:.1f} | {r['numba_s'] * 1e3:.1f} | {r['torch_s'] * 1e3:.1f} "
        f"| {r['naive_s'] / r['numba_s']:.2f}x | {r['torch_s'] / r['numba_s']:.2f}x "
        f"| {r['naive_mb']:.1f} | {r['numba_mb']:.1f} |"
    )
    if "naive_fb_s" in r:
        line += (
            f" {r['naive_fb_s'] * 1e3:.1f} | {r['numba_fb_s'] * 1e3:.1f} | {r['torch_fb_s'] * 1e3:.1f} "
            f"| {r['naive_fb_s'] / r['numba_fb_s']:.2f}x | {r['torch_fb_s'] / r['numba_fb_s']:.2f}x "
            f"| {r['naive_fb_mb']:.1f} | {r['numba_fb_mb']:.1f} |"
        )
    else:
        line += " – | – | – | – | – | – | – |"
    return line


CPU_HEADER = (
    "| N | naive fwd ms | numba fwd ms | torch SDPA fwd ms | naive/numba | torch/numba | naive peak MB "
    "| numba peak MB | naive fwd+bwd ms | numba fwd+bwd ms | torch SDPA fwd+bwd ms | naive/numba (f+b) "
    "| torch/numba (f+b) | naive f+b MB | numba f+b MB |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


# ---- GPU: bench_gpu.py ------------------------------------------------------------------------


# ---- plots and report --------------------------------------------------------------------------
def _plot(rows, series, ylabel, title, path, command, key_suffix):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, label in series:
        pts = [(r["N"], r[f"{name}{key_suffix}"]) for r in rows if f"{name}{key_suffix}" in r]
        if pts:
            ax.plot(*zip(*pts), marker="o", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length N")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.text(0.01, 0.01, command, fontsize=6, family="monospace")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats (CI smoke run)")
    parser.add_argument("--out", type=Path, default=None, help="folder for bench_<device>.md and PNG plots")
    parser.add_argument("--repeat", type=int, default=None, help="best of N (default: 2-3 on the CPU, 3-10 on the GPU)")
    parser.add_argument(
        "--threads", type=int, default=1, help="CPU threads for numba, torch and OpenBLAS alike (default 1: "
        "threaded BLAS on a shared, oversubscribed machine is erratic; 1 makes the ratios per-core); 0: set "
        "nothing, every library keeps the thread counts a plain process starts with (what a user runs)",
    )
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:  # given explicitly: honoured or refused, never replaced
        parser.error(f"argument --repeat: must be at least 1, got {args.repeat}")
    import sys

    command = "python -m hyperion.transformer.flash.bench " + " ".join(sys.argv[1:] if argv is None else argv)
    lines = [f"`{command}`", ""]
    if args.device == "cpu":
        sizes = [256, 512, 1024] if args.quick else [512, 1024, 2048, 4096, 8192]
        batch, heads, d = 1, 4, 64
        repeat = (2 if args.quick else 3) if args.repeat is None else args.repeat
        import os

        if args.threads < 0:
            parser.error(f"argument --threads: must be 0 (leave the defaults) or more, got {args.threads}")
        threads = ", ".join(set_threads(args.threads)) if args.threads else default_threads()
        lines += [
            f"CPU, float32, B={batch}, H={heads}, d={d}, non-causal, best of {repeat} or more "
            "(three rotated passes, each variant timed after 0.2 s of its own calls); "
            f"{os.cpu_count()} cores, threads: {threads}. Peak memory: tracemalloc.",
            "",
            CPU_HEADER,
        ]
        print("\n".join(lines), flush=True)
        rows = bench_cpu(sizes, batch, heads, d, repeat, backward_up_to=2048 if args.quick else 4096)
        lines += [_cpu_line(r) for r in rows]
        series_t = [("naive", "naive (numpy)"), ("numba", "FlashAttention (numba)"), ("torch", "torch SDPA")]
        series_m = [("naive", "naive (numpy)"), ("numba", "FlashAttention (numba)")]
        plot_args = ("cpu", rows, series_t, series_m, "CPU float32, B·H=4, d=64, forward")
    else:
        import cupy as cp

        from hyperion.transformer.flash import bench_gpu

        sizes = [1024, 4096] if args.quick else [1024, 2048, 4096, 8192]
        batch, heads, d = 4, 16, 64
        repeat = (3 if args.quick else 10) if args.repeat is None else args.repeat
        name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        configs = [("fp16", False, True), ("fp16", True, False)]
        if args.quick:
            configs = configs[:1]
        lines += [
            f"GPU {name}, B={batch}, H={heads}, d={d}, best of {repeat} (CUDA events). Peak memory: CuPy pool "
            "high-water mark / torch.cuda.max_memory_allocated, inputs excluded. SDPA: flash backend only (fp16). "
            "fwd+bwd: every flash forward is followed by the 02 (SIMT) backward.",
            "",
            bench_gpu.GPU_HEADER,
        ]
        print("\n".join(lines), flush=True)
        rows = bench_gpu.bench_cuda(sizes, batch, heads, d, repeat, configs)
        if not args.quick:
            rows += bench_gpu.bench_cuda(sizes[:3], batch, heads, d, repeat, [("fp32", False, False)])
        lines += [bench_gpu.gpu_line(r) for r in rows]
        lines += ["", bench_gpu.breakdown(4096 if not args.quick else 1024, batch, heads, d, repeat)]
        print(lines[-1], flush=True)
        series_t = [(key, label) for key, label in bench_gpu.BASELINES.items()] + [
            (key, f"FlashAttention, {label}") for key, label in bench_gpu.FLASH_IMPLS.items()]
        series_m = series_t
        main_rows = [r for r in rows if r["dtype"] == "fp16" and not r["causal"] and r["pass"] == "fwd"]
        plot_args = ("cuda", main_rows, series_t, series_m, f"{name} fp16, B=4, H=16, d=64, forward")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        device, prows, st, sm, title = plot_args
        (args.out / f"bench_{device}.md").write_text("\n".join(lines) + "\n")
        _plot(prows, st, "time per call (s)", title, args.out / f"flash_{device}_time.png", command, "_s")
        _plot(prows, sm, "peak memory (MB)", title, args.out / f"flash_{device}_memory.png", command, "_mb")
        print(f"wrote {args.out}/bench_{device}.md and flash_{device}_{{time,memory}}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
