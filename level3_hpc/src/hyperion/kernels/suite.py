"""The shape-suite benchmark (issue 14): every kernel on every suite shape, ratios to the vendor side by side.

    python -m hyperion.kernels.suite [--quick] [--sweep] [--only flash,matmul,tc,rows,python] [--out DIR]

For each kernel and shape, in one process, on one GPU: the kernel-only time (CUDA events, median of
samples, :func:`hyperion.tensor.cuda_build.time_gpu`), the call-to-call time (wall clock per call over
back-to-back calls through the Python API, synchronised at the end) and the same for the baseline:
cuBLAS (CuPy's fp32 ``matmul``; PyTorch's bf16 ``matmul``), PyTorch's softmax and LayerNorm, PyTorch SDPA
restricted to its flash backend. Ratios are baseline time / our time (> 1: we are faster).
For matmuls and row kernels also each side's GPU time alone (:func:`graph_ms`: calls replayed from a CUDA
graph, no host between them), so a cell whose back-to-back time is the host's launch rate shows as one.
``--sweep`` also times every tile configuration that a kernel's table chooses from (the tuning data).
Every output is checked against the baseline before it is timed; a wrong kernel is reported, not timed.

Suites (issue 14): matmul 4096³, 8192³, 3072×5120×2048, 2048³, 1000³, 1001×999×1003; rows 16384×4096,
4096×1000, 65536×1000, 16384×4097, 4096×16384; attention fp16 B=4 H=16, d ∈ {64, 80, 128},
N ∈ {1024, 4096, 8192}, causal and not.
"""

# ruff: noqa: B023, E731  (each closure is timed inside the iteration that made it)
from __future__ import annotations

import argparse
import json
import math
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hyperion.tensor.cuda_build import time_gpu

MATMUL_SHAPES = [(4096, 4096, 4096), (8192, 8192, 8192), (3072, 5120, 2048), (2048, 2048, 2048), (1000, 1000, 1000),
                 (1001, 999, 1003)]
ROW_SHAPES = [(16384, 4096), (4096, 1000), (65536, 1000), (16384, 4097), (4096, 16384)]
ATTN_DIMS, ATTN_NS, ATTN_BH = (64, 80, 128), (1024, 4096, 8192), (4, 16)


def kernel_ms(fn: Callable[[], object]) -> float:
    return time_gpu(fn, warmup=2, repeat=10, sample_ms=3.0)["median_ms"]


def call_ms(fn: Callable[[], object], budget_ms: float = 100.0) -> float:
    """Wall-clock milliseconds per call over back-to-back calls (what a Python caller sees)."""
    import cupy
    import torch

    fn()
    cupy.cuda.runtime.deviceSynchronize()
    t0 = time.perf_counter()
    fn()
    cupy.cuda.runtime.deviceSynchronize()
    once = (time.perf_counter() - t0) * 1e3
    n = max(3, min(500, int(budget_ms / max(once, 1e-3))))
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    cupy.cuda.runtime.deviceSynchronize()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3 / n


def host_us(fn: Callable[[], object], calls: int = 200, repeats: int = 5) -> float:
    """Host (Python + launch) microseconds per call: ``calls`` calls timed before the GPU is waited for (fewer
    launches than the queue holds, so the host's own time), best of ``repeats`` such runs. One run is not
    enough: on a shared host a run of the same call took 20.3 µs where four others took 12.0-12.8
    (results/runtime-h100-2026-12-07-o, calls 9-10)."""
    import cupy

    for _ in range(5):
        fn()
    best = math.inf
    for _ in range(repeats):
        cupy.cuda.runtime.deviceSynchronize()
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, time.perf_counter() - t0)
    cupy.cuda.runtime.deviceSynchronize()
    return best * 1e6 / calls


def graph_ms(fn: Callable[[], object], torch_side: bool, calls: int = 20) -> float:
    """GPU milliseconds per call with no host work between calls: ``calls`` calls captured once in a CUDA
    graph (PyTorch's ``torch.cuda.graph`` for a PyTorch call, CuPy's stream capture for ours), the graph
    replayed and timed with CUDA events. At small shapes the back-to-back time is the host's launch rate;
    this is the kernels' own time."""
    import cupy
    import torch

    if torch_side:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            fn()
            fn()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(calls):
                fn()
        replay = graph.replay
    else:
        stream = cupy.cuda.Stream(non_blocking=True)
        with stream:
            fn()
            stream.synchronize()
            stream.begin_capture()
            try:
                for _ in range(calls):
                    fn()
            finally:
                cgraph = stream.end_capture()
        replay = cgraph.launch
    return time_gpu(replay, warmup=2, repeat=10, sample_ms=3.0)["median_ms"] / calls


def graph_pair(theirs: Callable[[], object], torch_side: bool, mine: Callable[[], object], base: str) -> dict:
    """Both sides' GPU time alone (:func:`graph_ms`) as ``{base}_graph_ms``, ``ours_graph_ms`` and their ratio, or
    ``{"graph": "failed: ..."}`` where a call cannot be captured."""
    try:
        g_theirs, g_mine = graph_ms(theirs, torch_side), graph_ms(mine, False)
    except Exception as error:
        return {"graph": f"failed: {str(error).splitlines()[0][:100]}"}
    return {f"{base}_graph_ms": g_theirs, "ours_graph_ms": g_mine, "graph_ratio": g_theirs / g_mine}


def rel_err(got, want) -> float:
    import cupy

    got, want = cupy.asarray(got, dtype=cupy.float64), cupy.asarray(want, dtype=cupy.float64)
    return float(cupy.linalg.norm(got - want) / max(float(cupy.linalg.norm(want)), 1e-30))


def _cp(t):
    import cupy

    return cupy.from_dlpack(t.detach())


# ---- attention ----------------------------------------------------------------------------------
PIPE_SWEEP: dict[int, list[tuple[tuple[str, int], ...]]] = {
    64: [(), (("FLASH_SM_WARPS", 8),), (("FLASH_BC", 128), ("FLASH_SM_WARPS", 8)),
         (("FLASH_BC", 32), ("FLASH_SM_WARPS", 8))],
    80: [(), (("FLASH_BC", 32),), (("FLASH_BC", 128),)],
    128: [(), (("FLASH_BC", 32),), (("FLASH_BC", 128),)],
}


TWO_SWEEP: list[tuple[tuple[str, int], ...]] = [(("FLASH_BC", 64),), (("FLASH_BC", 32),)]
# 08_flash_fwd_wgmma (Hopper): keys per tile, warpgroups per block, blocks per SM asked of __launch_bounds__
WGMMA_SWEEP: list[dict[str, int]] = [
    {"FLASH_BC": bc, "FLASH_WG": wg, "FLASH_MIN_BLOCKS": blocks}
    for bc, wg, blocks in ((128, 2, 1), (64, 2, 1), (64, 2, 2), (128, 3, 1), (64, 3, 1), (128, 1, 2), (64, 1, 3))
]
# 09_flash_bwd_wgmma: rows of a streamed tile, warpgroups per block, blocks per SM
BWD_SWEEP: list[dict[str, int]] = [
    {"FLASH_BT": bt, "FLASH_WG": wg, "FLASH_MIN_BLOCKS": blocks}
    for bt, wg, blocks in ((64, 2, 1), (128, 2, 1), (64, 1, 2), (64, 1, 1), (128, 1, 1))
]


def bench_flash(quick: bool, sweep: bool) -> list[dict]:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from hyperion.kernels import attention as fh
    from hyperion.transformer.flash import cuda as fc

    rows = []
    b, h = ATTN_BH
    dims, ns = (ATTN_DIMS, ATTN_NS) if not quick else ((64, 80), (1024, 4096))
    for d in dims:
        for n in ns:
            for causal in (False, True):
                gen = torch.Generator(device="cuda").manual_seed(n + d)
                q, k, v, do = (torch.randn(b, h, n, d, device="cuda", dtype=torch.float16, generator=gen)
                               for _ in range(4))
                qc, kc, vc, doc = (_cp(t) for t in (q, k, v, do))
                flops = 4 * b * h * n * n * d / (2 if causal else 1)

                def sdpa(q=q, k=k, v=v, causal=causal):
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)

                qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))

                def sdpa_fb(qg=qg, kg=kg, vg=vg, do=do, causal=causal):
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        out = torch.nn.functional.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
                    return torch.autograd.grad(out, (qg, kg, vg), do)

                def ours(qc=qc, kc=kc, vc=vc, causal=causal):  # 08 on Hopper, else level 2's 05
                    return fh.flash_forward_hopper(qc, kc, vc, causal=causal)

                def ours_fb(qc=qc, kc=kc, vc=vc, doc=doc, causal=causal):  # 09 on Hopper, else 06
                    out, lse = fh.flash_forward_hopper(qc, kc, vc, causal=causal)
                    return fh.flash_backward_hopper(qc, kc, vc, out, lse, doc, causal=causal)

                ref = sdpa()
                ref_grads = sdpa_fb()
                err = rel_err(ours()[0], _cp(ref))
                grad_err = max(rel_err(g, _cp(r)) for g, r in zip(ours_fb(), ref_grads, strict=True))
                row = {"d": d, "N": n, "causal": causal, "fwd_err": err, "grad_err": grad_err}
                row["sdpa_fwd_ms"], row["ours_fwd_ms"] = kernel_ms(sdpa), kernel_ms(ours)
                row["sdpa_fb_ms"], row["ours_fb_ms"] = kernel_ms(sdpa_fb), kernel_ms(ours_fb)
                row["fwd_ratio"] = row["sdpa_fwd_ms"] / row["ours_fwd_ms"]
                row["fb_ratio"] = row["sdpa_fb_ms"] / row["ours_fb_ms"]
                row["ours_fwd_tflops"] = flops / row["ours_fwd_ms"] / 1e9
                row["sdpa_fwd_tflops"] = flops / row["sdpa_fwd_ms"] / 1e9
                if sweep and d in fh.WGMMA_DIMS and fh.hopper_available():
                    row["sweep[05 default]"] = kernel_ms(lambda: fc.flash_forward_cuda(qc, kc, vc, causal=causal))
                    for tile in WGMMA_SWEEP:
                        name = "08," + ",".join(f"{k[6:]}={v}" for k, v in tile.items())
                        try:
                            fn = (lambda tile=tile: fh.flash_forward_wgmma(qc, kc, vc, causal=causal, tile=tile))
                            e = rel_err(fn()[0], _cp(ref))
                            row[f"sweep[{name}]"] = kernel_ms(fn) if e < 1e-2 else f"wrong {e:.1e}"
                        except Exception as error:  # a tile that does not compile or launch
                            row[f"sweep[{name}]"] = f"failed: {str(error).splitlines()[0][:80]}"
                    out, lse = fh.flash_forward_hopper(qc, kc, vc, causal=causal)
                    row["sweep[06 bwd]"] = kernel_ms(lambda: fc.flash_backward_cuda(qc, kc, vc, out, lse, doc,
                                                                                   causal=causal))
                    for tile in BWD_SWEEP:
                        name = "09 bwd," + ",".join(f"{k[6:]}={v}" for k, v in tile.items())
                        try:
                            fn = (lambda tile=tile, out=out, lse=lse: fh.flash_backward_wgmma(
                                qc, kc, vc, out, lse, doc, causal=causal, tile=tile))
                            e = max(rel_err(g, _cp(r)) for g, r in zip(fn(), ref_grads, strict=True))
                            row[f"sweep[{name}]"] = kernel_ms(fn) if e < 1e-2 else f"wrong {e:.1e}"
                        except Exception as error:
                            row[f"sweep[{name}]"] = f"failed: {str(error).splitlines()[0][:80]}"
                if sweep and d in PIPE_SWEEP:
                    saved, saved_two = dict(fc.PIPE_TILES), dict(fc.TWO_TILES)
                    for impl in ("pipe", "pipe64", "two"):
                        for tile in PIPE_SWEEP[d] if impl != "two" else TWO_SWEEP:
                            (fc.TWO_TILES if impl == "two" else fc.PIPE_TILES)[d] = tile
                            name = impl + "".join(f",{k[6:]}={v}" for k, v in tile)
                            try:
                                fn = (lambda impl=impl: fc.flash_forward_cuda(qc, kc, vc, causal=causal, impl=impl))
                                e = rel_err(fn()[0], _cp(ref))
                                row[f"sweep[{name}]"] = kernel_ms(fn) if e < 1e-2 else f"wrong {e:.1e}"
                            except Exception as error:  # a tile that does not compile or launch
                                row[f"sweep[{name}]"] = f"failed: {str(error).splitlines()[0][:80]}"
                    fc.PIPE_TILES.clear()
                    fc.PIPE_TILES.update(saved)
                    fc.TWO_TILES.clear()
                    fc.TWO_TILES.update(saved_two)
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


# ---- matmul -------------------------------------------------------------------------------------
def bench_matmul(quick: bool, sweep: bool) -> list[dict]:
    import cupy

    from hyperion.kernels import matmul as mm
    from hyperion.kernels.attention import hopper_available

    rows = []
    for m, k, n in MATMUL_SHAPES[:3] if quick else MATMUL_SHAPES:
        rng = cupy.random.default_rng(m + n)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        want = cupy.matmul(a, b)
        row = {"shape": f"{m}x{k}x{n}", "cublas_ms": kernel_ms(lambda a=a, b=b: cupy.matmul(a, b))}
        row["cublas_call_ms"] = call_ms(lambda a=a, b=b: cupy.matmul(a, b))
        row["ours_ms"] = kernel_ms(lambda a=a, b=b: mm.matmul_auto(a, b))
        row["ours_call_ms"] = call_ms(lambda a=a, b=b: mm.matmul_auto(a, b))
        row["ours_choice"] = mm.choose_fp32(m, n, k, hopper_available())
        row["err"] = rel_err(mm.matmul_auto(a, b), want)
        row["ratio"] = row["cublas_ms"] / row["ours_ms"]
        row["call_ratio"] = row["cublas_call_ms"] / row["ours_call_ms"]
        if sweep:  # every candidate; the fastest goes into FP32_TABLE and is timed again below
            timed = {}
            choices = [("08_double_buffered", i) for i in range(len(mm.WARPTILE_CONFIGS))]
            choices += [("13_split_k", sk) for sk in mm.SPLIT_K_CONFIGS]
            for choice in choices:
                fn = (lambda a=a, b=b, choice=choice: mm.matmul_auto(a, b, choice=choice))
                try:
                    e = rel_err(fn(), want)
                    row[f"sweep[{choice}]"] = kernel_ms(fn) if e < 1e-4 else f"wrong {e:.1e}"
                except Exception as error:
                    row[f"sweep[{choice}]"] = f"failed: {str(error).splitlines()[0][:80]}"
                if isinstance(row[f"sweep[{choice}]"], float):
                    timed[choice] = row[f"sweep[{choice}]"]
            mm.FP32_TABLE[(m, n, k)] = min(timed, key=timed.get)
            mm.choose_fp32.cache_clear()
            row["cublas_ms"] = kernel_ms(lambda a=a, b=b: cupy.matmul(a, b))
            row["ours_ms"] = kernel_ms(lambda a=a, b=b: mm.matmul_auto(a, b))
            row["ours_call_ms"] = call_ms(lambda a=a, b=b: mm.matmul_auto(a, b))
            row["ours_choice"] = mm.choose_fp32(m, n, k, hopper_available())
            row["err"] = rel_err(mm.matmul_auto(a, b), want)
            row["ratio"] = row["cublas_ms"] / row["ours_ms"]
            row["call_ratio"] = row["cublas_call_ms"] / row["ours_call_ms"]
        row |= _fp32_graph_pair(a, b, lambda a=a, b=b: mm.matmul_auto(a, b))
        if hopper_available():  # 15: the same fp32 product as three TF32 tensor-core products
            from hyperion.kernels.matmul.tf32x3 import matmul_3xtf32

            row["tf32x3_ms"] = kernel_ms(lambda a=a, b=b: matmul_3xtf32(a, b))
            row["tf32x3_call_ms"] = call_ms(lambda a=a, b=b: matmul_3xtf32(a, b))
            row["tf32x3_ratio"] = row["cublas_ms"] / row["tf32x3_ms"]
            row["tf32x3_err64"] = worst_error64(matmul_3xtf32(a, b), a, b)
            row["cublas_err64"] = worst_error64(want, a, b)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _fp32_graph_pair(a, b, mine: Callable[[], object]) -> dict:
    """:func:`graph_pair` for fp32: CuPy refuses to call cuBLAS during a stream capture, so cuBLAS's side of the
    GPU-time-alone column is PyTorch's fp32 matmul (cuBLAS too) on the same arrays, with TF32 off (as
    ``bench.py`` sets it)."""
    import torch

    try:
        ta, tb = torch.from_dlpack(a), torch.from_dlpack(b)
        before = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False  # the same fp32 product CuPy's cuBLAS computes
    except Exception as error:
        return {"graph": f"failed: {str(error).splitlines()[0][:100]}"}
    try:
        return graph_pair(lambda: ta @ tb, True, mine, "cublas")
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def worst_error64(c, a, b) -> float:
    """max |C - AB| / (|A| |B|) elementwise, AB in float64 on the GPU: the rounding error of every element per
    unit of the sizes it is made of (fp32's unit roundoff is 6e-8; one TF32 product alone gives about 5e-4)."""
    import cupy

    a64, b64 = a.astype(cupy.float64), b.astype(cupy.float64)
    scale = cupy.abs(a64) @ cupy.abs(b64)
    return float(cupy.max(cupy.abs(c.astype(cupy.float64) - a64 @ b64) / cupy.maximum(scale, 1e-300)))


TC_SWEPT = ("11_mma_pipelined", "12_wgmma", "14_wgmma_tma", "16_wgmma_persistent")  # --sweep's versions


def bench_tc(quick: bool, sweep: bool) -> list[dict]:
    import cupy
    import torch

    from hyperion.kernels import matmul as mm

    rows = []
    for m, k, n in MATMUL_SHAPES[:3] if quick else MATMUL_SHAPES:
        gen = torch.Generator(device="cuda").manual_seed(m + n)
        ta = torch.randn(m, k, device="cuda", dtype=torch.bfloat16, generator=gen)
        tb = torch.randn(k, n, device="cuda", dtype=torch.bfloat16, generator=gen)
        a, b = _cp(ta.view(torch.int16)).view(cupy.uint16), _cp(tb.view(torch.int16)).view(cupy.uint16)
        a, b = cupy.ascontiguousarray(a), cupy.ascontiguousarray(b)
        want = _cp(ta.float() @ tb.float())
        row = {"shape": f"{m}x{k}x{n}", "cublas_bf16_ms": kernel_ms(lambda: ta @ tb)}
        row["cublas_call_ms"] = call_ms(lambda: ta @ tb)
        row["ours_ms"] = kernel_ms(lambda: mm.matmul_tc_auto(a, b))
        row["ours_call_ms"] = call_ms(lambda: mm.matmul_tc_auto(a, b))
        row["ours_choice"] = mm.tc_route(m, n, k)
        row["err"] = rel_err(mm.matmul_tc_auto(a, b), want)
        row["ratio"] = row["cublas_bf16_ms"] / row["ours_ms"]
        row["call_ratio"] = row["cublas_call_ms"] / row["ours_call_ms"]
        row |= graph_pair(lambda: ta @ tb, True, lambda: mm.matmul_tc_auto(a, b), "cublas")
        if sweep:
            for version in TC_SWEPT:
                for i, cfg in enumerate(mm.tc_configs(version)):
                    fn = (lambda v=version, c=cfg: mm.matmul_tc(a, b, "bf16", config=c, version=v))
                    try:
                        e = rel_err(fn(), want)
                        row[f"sweep[{version[:2]},{i}]"] = kernel_ms(fn) if e < 1e-2 else f"wrong {e:.1e}"
                    except Exception as error:
                        row[f"sweep[{version[:2]},{i}]"] = f"failed: {str(error).splitlines()[0][:80]}"
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


# ---- row kernels ---------------------------------------------------------------------------------
ROW_KINDS, ROW_DTYPES = ("softmax", "ln_fwd", "ln_bwd"), ("f32", "f16")


def _row_cases(r: int, c: int, dtype: str, gen):
    """(torch call, our call taking a config, the error of ours) of each row kernel at one shape and dtype."""
    import torch

    from hyperion.kernels import rows as rk

    tdt = torch.float32 if dtype == "f32" else torch.float16
    tx, tdy = (torch.randn(r, c, device="cuda", generator=gen).to(tdt) for _ in range(2))
    tw, tb = (torch.randn(c, device="cuda", generator=gen) for _ in range(2))
    twd, tbd = tw.to(tdt), tb.to(tdt)
    _, tmean, trstd = torch.native_layer_norm(tx, (c,), twd, tbd, 1e-5)
    x, dy, w, b = _cp(tx), _cp(tdy), _cp(tw), _cp(tb)
    mean, rstd = _cp(tmean.float().reshape(r)), _cp(trstd.float().reshape(r))
    ln_bwd = lambda: torch.ops.aten.native_layer_norm_backward(tdy, tx, (c,), tmean, trstd, twd, tbd, [True] * 3)
    cases = {
        "softmax": (lambda: torch.softmax(tx, -1), lambda cfg=None: rk.rows_softmax(x, dtype, config=cfg)),
        "ln_fwd": (lambda: torch.nn.functional.layer_norm(tx, (c,), twd, tbd),
                   lambda cfg=None: rk.rows_layernorm(x, w, b, dtype=dtype, config=cfg)[0]),
        "ln_bwd": (ln_bwd, lambda cfg=None: rk.rows_layernorm_backward(dy, x, w, mean, rstd, dtype, config=cfg)),
    }

    def error(kind, got, want):
        got, want = (got, want) if kind == "ln_bwd" else ((got,), (want,))
        return max(rel_err(g.astype(np.float32), _cp(t.float())) for g, t in zip(got, want, strict=True))

    return cases, error


def copy_gbs(r: int, c: int, dtype: str) -> float:
    """GB/s (read + write) of a device copy of an r x c array of ``dtype``, GPU time alone: the speed a row kernel
    that reads and writes each element once can at most reach."""
    import cupy

    src = cupy.zeros(r * c, np.float32 if dtype == "f32" else np.float16)
    dst = cupy.empty_like(src)
    return 2 * src.nbytes / graph_ms(lambda: cupy.copyto(dst, src), False) / 1e6


def row_bytes(kind: str, r: int, c: int, dtype: str) -> int:
    """The bytes a row kernel must move: x in and y out (the backward: x and dy in, dx out); the vectors and
    per-row statistics are left out (small beside the rows)."""
    return (3 if kind == "ln_bwd" else 2) * r * c * (4 if dtype == "f32" else 2)


def bench_rows(quick: bool, sweep: bool) -> list[dict]:
    """Every row kernel vs PyTorch. With ``sweep``: every configuration of 06/05/14 and the block-per-row
    kernel (04/05, 03/04, 13) is checked and timed, the fastest goes into ``rows.ROW_TABLE`` for this run,
    and the kernel the table picks is timed again against PyTorch (those are the reported ratios)."""
    import torch

    from hyperion.kernels import rows as rk

    out = []
    for r, c in ROW_SHAPES[:2] if quick else ROW_SHAPES:
        row: dict = {"shape": f"{r}x{c}"}
        for dtype in ROW_DTYPES:
            try:
                row[f"copy_gbs_{dtype}"] = copy_gbs(r, c, dtype)
            except Exception as error_:
                row[f"copy_gbs_{dtype}"] = f"failed: {str(error_).splitlines()[0][:100]}"
            cases, error = _row_cases(r, c, dtype, torch.Generator(device="cuda").manual_seed(r + c))
            for kind, (theirs, mine) in cases.items():
                name = f"{kind}_{dtype}"
                try:
                    want = theirs()
                    if sweep:
                        legacy = [] if kind == "ln_bwd" and dtype != "f32" else [rk.LEGACY]
                        times = {}
                        for cfg in rk.candidates(kind, dtype, c) + legacy:
                            try:
                                e = error(kind, mine(cfg), want)
                                times[cfg] = kernel_ms(lambda cfg=cfg: mine(cfg)) if e < 2e-2 else f"wrong {e:.1e}"
                            except Exception as err:  # a configuration that does not launch
                                times[cfg] = f"failed: {str(err).splitlines()[0][:80]}"
                        timed = {k: v for k, v in times.items() if isinstance(v, float)}
                        rk.ROW_TABLE[(kind, dtype, r, c)] = min(timed, key=timed.get)
                        rk.clear_plans()
                        row[f"sweep[{name}]"] = {str(k): v for k, v in times.items()}
                    e = error(kind, mine(), want)
                    t_theirs, t_mine = kernel_ms(theirs), kernel_ms(mine)
                    row[name] = {"torch_ms": t_theirs, "ours_ms": t_mine, "ratio": t_theirs / t_mine, "err": e,
                                 "torch_call_ms": call_ms(theirs), "ours_call_ms": call_ms(mine),
                                 "choice": repr(rk.choose(kind, dtype, r, c))}
                    row[name] |= graph_pair(theirs, True, mine, "torch")
                except Exception as error_:
                    row[name] = f"failed: {str(error_).splitlines()[0][:100]}"
        out.append(row)
        print(json.dumps(row, default=str), flush=True)
    if sweep:
        print("ROW_TABLE = " + repr(rk.ROW_TABLE), flush=True)
    return out


# ---- Python time per call --------------------------------------------------------------------------
def bench_python(quick: bool, sweep: bool) -> list[dict]:
    """Host microseconds per call at small shapes (the GPU is never the bottleneck there)."""
    import cupy

    from hyperion.kernels import attention as fh
    from hyperion.kernels import layernorm as ln
    from hyperion.kernels import matmul as mm
    from hyperion.kernels import softmax as sm
    from hyperion.transformer.flash import cuda as fc

    rng = cupy.random.default_rng(0)
    a = rng.standard_normal((256, 256), dtype=np.float32)
    a1k = rng.standard_normal((1024, 1024), dtype=np.float32)
    ab = cupy.zeros((256, 256), np.uint16) + np.uint16(0x3F80)
    x = rng.standard_normal((64, 1024), dtype=np.float32)
    w, b = cupy.ones(1024, np.float32), cupy.zeros(1024, np.float32)
    q = rng.standard_normal((1, 2, 128, 64), dtype=np.float32).astype(cupy.float16)
    from hyperion.kernels import rows as rk

    xh = x.astype(np.float16)
    dy = rng.standard_normal((64, 1024), dtype=np.float32)
    _, mean, rstd = rk.rows_layernorm(x, w, b)
    import torch

    tx = torch.from_dlpack(x)
    y = cupy.empty_like(x)
    plan = rk._plan("softmax", "f32", 64, 1024, None, x.data.ptr % 16, True)
    grid, block = plan.launch.head[1:4], plan.launch.head[4:7]
    launch = (grid, block, (x, y, np.int32(64), np.int32(1024), np.int32(1)))
    cases = {
        "matmul fp32 auto (plan cached)": lambda: mm.matmul_auto(a, a),
        "matmul bf16 auto (plan cached)": lambda: mm.matmul_tc_auto(ab, ab),
        "matmul fp32 auto at 1024^3 (15_wgmma_3xtf32 on Hopper)": lambda: mm.matmul_auto(a1k, a1k),
        "softmax fp32 (06 rows)": lambda: rk.rows_softmax(x),
        "softmax fp16 (06 rows)": lambda: rk.rows_softmax(xh, "f16"),
        "layernorm fwd fp32 (05 rows)": lambda: rk.rows_layernorm(x, w, b),
        "layernorm bwd fp32 (14 rows + reduce)": lambda: rk.rows_layernorm_backward(dy, x, w, mean, rstd),
        "matmul fp32 (08)": lambda: mm.matmul(a, a, "08_double_buffered"),
        "matmul bf16 (12_wgmma)": lambda: mm.matmul_tc(ab, ab, "bf16", version="12_wgmma"),
        "softmax fp32 (04)": lambda: sm.softmax(x),
        "layernorm fwd fp32 (03)": lambda: ln.layernorm_forward(x, w, b),
        "cupy.matmul (cuBLAS)": lambda: cupy.matmul(a, a),
        "torch.softmax (same shape, for scale)": lambda: torch.softmax(tx, -1),
        "parts: cupy.ndarray allocation alone": lambda: cupy.ndarray((64, 1024), np.float32),
        "parts: RawKernel launch alone (softmax 06, prepared args)": lambda: plan.launch.kernel(*launch),
        "parts: PackedLaunch alone (softmax 06)": lambda: plan.launch(x.data.ptr, y.data.ptr, 64, 1024, 1),
    }
    if WITH_FLASH:
        out, lse = fc.flash_forward_cuda(q, q, q)
        cases["flash fwd fp16 (05)"] = lambda: fc.flash_forward_cuda(q, q, q)
        cases["flash fwd fp16 (Hopper dispatch)"] = lambda: fh.flash_forward_hopper(q, q, q)
        cases["flash bwd fp16 (Hopper dispatch)"] = lambda: fh.flash_backward_hopper(q, q, q, out, lse, q)
        cases["flash bwd fp16 (06)"] = lambda: fc.flash_backward_cuda(q, q, q, out, lse, q)
    rows = []
    for name, fn in cases.items():
        try:
            rows.append({"call": name, "host_us": host_us(fn)})
        except Exception as error:
            rows.append({"call": name, "host_us": f"failed: {error}"})
        print(json.dumps(rows[-1]), flush=True)
    return rows


# ---- report ---------------------------------------------------------------------------------------
def _g(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


HOST_BOUND = 1.25  # back-to-back time over GPU time alone past which a side counts as host-bound


def _host_mark(v: dict) -> str:
    """'†' where either side's kernel-only (back-to-back) time is host-bound, as its GPU time alone shows."""
    bound = any(f"{side}_graph_ms" in v and v[f"{side}_ms"] > HOST_BOUND * v[f"{side}_graph_ms"]
                for side in ("torch", "ours"))
    return " †" if bound else ""


def _of_copy(row: dict, name: str) -> str:
    """'torch % / ours %' of the copy's speed for one cell of the rows table, or what is missing."""
    kind, dtype = name.rsplit("_", 1)
    v, copy = row.get(name), row.get(f"copy_gbs_{dtype}")
    if not (isinstance(v, dict) and "ours_graph_ms" in v and isinstance(copy, float)):
        return "—"
    r, c = map(int, row["shape"].split("x"))
    pct = [row_bytes(kind, r, c, dtype) / v[f"{side}_graph_ms"] / 1e6 / copy * 100 for side in ("torch", "ours")]
    return f"{pct[0]:.0f} / {pct[1]:.0f}"


def markdown(results: dict) -> str:
    out = []
    if results.get("flash"):
        out += ["### FlashAttention fp16, B=4, H=16 (ours: 08 or 10 forward on Hopper, else 05; 09 or 11 "
                "backward on Hopper, else 06; SDPA: its flash backend)", "",
                "| d | N | causal | SDPA fwd ms | ours fwd ms | fwd ratio | SDPA f+b ms | ours f+b ms | f+b ratio "
                "| ours fwd TFLOP/s | rel err fwd / grads |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in results["flash"]:
            out.append(f"| {r['d']} | {r['N']} | {r['causal']} | {r['sdpa_fwd_ms']:.3f} | {r['ours_fwd_ms']:.3f} "
                       f"| {r['fwd_ratio']:.2f} | {r['sdpa_fb_ms']:.3f} | {r['ours_fb_ms']:.3f} | {r['fb_ratio']:.2f} "
                       f"| {r['ours_fwd_tflops']:.0f} | {r['fwd_err']:.1e} / {r['grad_err']:.1e} |")
        out += ["", f"Worst forward ratio {min(r['fwd_ratio'] for r in results['flash']):.2f}, worst fwd+bwd ratio "
                f"{min(r['fb_ratio'] for r in results['flash']):.2f}.", ""]
    fp32_title = "fp32 matmul vs cuBLAS (CuPy; GPU alone: cuBLAS through PyTorch, TF32 off)"
    for key, title, base in (("matmul", fp32_title, "cublas_ms"),
                             ("tc", "bf16 tensor-core matmul vs cuBLAS (PyTorch)", "cublas_bf16_ms")):
        if results.get(key):
            out += [f"### {title}", "", "| shape | cuBLAS ms | ours ms | ratio | call-to-call: cuBLAS ms | ours ms "
                    "| ratio | GPU alone: cuBLAS ms | ours ms | ratio | kernel chosen | rel err |",
                    "|---|---|---|---|---|---|---|---|---|---|---|---|"]
            for r in results[key]:
                alone = (f"{r['cublas_graph_ms']:.3f} | {r['ours_graph_ms']:.3f} | {r['graph_ratio']:.2f}"
                         if "graph_ratio" in r else f"{r.get('graph', '—')} | — | —")
                out.append(f"| {r['shape']} | {r[base]:.3f} | {r['ours_ms']:.3f} | {r['ratio']:.2f} "
                           f"| {r['cublas_call_ms']:.3f} | {r['ours_call_ms']:.3f} | {r['call_ratio']:.2f} "
                           f"| {alone} | {r['ours_choice']} | {r['err']:.1e} |")
            alone = [r["graph_ratio"] for r in results[key] if "graph_ratio" in r]
            out += ["", f"Geometric mean of the ratios {_g([r['ratio'] for r in results[key]]):.2f}; worst "
                    f"{min(r['ratio'] for r in results[key]):.2f}"
                    + (f". GPU time alone (CUDA-graph replay of 20 calls, both sides; {len(alone)} of "
                       f"{len(results[key])} shapes): geometric mean {_g(alone):.2f}, worst {min(alone):.2f}."
                       if alone else "."), ""]
    tf32 = [r for r in results.get("matmul") or [] if "tf32x3_ms" in r]
    if tf32:
        out += ["### fp32 matmul as three TF32 tensor-core products (15_wgmma_3xtf32) vs cuBLAS fp32", "",
                "| shape | cuBLAS ms | 15 ms | ratio | call-to-call: cuBLAS ms | 15 ms | worst error: cuBLAS | 15 |",
                "|---|---|---|---|---|---|---|---|"]
        for r in tf32:
            out.append(f"| {r['shape']} | {r['cublas_ms']:.3f} | {r['tf32x3_ms']:.3f} | {r['tf32x3_ratio']:.2f} "
                       f"| {r['cublas_call_ms']:.3f} | {r['tf32x3_call_ms']:.3f} | {r['cublas_err64']:.1e} "
                       f"| {r['tf32x3_err64']:.1e} |")
        out += ["", f"Geometric mean of the ratios {_g([r['tf32x3_ratio'] for r in tf32]):.2f}; worst "
                f"{min(r['tf32x3_ratio'] for r in tf32):.2f}. Worst error: max |C - AB| / (|A| |B|) elementwise, "
                "AB in float64.", ""]
    if results.get("rows"):
        names = tuple(f"{k}_{d}" for k in ROW_KINDS for d in ROW_DTYPES)
        out += ["### Row kernels vs PyTorch (ratio = torch ms / ours ms, kernel-only; call-to-call in brackets)", "",
                "| shape | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for r in results["rows"]:
            cells = []
            for name in names:
                v = r.get(name)
                cells.append(f"{v['ratio']:.2f} ({v['torch_call_ms'] / v['ours_call_ms']:.2f}){_host_mark(v)}"
                             if isinstance(v, dict) else str(v))
            out.append(f"| {r['shape']} | " + " | ".join(cells) + " |")
        out += ["", f"† host-bound: a side's back-to-back time is over {HOST_BOUND:.2f}× its GPU time alone (the "
                "table below), so there the ratio compares launch rates, not kernels."]
        out += ["", "GPU time alone (CUDA-graph replay of 20 calls, both sides; ratio = torch / ours):", "",
                "| shape | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for r in results["rows"]:
            cells = [f"{v['graph_ratio']:.2f}" if isinstance(v := r.get(name), dict) and "graph_ratio" in v
                     else str(v.get("graph", "—") if isinstance(v, dict) else v) for name in names]
            out.append(f"| {r['shape']} | " + " | ".join(cells) + " |")
        out += ["", "The same GPU times as a fraction of a device copy's speed (the bytes each kernel must move, "
                "`row_bytes`, against a copy of the rows, both alone on the GPU; torch / ours, %):", "",
                "| shape | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for r in results["rows"]:
            out.append(f"| {r['shape']} | " + " | ".join(_of_copy(r, name) for name in names) + " |")
        out.append("")
    if results.get("python"):
        out += ["### Host time per call (Python + launch), small shapes", "", "| call | µs |", "|---|---|"]
        out += [f"| {r['call']} | {r['host_us']:.1f} |" if isinstance(r["host_us"], float) else
                f"| {r['call']} | {r['host_us']} |" for r in results["python"]]
        out.append("")
    return "\n".join(out)


def _compile_job(job: tuple) -> str:
    """Compile one module the suite will launch (CuPy and the cubin folder cache it on disk)."""
    kind, args = job
    try:
        if kind == "flash":
            from hyperion.transformer.flash import cuda as fc

            name, function, d, tile = args
            fc.kernel(name, function, d, **dict(tile))
        elif kind == "fp32":
            from hyperion.kernels import matmul as mm

            mm._fp32_kernel(args[0], tuple(args[1].items()))
        elif kind == "tc":
            from hyperion.kernels import matmul as mm

            if args[0] in mm.TMA_VERSIONS:
                from hyperion.kernels.matmul.tma import tma_kernel

                tma_kernel("bf16", tuple(args[1].items()), args[0])
            else:
                mm._tc_kernel(args[0], "bf16", tuple(args[1].items()))
        elif kind == "sm90a":  # a cubin only (nvcc; no GPU needed): 08, 09, 10 at their tables' tiles
            from hyperion.kernels.matmul.sm90a import build_cubin

            build_cubin(args[0], **dict(args[1]))
        elif kind == "split_k":
            from hyperion.kernels.loader import get_kernel

            get_kernel("matmul/13_split_k.cu", "matmul_split_k", **args)
        elif kind == "rows":
            from hyperion.kernels import rows as rk

            rk._kernel(*args)
        return f"ok {job}"
    except Exception as error:  # reported, and the suite itself will say which kernel failed
        return f"failed {job}: {str(error).splitlines()[0][:200]}"


def precompile(jobs: int = 16, sections: tuple[str, ...] = ("flash", "matmul", "tc", "rows"),
               extra: tuple[tuple, ...] = ()) -> list[str]:
    """Build every module of the suite (and its sweep) in parallel processes, before anything is timed
    (``extra``: more ``(kind, args)`` jobs, e.g. a test module's configurations)."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from hyperion.kernels import matmul as mm
    from hyperion.kernels import rows as rk

    work: list[tuple] = list(extra)
    if "flash" in sections:
        for d, tiles in PIPE_SWEEP.items():
            for tile in tiles:
                work += [("flash", ("05_flash_fwd_pipelined.cu", "flash_fwd_pipe_f16_w8", d, tile))]
        for d in ATTN_DIMS:
            work += [("flash", ("06_flash_bwd_mma.cu", "flash_bwd_dq_mma_f16", d, ()))]
            work += [("flash", ("07_flash_fwd_two_tiles.cu", "flash_fwd_two_f16", d, tile)) for tile in TWO_SWEEP]
        from hyperion.kernels import attention as fh
        from hyperion.kernels.attention import bwd_tma, fwd_tma

        for d in fh.WGMMA_DIMS:
            for source, table in ((fh.SOURCE, fh.WGMMA_TILES), (fh.BWD_SOURCE, fh.BWD_TILES),
                                  (fh.BWD_SOURCE, fh.DQ_TILES), (fwd_tma.SOURCE, fwd_tma.TMA_TILES),
                                  (bwd_tma.SOURCE, bwd_tma.BWD_TMA_TILES), (bwd_tma.SOURCE, bwd_tma.DQ_TMA_TILES)):
                work += [("sm90a", (source, (("FLASH_D", d), *table[d].items())))]
    if "matmul" in sections:
        work += [("fp32", (v, cfg)) for v in ("07_warptile", "08_double_buffered") for cfg in mm.WARPTILE_CONFIGS]
        work += [("split_k", mm.WARPTILE_CONFIGS[i]) for i in sorted({i for i, _ in mm.SPLIT_K_CONFIGS})]
    if "tc" in sections:
        work += [("tc", (v, cfg)) for v in TC_SWEPT for cfg in mm.tc_configs(v)]
    if "python" in sections and "tc" not in sections:  # the tensor-core plan the host-time table calls
        version, index = mm.choose_tc(256, 256, 256)
        work += [("tc", (version, mm.tc_configs(version)[index]))]
    if "rows" in sections:
        configs = {(kind, dtype, cfg) for _, c in ROW_SHAPES for kind in ROW_KINDS for dtype in ROW_DTYPES
                   for cfg in rk.candidates(kind, dtype, c)}
        work += [("rows", job) for job in sorted(configs, key=str)]
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        return list(pool.map(_compile_job, work))


WITH_FLASH = True  # the host-time table includes the flash calls (main: only when "flash" is a section)
SECTIONS = {"python": bench_python, "flash": bench_flash, "matmul": bench_matmul, "tc": bench_tc, "rows": bench_rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sweep", action="store_true", help="also time every candidate tile configuration")
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--precompile", action="store_true", help="only build every module, in parallel")
    args = parser.parse_args(argv)
    if args.precompile:
        print("\n".join(precompile(sections=tuple(args.only.split(",")))), flush=True)
        return 0
    import cupy
    import torch

    global WITH_FLASH
    WITH_FLASH = "flash" in args.only.split(",")
    props = cupy.cuda.runtime.getDeviceProperties(0)
    results: dict = {"gpu": props["name"].decode(), "driver": cupy.cuda.runtime.driverGetVersion(),
                     "torch": torch.__version__, "cupy": cupy.__version__}
    print(json.dumps(results), flush=True)
    for name in args.only.split(","):
        try:
            results[name] = SECTIONS[name](args.quick, args.sweep)
        except Exception:
            traceback.print_exc()
    text = markdown(results)
    print(text, flush=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "suite.json").write_text(json.dumps(results, indent=1, default=str))
        (args.out / "suite.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
