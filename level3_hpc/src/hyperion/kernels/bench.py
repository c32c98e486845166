"""Benchmark every kernel version on the GPU, validating each against a reference before timing it.

    python -m hyperion.kernels.bench --out results/          # full run (about 2-3 minutes on an H200)
    python -m hyperion.kernels.bench --out results/ --quick  # smaller sizes, fewer configurations

Writes ``results.json`` (everything: GPU facts, ceilings, per-version times and errors, sweeps) and
prints a short table. The ceilings are measured in the same run: device-to-device copy bandwidth
(bytes read + written), cuBLAS fp32 through ``cupy.matmul``, cuBLAS bf16/fp16 through PyTorch.
``python -m hyperion.kernels.report`` turns the JSON into REPORT.md with plots.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import traceback
from pathlib import Path

import numpy as np

from hyperion.runtime.device import gpu_info, require_gpu
from hyperion.runtime.timing import time_gpu

# datasheet leads for the H100/H200 SXM (dense); the report's "% of peak" uses these, ratios use measurements
PEAK_TFLOPS = {"fp32": 67.0, "bf16": 989.0, "f16": 989.0}


def rel_err(out, ref) -> float:
    import cupy

    out64, ref64 = out.astype(cupy.float64), ref.astype(cupy.float64)
    if not bool(cupy.isfinite(out64).all()):
        return math.inf
    return float(cupy.linalg.norm(out64 - ref64) / max(float(cupy.linalg.norm(ref64)), 1e-300))


def _timed(fn, budget_ms: float = 300.0) -> dict:
    """Median time of ``fn`` with a repeat count that fits ``budget_ms`` (at least 3 runs)."""
    import cupy

    t0 = time.perf_counter()
    fn()
    cupy.cuda.Device().synchronize()
    once = (time.perf_counter() - t0) * 1e3
    repeat = int(max(3, min(30, budget_ms / max(once, 2.0))))
    return time_gpu(fn, warmup=1 if once > 50 else 3, repeat=repeat)


def _torch():
    try:
        import torch

        return torch if torch.cuda.is_available() else None
    except ImportError:
        return None


# ---- ceilings ------------------------------------------------------------------------------------
def ceilings(quick: bool) -> dict:
    import cupy

    out: dict = {}
    n = (1 << 28) if quick else (1 << 29)  # bytes per buffer: 256 MiB / 512 MiB
    src = cupy.random.random(n // 4, dtype=np.float32)
    dst = cupy.empty_like(src)

    def copy():
        cupy.cuda.runtime.memcpyAsync(dst.data.ptr, src.data.ptr, n, 3, cupy.cuda.get_current_stream().ptr)

    t = _timed(copy)
    out["copy_gbs"] = 2 * n / (t["median_ms"] * 1e-3) / 1e9
    size = 2048 if quick else 4096
    a = cupy.random.standard_normal((size, size), dtype=np.float32)
    b = cupy.random.standard_normal((size, size), dtype=np.float32)
    t = _timed(lambda: cupy.matmul(a, b))
    out["cublas_fp32_tflops"] = 2 * size**3 / (t["median_ms"] * 1e-3) / 1e12
    out["cublas_fp32_ms"] = t["median_ms"]
    torch = _torch()
    if torch is not None:
        for name, dt in (("bf16", torch.bfloat16), ("f16", torch.float16)):
            ta = torch.randn(size, size, device="cuda", dtype=dt)
            tb = torch.randn(size, size, device="cuda", dtype=dt)
            t = _timed(lambda ta=ta, tb=tb: torch.matmul(ta, tb))
            out[f"cublas_{name}_tflops"] = 2 * size**3 / (t["median_ms"] * 1e-3) / 1e12
            out[f"cublas_{name}_ms"] = t["median_ms"]
    out["matmul_size"] = size
    return out


# ---- matmul -------------------------------------------------------------------------------------
def bench_matmul(quick: bool, ceil: dict) -> dict:
    import cupy

    from hyperion.kernels import matmul as mm

    size = ceil["matmul_size"]
    flops = 2 * size**3
    a = cupy.random.standard_normal((size, size), dtype=np.float32)
    b = cupy.random.standard_normal((size, size), dtype=np.float32)
    ref = cupy.matmul(a.astype(np.float64), b.astype(np.float64))
    cublas_err = rel_err(cupy.matmul(a, b), ref)
    rows, sweep, best = [], [], {}
    configs = mm.WARPTILE_CONFIGS[:3] if quick else mm.WARPTILE_CONFIGS
    for name in mm.TUNED:  # autotune 07 and 08 first, so that their rows below use the winners
        best_ms = math.inf
        for cfg in configs:
            entry = {"version": name, "config": cfg}
            try:
                out = cupy.full((size, size), np.nan, np.float32)
                err = rel_err(mm.matmul(a, b, name, cfg, out=out), ref)
                entry["rel_err"] = err
                if err < 1e-4:
                    t = _timed(lambda name=name, cfg=cfg: mm.matmul(a, b, name, cfg, out=out))
                    entry.update(ms=t["median_ms"], tflops=flops / (t["median_ms"] * 1e-3) / 1e12)
                    if t["median_ms"] < best_ms:
                        best[name], best_ms = cfg, t["median_ms"]
            except Exception as exc:  # noqa: BLE001 - a configuration that fails to compile is reported
                entry["error"] = f"{type(exc).__name__}: {exc}"
            sweep.append(entry)
    for name in mm.VERSIONS:
        row = {"version": name, "dtype": "fp32"}
        try:
            cfg = best.get(name) if name in mm.TUNED else None
            out = cupy.full((size, size), np.nan, np.float32)
            row["rel_err"] = rel_err(mm.matmul(a, b, name, cfg, out=out), ref)
            row["valid"] = row["rel_err"] < 1e-4
            if row["valid"]:
                t = _timed(lambda name=name, cfg=cfg: mm.matmul(a, b, name, cfg, out=out), 400)
                row.update(ms=t["median_ms"], tflops=flops / (t["median_ms"] * 1e-3) / 1e12)
        except Exception as exc:  # noqa: BLE001
            row["error"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    tc_rows, tc_sweep = bench_tensorcore(a, b, list(mm.TC_VERSIONS), quick)
    naive_ms = rows[0].get("ms")
    for row in rows + tc_rows:
        if "ms" in row:
            row["x_naive"] = naive_ms / row["ms"] if naive_ms else None
            base = ceil.get(
                "cublas_fp32_tflops" if row["dtype"] == "fp32" else f"cublas_{row['dtype']}_tflops"
            )
            row["pct_cublas"] = 100 * row["tflops"] / base if base else None
            row["pct_peak"] = 100 * row["tflops"] / PEAK_TFLOPS[row["dtype"]]
    return {
        "size": size,
        "cublas_fp32_rel_err": cublas_err,
        "versions": rows + tc_rows,
        "warptile_sweep": sweep,
        "tuned_best": best,
        "tc_sweep": tc_sweep,
    }


def bench_tensorcore(a, b, versions: list[str], quick: bool) -> tuple[list[dict], list[dict]]:
    """Sweep each tensor-core version's configurations (bf16 and fp16 in, fp32 out) on ``a @ b``: every
    configuration is validated against a float64 product of the rounded inputs before it is timed; the
    row of a version is its fastest valid configuration."""
    import cupy

    from hyperion.kernels import matmul as mm

    size = a.shape[0]
    flops = 2 * size**3
    tc_rows, tc_sweep = [], []
    a16, b16 = mm.to_bf16_bits(a), mm.to_bf16_bits(b)
    ref_bf16 = cupy.matmul(
        mm.from_bf16_bits(a16).astype(np.float64), mm.from_bf16_bits(b16).astype(np.float64)
    )
    ah, bh = a.astype(np.float16), b.astype(np.float16)
    ref_f16 = cupy.matmul(ah.astype(np.float64), bh.astype(np.float64))
    inputs = {"bf16": (a16, b16, ref_bf16), "f16": (ah, bh, ref_f16)}
    for version in versions:
        tc_configs = mm.tc_configs(version)[::3] if quick else mm.tc_configs(version)
        for dtype, (x, y, r) in inputs.items():
            best_tc = None
            for cfg in tc_configs:
                entry = {"version": version, "dtype": dtype, "config": cfg}
                try:
                    out = cupy.full((size, size), np.nan, np.float32)
                    entry["rel_err"] = rel_err(mm.matmul_tc(x, y, dtype, cfg, out=out, version=version), r)
                    if entry["rel_err"] < 1e-4:
                        t = _timed(
                            lambda x=x, y=y, d=dtype, c=cfg, v=version: mm.matmul_tc(x, y, d, c, out, v)
                        )
                        entry.update(ms=t["median_ms"], tflops=flops / (t["median_ms"] * 1e-3) / 1e12)
                        if best_tc is None or entry["ms"] < best_tc["ms"]:
                            best_tc = entry
                except Exception as exc:  # noqa: BLE001
                    entry["error"] = f"{type(exc).__name__}: {exc}"
                tc_sweep.append(entry)
                print(
                    f"  tc {version} {dtype} {cfg}: {entry.get('tflops', float('nan')):.1f} TFLOP/s",
                    flush=True,
                )
            row = {"version": version, "dtype": dtype}
            if best_tc:
                row.update(
                    rel_err=best_tc["rel_err"],
                    valid=True,
                    ms=best_tc["ms"],
                    tflops=best_tc["tflops"],
                    config=best_tc["config"],
                )
            else:
                row.update(valid=False, error="no configuration validated")
            tc_rows.append(row)
    return tc_rows, tc_sweep


def bench_matmul_tc(quick: bool, ceil: dict, versions: list[str] | None = None) -> dict:
    """Only the tensor-core part of :func:`bench_matmul` (``--only matmul_tc``; ``--tc-versions`` picks)."""
    import cupy

    from hyperion.kernels import matmul as mm

    size = ceil["matmul_size"]
    a = cupy.random.standard_normal((size, size), dtype=np.float32)
    b = cupy.random.standard_normal((size, size), dtype=np.float32)
    rows, sweep = bench_tensorcore(a, b, versions or list(mm.TC_VERSIONS), quick)
    for row in rows:
        if "ms" in row:
            base = ceil.get(f"cublas_{row['dtype']}_tflops")
            row["pct_cublas"] = 100 * row["tflops"] / base if base else None
            row["pct_peak"] = 100 * row["tflops"] / PEAK_TFLOPS[row["dtype"]]
    return {"size": size, "versions": rows, "tc_sweep": sweep}


# ---- memory-bound kernels ------------------------------------------------------------------------
def _bw_row(name: str, fn, ref, out_of, nbytes: int, ceil: dict, **extra) -> dict:
    row = {"version": name, **extra}
    try:
        row["rel_err"] = rel_err(out_of(fn()), ref)
        row["valid"] = row["rel_err"] < 1e-5
        if row["valid"]:
            t = _timed(fn)
            row.update(ms=t["median_ms"], gbs=nbytes / (t["median_ms"] * 1e-3) / 1e9)
            row["pct_copy"] = 100 * row["gbs"] / ceil["copy_gbs"]
    except Exception as exc:  # noqa: BLE001
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc(limit=3)
    return row


def _ratios(rows: list[dict], baseline: str | None) -> None:
    naive = rows[0].get("ms")
    base = next((r.get("ms") for r in rows if r["version"] == baseline), None)
    for r in rows:
        if "ms" in r:
            r["x_naive"] = naive / r["ms"] if naive else None
            r["x_torch"] = base / r["ms"] if base else None


def bench_softmax(quick: bool, ceil: dict) -> dict:
    import cupy

    from hyperion.kernels import softmax as sm

    rows_n, C = (4096, 4096) if quick else (16384, 4096)
    x = cupy.random.standard_normal((rows_n, C), dtype=np.float32) * 3
    x64 = x.astype(np.float64)
    e = cupy.exp(x64 - x64.max(axis=1, keepdims=True))
    ref = e / e.sum(axis=1, keepdims=True)
    nbytes = 2 * x.nbytes
    y = cupy.full_like(x, np.nan)
    rows = [
        _bw_row(v, lambda v=v: sm.softmax(x, v, out=y), ref, lambda o: o, nbytes, ceil) for v in sm.VERSIONS
    ]
    sweep = []
    for block in (128, 256, 512, 1024):
        sweep.append(
            _bw_row(
                "04_register_cached",
                lambda b=block: sm.softmax(x, "04_register_cached", b, out=y),
                ref,
                lambda o: o,
                nbytes,
                ceil,
                block=block,
            )
        )
    best = max((s for s in sweep if "gbs" in s), key=lambda s: s["gbs"], default=None)
    if best:
        rows[-1] = dict(best, version="04_register_cached")
    torch = _torch()
    if torch is not None:
        tx = torch.from_dlpack(x)
        rows.append(
            _bw_row("torch.softmax", lambda: torch.softmax(tx, dim=1), ref, cupy.from_dlpack, nbytes, ceil)
        )
    _ratios(rows, "torch.softmax")
    return {"shape": [rows_n, C], "bytes": nbytes, "versions": rows, "block_sweep": sweep}


def _ln_ref(x, w, b, eps=1e-5):
    x64 = x.astype(np.float64)
    mu = x64.mean(axis=1, keepdims=True)
    var = ((x64 - mu) ** 2).mean(axis=1, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat = (x64 - mu) * rstd
    return xhat * w + b, mu[:, 0], rstd[:, 0], xhat


def bench_layernorm(quick: bool, ceil: dict) -> dict:
    import cupy

    from hyperion.kernels import layernorm as ln

    rows_n, C = (4096, 4096) if quick else (16384, 4096)
    x = cupy.random.standard_normal((rows_n, C), dtype=np.float32) + 0.5
    w = cupy.random.standard_normal(C, dtype=np.float32)
    b = cupy.random.standard_normal(C, dtype=np.float32)
    dy = cupy.random.standard_normal((rows_n, C), dtype=np.float32)
    ref_y, mu, rstd, xhat = _ln_ref(x, w, b)
    fwd = [
        _bw_row(
            v, lambda v=v: ln.layernorm_forward(x, w, b, version=v), ref_y, lambda o: o[0], 2 * x.nbytes, ceil
        )
        for v in ln.FORWARD_VERSIONS
    ]
    sweep = [
        _bw_row(
            "03_register_cached",
            lambda bl=bl: ln.layernorm_forward(x, w, b, block=bl),
            ref_y,
            lambda o: o[0],
            2 * x.nbytes,
            ceil,
            block=bl,
        )
        for bl in (128, 256, 512, 1024)
    ]
    best = max((r for r in sweep if "gbs" in r), key=lambda r: r["gbs"], default=None)
    if best:
        fwd[-1] = dict(best, version="03_register_cached")
    torch = _torch()
    tx = tw = tb = None
    if torch is not None:
        tx, tw, tb = torch.from_dlpack(x), torch.from_dlpack(w), torch.from_dlpack(b)
        fwd.append(
            _bw_row(
                "torch.layer_norm",
                lambda: torch.nn.functional.layer_norm(tx, (C,), tw, tb),
                ref_y,
                cupy.from_dlpack,
                2 * x.nbytes,
                ceil,
            )
        )
    _ratios(fwd, "torch.layer_norm")
    # backward: reference dx from float64 formulas; dw, db checked too
    g = dy.astype(np.float64) * w
    ref_dx = rstd[:, None] * (
        g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True)
    )
    ref_dw = (dy * xhat).sum(axis=0)
    mean32, rstd32 = mu.astype(np.float32), rstd.astype(np.float32)
    bwd = []
    for v in ln.BACKWARD_VERSIONS:
        row = _bw_row(
            v,
            lambda v=v: ln.layernorm_backward(dy, x, w, mean32, rstd32, version=v),
            ref_dx,
            lambda o: o[0],
            3 * x.nbytes,
            ceil,
        )
        dx, dw, db = ln.layernorm_backward(dy, x, w, mean32, rstd32, version=v)
        row["dw_rel_err"] = rel_err(dw, ref_dw)
        row["db_rel_err"] = rel_err(db, dy.astype(np.float64).sum(axis=0))
        bwd.append(row)
    bwd_sweep = [
        _bw_row(
            "12_bwd_fused",
            lambda bl=bl: ln.layernorm_backward(dy, x, w, mean32, rstd32, version="12_bwd_fused", block=bl),
            ref_dx,
            lambda o: o[0],
            3 * x.nbytes,
            ceil,
            block=bl,
        )
        for bl in (256, 512, 1024)
    ]
    # 13: block size x blocks per SM the registers are capped for (None: the launcher's rule)
    bwd_sweep += [
        _bw_row(
            "13_bwd_smem_partials",
            lambda bl=bl, mb=mb: ln.layernorm_backward(
                dy, x, w, mean32, rstd32, version="13_bwd_smem_partials", block=bl, min_blocks=mb
            ),
            ref_dx,
            lambda o: o[0],
            3 * x.nbytes,
            ceil,
            block=bl if mb is None else f"{bl}, min blocks {mb}",
        )
        for bl, mb in ((256, None), (512, None), (512, 2), (1024, None), (1024, 1))
    ]
    for i, name in enumerate(ln.BACKWARD_VERSIONS):
        cands = [r for r in bwd_sweep if r["version"] == name and "gbs" in r]
        best = max(cands, key=lambda r: r["gbs"], default=None)
        if best:
            bwd[i] = dict(
                best, version=name, dw_rel_err=bwd[i].get("dw_rel_err"), db_rel_err=bwd[i].get("db_rel_err")
            )
    if torch is not None:
        tdy, tmean, trstd = torch.from_dlpack(dy), torch.from_dlpack(mean32), torch.from_dlpack(rstd32)

        def torch_bwd():
            return torch.ops.aten.native_layer_norm_backward(
                tdy, tx, (C,), tmean[:, None], trstd[:, None], tw, tb, [True, True, True]
            )

        bwd.append(
            _bw_row(
                "torch native_layer_norm_backward",
                torch_bwd,
                ref_dx,
                lambda o: cupy.from_dlpack(o[0]),
                3 * x.nbytes,
                ceil,
            )
        )
    _ratios(bwd, "torch native_layer_norm_backward")
    return {
        "shape": [rows_n, C],
        "forward": fwd,
        "forward_block_sweep": sweep,
        "backward": bwd,
        "backward_block_sweep": bwd_sweep,
    }


def bench_fused(quick: bool, ceil: dict) -> dict:
    import cupy

    from hyperion.kernels import fused as fu

    out: dict = {}
    rows_n, C = (4096, 4096) if quick else (16384, 4096)
    x = cupy.random.standard_normal((rows_n, C), dtype=np.float32)
    b = cupy.random.standard_normal(C, dtype=np.float32)
    v = x.astype(np.float64) + b
    ref = 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))
    out["bias_gelu"] = [
        _bw_row(
            "fused bias_gelu",
            lambda: fu.bias_gelu(x, b),
            ref,
            lambda o: o,
            2 * x.nbytes,
            ceil,
            floats_moved=2,
        ),
        _bw_row(
            "unfused add_bias + gelu",
            lambda: fu.bias_gelu_unfused(x, b),
            ref,
            lambda o: o,
            2 * x.nbytes,
            ceil,
            floats_moved=4,
        ),
    ]
    r = cupy.random.standard_normal((rows_n, C), dtype=np.float32)
    w = cupy.random.standard_normal(C, dtype=np.float32)
    ref_y = _ln_ref(x + r, w, b)[0]
    out["residual_layernorm"] = [
        _bw_row(
            "fused residual_layernorm",
            lambda: fu.residual_layernorm(x, r, w, b),
            ref_y,
            lambda o: o[1],
            4 * x.nbytes,
            ceil,
            floats_moved=4,
        ),
        _bw_row(
            "unfused residual_add + layernorm 03",
            lambda: fu.residual_layernorm_unfused(x, r, w, b),
            ref_y,
            lambda o: o[1],
            4 * x.nbytes,
            ceil,
            floats_moved=5,
        ),
    ]
    BH, T, D = (16, 1024, 64) if quick else (48, 1024, 64)
    s = cupy.random.standard_normal((BH, T, T), dtype=np.float32)
    scale = 1 / math.sqrt(D)
    z = s.astype(np.float64) * scale
    z = cupy.where(cupy.triu(cupy.ones((T, T), bool), 1), -cupy.inf, z)
    e = cupy.exp(z - z.max(axis=2, keepdims=True))
    ref_p = e / e.sum(axis=2, keepdims=True)
    nb = s.nbytes
    out["scale_mask_softmax"] = [
        _bw_row(
            "fused scale_mask_softmax",
            lambda: fu.scale_mask_softmax(s, scale),
            ref_p,
            lambda o: o,
            2 * nb,
            ceil,
            floats_moved=1.5,
        ),
        _bw_row(
            "unfused scale + mask + softmax 04",
            lambda: fu.scale_mask_softmax_unfused(s, scale),
            ref_p,
            lambda o: o,
            2 * nb,
            ceil,
            floats_moved=6,
        ),
    ]
    q = cupy.random.standard_normal((BH, T, D), dtype=np.float32)
    k = cupy.random.standard_normal((BH, T, D), dtype=np.float32)
    zs = cupy.matmul(q.astype(np.float64), k.astype(np.float64).transpose(0, 2, 1)) * scale
    ref_s = cupy.where(cupy.triu(cupy.ones((T, T), bool), 1), 0.0, zs)

    def finite(o):  # compare the unmasked part; the masked part must be exactly -inf
        masked = cupy.triu(cupy.ones((T, T), bool), 1)
        if not bool(cupy.all(cupy.isneginf(o) | ~masked)):
            return cupy.full(o.shape, cupy.nan)
        return cupy.where(masked, 0.0, o)

    out["attention_qk"] = [
        _bw_row(
            "fused attention_qk (scale + causal mask)",
            lambda: fu.attention_scores(q, k, scale),
            ref_s,
            finite,
            q.nbytes * 2 + nb,
            ceil,
        ),
        _bw_row(
            "unfused cuBLAS bmm + scale + mask",
            lambda: fu.attention_scores_unfused(q, k, scale),
            ref_s,
            finite,
            q.nbytes * 2 + nb,
            ceil,
        ),
    ]
    for rows in out.values():
        for row in rows:
            if "ms" in row:
                row["x_unfused"] = rows[1]["ms"] / row["ms"] if "ms" in rows[1] else None
    out["shapes"] = {"rows_x_C": [rows_n, C], "BH_T_D": [BH, T, D]}
    return out


def bench_demo(quick: bool, ceil: dict) -> dict:
    import cupy

    from hyperion.kernels import demo

    out = {}
    y0 = cupy.random.random(1 << 22, dtype=np.float32)
    for uniform in (False, True):
        y = y0.copy()
        t = _timed(lambda y=y, u=uniform: demo.branch(y, u, 32))
        out["uniform_branch" if uniform else "divergent_branch"] = t["median_ms"]
    x = cupy.random.random(1 << 26, dtype=np.float32)
    for stride in (1, 2, 8, 32):
        t = _timed(lambda s=stride: demo.gather(x, s))
        out[f"gather_stride_{stride}_ms"] = t["median_ms"]
        out[f"gather_stride_{stride}_gbs"] = 2 * x.nbytes / (t["median_ms"] * 1e-3) / 1e9
    m = cupy.random.random((8192, 8192), dtype=np.float32)
    assert bool((demo.transpose(m, True) == m.T).all()) and bool((demo.transpose(m, False) == m.T).all())
    for padded in (False, True):
        t = _timed(lambda p=padded: demo.transpose(m, p))
        out["transpose_padded_ms" if padded else "transpose_conflicts_ms"] = t["median_ms"]
    return out


def bench_backend(quick: bool, ceil: dict) -> dict:
    """A level-1 MLP step (x @ w1 -> relu -> @ w2 -> sum, backward) on cuda: CuPy built-ins vs our kernels,
    and the same step in PyTorch on the same GPU."""
    import hyperion.tensor as ht
    from hyperion.runtime.backend import use_kernels

    n, d = (2048, 2048) if quick else (4096, 4096)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((n, d)).astype(np.float32)
    w1s, w2s = ((rng.standard_normal((d, d)) / math.sqrt(d)).astype(np.float32) for _ in range(2))
    out: dict = {"shape": [n, d], "steps_ms": {}}
    losses = {}
    for name, enable in (("hyperion on CuPy (cuBLAS)", False), ("hyperion on level-3 kernels", True)):
        backend = use_kernels(enable)
        x = ht.tensor(xs, device="cuda")
        w1 = ht.tensor(w1s, device="cuda", requires_grad=True)
        w2 = ht.tensor(w2s, device="cuda", requires_grad=True)

        def step(x=x, w1=w1, w2=w2):
            loss = ((x @ w1).relu() @ w2).sum()
            loss.backward()
            return loss

        losses[name] = step().item()
        out["steps_ms"][name] = _timed(step)["median_ms"]
        if enable:
            out["kernel_calls"] = dict(backend.calls)
    use_kernels(False)
    torch = _torch()
    if torch is not None:
        tx = torch.tensor(xs, device="cuda")
        tw1 = torch.tensor(w1s, device="cuda", requires_grad=True)
        tw2 = torch.tensor(w2s, device="cuda", requires_grad=True)

        def tstep():
            loss = ((tx @ tw1).relu() @ tw2).sum()
            loss.backward()
            return loss

        torch.backends.cuda.matmul.allow_tf32 = False
        losses["pytorch"] = tstep().item()
        out["steps_ms"]["pytorch (cuBLAS, no TF32)"] = _timed(tstep)["median_ms"]
    out["losses"] = losses
    return out


def bench_gpt(quick: bool, ceil: dict) -> dict:
    from hyperion.kernels.gpt_bench import bench_gpt as run

    return run(quick, lambda fn: _timed(fn, 1500))


SECTIONS = {
    "matmul": bench_matmul,
    "matmul_tc": bench_matmul_tc,
    "softmax": bench_softmax,
    "layernorm": bench_layernorm,
    "fused": bench_fused,
    "demo": bench_demo,
    "backend": bench_backend,
    "gpt": bench_gpt,
}


def _summary(results: dict) -> str:
    lines = [f"GPU: {results['gpu'].get('name')}  driver {results['gpu'].get('driver')}"]
    c = results["ceilings"]
    lines.append(
        f"ceilings: copy {c.get('copy_gbs', 0):.0f} GB/s, cuBLAS fp32 {c.get('cublas_fp32_tflops', 0):.1f} TFLOP/s, "
        f"bf16 {c.get('cublas_bf16_tflops', 0):.0f} TFLOP/s"
    )
    for name in ("matmul", "matmul_tc"):
        for r in results.get(name, {}).get("versions", []):
            lines.append(
                f"  {name} {r['version']:<22} {r['dtype']:<5} {r.get('tflops', float('nan')):8.2f} TFLOP/s "
                f"{r.get('pct_cublas') or float('nan'):6.1f}% cuBLAS  err {r.get('rel_err', float('nan')):.1e} "
                f"{r.get('error', '')}"
            )
    for name, key in (("softmax", "versions"), ("layernorm", "forward"), ("layernorm", "backward")):
        for r in results.get(name, {}).get(key, []):
            lines.append(
                f"  {name}/{key} {r['version']:<34} {r.get('gbs', float('nan')):8.0f} GB/s "
                f"{r.get('pct_copy', float('nan')):6.1f}% copy  err {r.get('rel_err', float('nan')):.1e} "
                f"{r.get('error', '')}"
            )
    for key, rows in results.get("fused", {}).items():
        if key == "shapes":
            continue
        for r in rows:
            lines.append(
                f"  fused {r['version']:<42} {r.get('ms', float('nan')):8.3f} ms  "
                f"err {r.get('rel_err', float('nan')):.1e} "
                f"{r.get('error', '')}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hyperion.kernels.bench", description=__doc__)
    p.add_argument("--out", type=Path, required=True, help="folder for results.json")
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer configurations")
    full = ",".join(n for n in SECTIONS if n != "matmul_tc")  # matmul already holds the tensor-core part
    p.add_argument("--only", default=full, help=f"comma-separated sections of {list(SECTIONS)}")
    p.add_argument("--tc-versions", default="", help="comma-separated tensor-core versions for matmul_tc")
    args = p.parse_args(argv)
    require_gpu()
    import cupy

    cupy.random.seed(0)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results: dict = {
        "gpu": gpu_info(),
        "quick": args.quick,
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }
    results["ceilings"] = ceilings(args.quick)
    for name in args.only.split(","):
        t = time.perf_counter()
        try:
            if name == "matmul_tc" and args.tc_versions:
                results[name] = bench_matmul_tc(args.quick, results["ceilings"], args.tc_versions.split(","))
            else:
                results[name] = SECTIONS[name](args.quick, results["ceilings"])
        except Exception as exc:  # noqa: BLE001 - one broken section must not lose the others
            results[name] = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        results.setdefault("section_seconds", {})[name] = round(time.perf_counter() - t, 1)
        (args.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    results["seconds"] = round(time.perf_counter() - t0, 1)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=float))
    print(_summary(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
