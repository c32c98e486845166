"""FlashAttention's claims (Dao et al. 2022, arXiv 2205.14135), re-measured on our kernels. ``nox -s repro-flash``.

    python -m hyperion.transformer.flash.repro [--quick] [--out DIR] [--no-ncu]

1. Speed vs sequence length (128 ... 16384), forward and forward+backward: standard attention (PyTorch,
   the N×N scores materialised, fp16), PyTorch SDPA (flash backend) and ours (the default forward and 06
   backward; 07's forward beside it).
2. Peak memory of the same three, inputs excluded: PyTorch's ``max_memory_allocated`` for the first two;
   for ours, the bytes CuPy's pool holds after one call from an emptied pool (it keeps every block it
   handed out, so that is the peak); savings ratio standard / ours at 2K and 4K.
3. IO: DRAM bytes read + written by our forward kernel (Nsight Compute's ``dram__bytes_read.sum`` and
   ``dram__bytes_write.sum``) for several query-block sizes BR and key-tile sizes BC, next to the model
   ``bytes ≈ 2·N·d·s (Q read, O written) + (N / BR)·2·N·d·s (K and V re-read once per query block)`` per
   head (s = 2 bytes): the paper's Θ(N²d²/M), with BR the rows the on-chip memory M holds.
4. Exactness: outputs and gradients against float64 attention, ours and SDPA side by side.

Every figure comes from this command's run; the GPU, driver and versions are printed with them.
"""

# ruff: noqa: B023, E731  (small closures, each timed inside the iteration that made it)
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

from hyperion.tensor.cuda_build import time_gpu

B, H, D = 1, 16, 64


def _standard(q, k, v, causal):
    import torch

    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    if causal:
        n = q.shape[2]
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return torch.softmax(s, dim=-1) @ v


def _sdpa(q, k, v, causal):
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)


def _cp(t):
    import cupy

    return cupy.from_dlpack(t.detach())


def _ours(forward, backward):
    """The forward and backward under test: level 2's (05 / 06 by default) unless a later level passes its own."""
    from hyperion.transformer.flash.cuda import flash_backward_cuda, flash_forward_cuda

    return forward or flash_forward_cuda, backward or flash_backward_cuda


def speed_and_memory(ns, causal=False, forward=None, backward=None) -> list[dict]:
    """Claims 1 and 2 at each N: times, TFLOP/s and peak memory of standard attention, SDPA and ours
    (``forward(q, k, v, causal=)`` and ``backward(q, k, v, out, lse, do, causal=)`` on CuPy arrays)."""
    import cupy
    import torch

    level2 = forward is None
    flash_forward_cuda, flash_backward_cuda = _ours(forward, backward)
    rows = []
    pool = cupy.get_default_memory_pool()
    for n in ns:
        gen = torch.Generator(device="cuda").manual_seed(n)
        q, k, v, do = (torch.randn(B, H, n, D, device="cuda", dtype=torch.float16, generator=gen) for _ in range(4))
        qc, kc, vc, doc = (_cp(t) for t in (q, k, v, do))
        grads_of = {}
        for name, fwd in (("standard", _standard), ("sdpa", _sdpa)):
            qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
            grads_of[name] = (lambda fwd=fwd, qg=qg, kg=kg, vg=vg:
                              torch.autograd.grad(fwd(qg, kg, vg, causal), (qg, kg, vg), do))
        fns = {
            "standard_fwd": lambda: _standard(q, k, v, causal),
            "sdpa_fwd": lambda: _sdpa(q, k, v, causal),
            "ours_fwd": lambda: flash_forward_cuda(qc, kc, vc, causal=causal),
            "standard_fb": grads_of["standard"],
            "sdpa_fb": grads_of["sdpa"],
            "ours_fb": lambda: flash_backward_cuda(qc, kc, vc, *flash_forward_cuda(qc, kc, vc, causal=causal), doc,
                                                   causal=causal),
        }
        if level2:  # level 2's second forward (07) beside its default
            fns["ours07_fwd"] = lambda: flash_forward_cuda(qc, kc, vc, causal=causal, impl="two")
        row = {"N": n, "causal": causal}
        flops = {"fwd": 4 * B * H * n * n * D, "fb": 3.5 * 4 * B * H * n * n * D}
        for name, fn in fns.items():
            try:
                torch.cuda.synchronize()
                torch.cuda.empty_cache()
                pool.free_all_blocks()
                torch.cuda.reset_peak_memory_stats()
                base = torch.cuda.memory_allocated()
                fn()
                torch.cuda.synchronize()
                if name.startswith("ours"):
                    row[f"{name}_mb"] = pool.total_bytes() / 2**20
                else:
                    row[f"{name}_mb"] = (torch.cuda.max_memory_allocated() - base) / 2**20
                ms = time_gpu(fn, warmup=1, repeat=5 if n >= 8192 else 10, sample_ms=2.0)["median_ms"]
                row[f"{name}_ms"] = ms
                row[f"{name}_tflops"] = flops[name.split("_")[1]] / (2 if causal else 1) / ms / 1e9
            except torch.cuda.OutOfMemoryError:
                row[f"{name}_ms"] = "OOM"
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def exactness(n: int = 1024, forward=None, backward=None) -> dict:
    """Claim 4: outputs and gradients of ours, SDPA and fp16 standard attention against float64 attention."""
    import torch

    flash_forward_cuda, flash_backward_cuda = _ours(forward, backward)

    gen = torch.Generator(device="cuda").manual_seed(7)
    q, k, v, do = (torch.randn(2, 8, n, D, device="cuda", dtype=torch.float16, generator=gen) for _ in range(4))
    result = {"N": n}
    for causal in (False, True):
        q64, k64, v64 = (t.double().requires_grad_() for t in (q, k, v))
        ref = _standard(q64, k64, v64, causal)
        ref_grads = torch.autograd.grad(ref, (q64, k64, v64), do.double())
        out, lse = flash_forward_cuda(_cp(q), _cp(k), _cp(v), causal=causal)
        grads = flash_backward_cuda(_cp(q), _cp(k), _cp(v), out, lse, _cp(do), causal=causal)
        qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
        sd = _sdpa(qg, kg, vg, causal)
        sd_grads = torch.autograd.grad(sd, (qg, kg, vg), do)
        st_q, st_k, st_v = (t.clone().requires_grad_() for t in (q, k, v))
        st = _standard(st_q, st_k, st_v, causal)
        st_grads = torch.autograd.grad(st, (st_q, st_k, st_v), do)

        def err(got, want):
            got = torch.from_dlpack(got).double() if not isinstance(got, torch.Tensor) else got.double()
            return float((got - want).norm() / want.norm())

        key = "causal" if causal else "full"
        result[key] = {
            "ours_out": err(out, ref), "sdpa_out": err(sd, ref), "standard_fp16_out": err(st, ref),
            "ours_grads": max(err(g, r) for g, r in zip(grads, ref_grads, strict=True)),
            "sdpa_grads": max(err(g, r) for g, r in zip(sd_grads, ref_grads, strict=True)),
            "standard_fp16_grads": max(err(g, r) for g, r in zip(st_grads, ref_grads, strict=True)),
        }
    print(json.dumps(result), flush=True)
    return result


IO_TILES = [("pipe64", 32), ("pipe64", 64), ("pipe64", 128), ("pipe", 32), ("pipe", 64), ("pipe", 128)]
IO_SHAPE = (4, 16, 8192, 64)  # K and V: 4·16·8192·64·2 B · 2 = 134 MB, over the 60 MB L2


def _io_child(impl: str, bc: int) -> None:
    """Run one forward (ncu profiles this process): IO_SHAPE, fp16, with 05's tile set by the arguments."""
    import cupy

    from hyperion.transformer.flash import cuda as fc

    b, h, n, d = IO_SHAPE
    fc.PIPE_TILES[d] = (("FLASH_BC", bc), ("FLASH_SM_WARPS", 8 if bc > 64 or impl == "pipe" else 16))
    q, k, v = (cupy.random.standard_normal((b, h, n, d), dtype=cupy.float32).astype(cupy.float16) for _ in range(3))
    fc.flash_forward_cuda(q, k, v, impl=impl)
    cupy.cuda.runtime.deviceSynchronize()


def io_sweep() -> list[dict]:
    b, h, n, d = IO_SHAPE
    rows = []
    for impl, bc in IO_TILES:
        br = 128 if impl == "pipe" else 64
        cmd = ["ncu", "--clock-control", "none", "--csv", "--kernel-name", "regex:flash_fwd_pipe", "--metrics",
               "dram__bytes_read.sum,dram__bytes_write.sum,gpu__time_duration.sum", sys.executable, "-m",
               "hyperion.transformer.flash.repro", "--io-child", impl, str(bc)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=dict(os.environ))
        metrics = {}
        for line in done.stdout.splitlines():
            cells = [c.strip('"') for c in line.split('","')]
            if len(cells) > 3 and cells[-3] in ("dram__bytes_read.sum", "dram__bytes_write.sum",
                                                  "gpu__time_duration.sum"):
                unit, value = cells[-2], float(cells[-1].strip('"').replace(",", ""))
                scale = {"byte": 1, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9, "nsecond": 1e-6, "usecond": 1e-3,
                         "msecond": 1.0}.get(unit, float("nan"))
                metrics[cells[-3]] = value * scale
        model = b * h * (2 * n * d * 2 + (n // br) * 2 * n * d * 2)
        row = {"BR": br, "BC": bc, "model_bytes": model, "ncu_rc": done.returncode}
        if metrics:
            row.update({"read_bytes": metrics.get("dram__bytes_read.sum"),
                        "write_bytes": metrics.get("dram__bytes_write.sum"),
                        "kernel_ms": metrics.get("gpu__time_duration.sum")})
        else:
            row["ncu_error"] = (done.stderr or done.stdout)[-400:]
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def markdown(res: dict) -> str:
    out = [f"GPU {res['gpu']}, driver {res['driver']}, torch {res['torch']}, CuPy {res['cupy']}, commit "
           f"{res.get('commit', 'unknown')}; ours: "
           f"{res.get('ours', '05 forward, 06 backward')}; fp16, B={B}, H={H}, d={D}; times: CUDA events, median.", ""]
    for causal in (False, True):
        rows = [r for r in res["speed"] if r["causal"] == causal]
        if not rows:
            continue
        with07 = any("ours07_fwd_ms" in r for r in rows)
        out += [f"#### Speed and memory, {'causal' if causal else 'not causal'}", "",
                "| N | standard fwd ms | SDPA fwd ms | ours fwd ms | " + ("ours 07 fwd ms | " if with07 else "")
                + "standard f+b ms | SDPA f+b ms | ours f+b ms | ours f+b TFLOP/s | ours × standard fwd / f+b "
                "| ours × SDPA fwd / f+b | standard fwd MB | SDPA fwd MB | ours fwd MB | standard/ours |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if with07 else "")]
        for r in rows:
            def f(key, r=r):
                v = r.get(key)
                return f"{v:.3f}" if isinstance(v, float) else str(v)

            def x(base, ours, r=r):  # speed-up of ours over base (base time / ours)
                b, o = r.get(base), r.get(ours)
                return f"{b / o:.2f}" if isinstance(b, float) and isinstance(o, float) else "—"

            mem = r.get("standard_fwd_mb", float("nan")) / max(r.get("ours_fwd_mb", float("nan")), 1e-9)
            out.append(f"| {r['N']} | {f('standard_fwd_ms')} | {f('sdpa_fwd_ms')} | {f('ours_fwd_ms')} "
                       + (f"| {f('ours07_fwd_ms')} " if with07 else "")
                       + f"| {f('standard_fb_ms')} | {f('sdpa_fb_ms')} | {f('ours_fb_ms')} | {f('ours_fb_tflops')} "
                       f"| {x('standard_fwd_ms', 'ours_fwd_ms')} / {x('standard_fb_ms', 'ours_fb_ms')} "
                       f"| {x('sdpa_fwd_ms', 'ours_fwd_ms')} / {x('sdpa_fb_ms', 'ours_fb_ms')} "
                       f"| {f('standard_fwd_mb')} | {f('sdpa_fwd_mb')} | {f('ours_fwd_mb')} | {mem:.1f}x |")
        out.append("")
    if res.get("io"):
        out += ["#### DRAM traffic of our forward vs block size (ncu)", "",
                f"Shape B·H = {IO_SHAPE[0] * IO_SHAPE[1]}, N = {IO_SHAPE[2]}, d = {IO_SHAPE[3]}, fp16.", "",
                "| BR (query rows) | BC (keys per tile) | model MB | DRAM read MB | DRAM write MB | kernel ms |",
                "|---|---|---|---|---|---|"]
        for r in res["io"]:
            if "read_bytes" in r:
                out.append(f"| {r['BR']} | {r['BC']} | {r['model_bytes'] / 1e6:.0f} | {r['read_bytes'] / 1e6:.0f} "
                           f"| {r['write_bytes'] / 1e6:.0f} | {r['kernel_ms']:.3f} |")
            else:
                out.append(f"| {r['BR']} | {r['BC']} | {r['model_bytes'] / 1e6:.0f} | ncu failed | | |")
        out.append("")
    if res.get("exact"):
        out += ["#### Exactness vs float64 attention (relative L2 error)", "",
                "| mask | ours out | SDPA out | standard fp16 out | ours grads (max) | SDPA grads | standard grads |",
                "|---|---|---|---|---|---|---|"]
        for key in ("full", "causal"):
            e = res["exact"][key]
            out.append(f"| {key} | {e['ours_out']:.1e} | {e['sdpa_out']:.1e} | {e['standard_fp16_out']:.1e} "
                       f"| {e['ours_grads']:.1e} | {e['sdpa_grads']:.1e} | {e['standard_fp16_grads']:.1e} |")
    return "\n".join(out) + "\n"


def _commit() -> str:
    """The checkout's commit (``+dirty`` with uncommitted changes), or "unknown" outside a git checkout."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None, forward=None, backward=None, ours: str = "05 forward, 06 backward") -> int:
    """The four claims with level 2's kernels, or claims 1, 2 and 4 with a later level's ``forward`` and
    ``backward`` (named by ``ours``; the IO sweep times level 2's tiles, so it runs with level 2's only)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-ncu", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--io-child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.io_child:
        _io_child(args.io_child[0], int(args.io_child[1]))
        return 0
    import cupy
    import torch

    res = {"gpu": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
           "driver": cupy.cuda.runtime.driverGetVersion(), "torch": torch.__version__, "cupy": cupy.__version__,
           "ours": ours, "commit": _commit()}
    ns = [128, 512, 2048, 4096] if args.quick else [128, 256, 512, 1024, 2048, 4096, 8192, 16384]
    causal_ns = [1024, 4096, 16384] if not args.quick else [1024]
    res["speed"] = speed_and_memory(ns, False, forward, backward) + speed_and_memory(causal_ns, True, forward, backward)
    res["exact"] = exactness(1024, forward, backward)
    if not args.no_ncu and forward is None:
        res["io"] = io_sweep()
    text = markdown(res)
    print(text, flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "repro_flash.json").write_text(json.dumps(res, indent=1, default=str))
        (args.out / "repro_flash.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
