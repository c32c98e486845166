"""Turn one GPU run (bench results, ncu metrics, sanitizer and test logs) into REPORT.md with plots.

    python -m hyperion.kernels.report --run RUN_DIR --out level3_hpc/REPORT.md --img level3_hpc/img

RUN_DIR holds what ``level3_hpc/gpu_run.sh`` writes: results.json (``hyperion.kernels.bench``),
ncu.csv (Nsight Compute, CSV), memcheck.txt / racecheck.txt (compute-sanitizer), pytest.txt,
grade.txt and nvidia-smi.txt. Every number in the report comes from those files.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
from pathlib import Path

NCU_METRICS = {
    "gpu__time_duration.sum": "time",
    "sm__warps_active.avg.pct_of_peak_sustained_active": "achieved occupancy %",
    "dram__throughput.avg.pct_of_peak_sustained_elapsed": "DRAM throughput % of peak",
    "sm__throughput.avg.pct_of_peak_sustained_elapsed": "SM throughput % of peak",
    "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum": "smem load bank conflicts",
    "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum": "smem store bank conflicts",
    "smsp__sass_average_branch_targets_threads_uniform.pct": "branch efficiency %",
    "smsp__sass_average_data_bytes_per_sector_mem_global_op_ld.pct": "global load efficiency %",
}


def _f(v, fmt="{:.2f}", none="—"):
    if v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))):
        return none
    return fmt.format(v)


def _cfg(c: dict | None) -> str:
    """A tile configuration in one short string: 128×128×16 w64×32 t8×4 256thr, or 128×128×32 w64×32 s3."""
    if not c:
        return "—"
    if "TC_BM" in c and "TC_WM" not in c:  # 12_wgmma: BK is 64, one warpgroup per 64 rows
        return f"{c['TC_BM']}×{c['TC_BN']}×64 wgmma s{c['TC_STAGES']} g{c.get('TC_GROUP_M', 8)}"
    if "TC_BM" in c:
        text = f"{c['TC_BM']}×{c['TC_BN']}×{c['TC_BK']} w{c['TC_WM']}×{c['TC_WN']} s{c['TC_STAGES']}"
        return text + (f" minb{c['TC_MINB']}" if "TC_MINB" in c else "")
    return f"{c['BM']}×{c['BN']}×{c['BK']} w{c['WM']}×{c['WN']} t{c['TM']}×{c['TN']} {c['NTHREADS']}thr"


def read_ncu(path: Path) -> list[dict]:
    """One dict per profiled launch (in launch order): kernel, block, grid, and the metrics."""
    if not path.is_file():
        return []
    lines = path.read_text(errors="replace").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith('"ID"')), None)
    if start is None:
        return []
    launches: dict[str, dict] = {}
    for row in csv.DictReader(lines[start:]):
        key = row.get("ID", "")
        entry = launches.setdefault(
            key,
            {
                "id": int(key) if key.isdigit() else key,
                "kernel": row.get("Kernel Name", ""),
                "block": row.get("Block Size", ""),
                "grid": row.get("Grid Size", ""),
            },
        )
        name, unit, value = (
            row.get("Metric Name", ""),
            row.get("Metric Unit", ""),
            row.get("Metric Value", ""),
        )
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            continue
        if name == "gpu__time_duration.sum":  # normalise to microseconds
            scale = {
                "ns": 1e-3,
                "nsecond": 1e-3,
                "us": 1.0,
                "usecond": 1.0,
                "ms": 1e3,
                "msecond": 1e3,
                "s": 1e6,
            }
            number *= scale.get(unit, 1.0)
        entry[name] = number
    return sorted(launches.values(), key=lambda e: (isinstance(e["id"], str), e["id"]))


def _sanitizer_summary(path: Path) -> str:
    if not path.is_file():
        return "not run"
    text = path.read_text(errors="replace")
    found = re.findall(r"(ERROR SUMMARY: .*|RACECHECK SUMMARY: .*)", text)
    return "; ".join(found) if found else "no summary line (see log)"


# ---- plots ---------------------------------------------------------------------------------------
def _bar(path: Path, labels, values, ylabel, title, lines=(), colors=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.2))
    vals = [v if v is not None else 0 for v in values]
    ax.bar(range(len(vals)), vals, color=colors or "#3f51b5")
    for i, v in enumerate(values):
        if v is not None:
            ax.text(i, v, f"{v:.0f}" if v >= 10 else f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    for y, label, style in lines:
        ax.axhline(y, color="#e65100", linestyle=style, linewidth=1.2)
        ax.text(len(vals) - 0.5, y, f" {label}", color="#e65100", va="bottom", ha="right", fontsize=8)
    ax.set_xticks(range(len(vals)), labels, rotation=25, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plots(res: dict, img: Path) -> list[str]:
    img.mkdir(parents=True, exist_ok=True)
    made = []
    c = res.get("ceilings", {})
    mm = res.get("matmul", {})
    if mm.get("versions"):
        fp32 = [r for r in mm["versions"] if r["dtype"] == "fp32"]
        _bar(
            img / "matmul_fp32.png",
            [r["version"] for r in fp32],
            [r.get("tflops") for r in fp32],
            "TFLOP/s",
            f"fp32 matmul {mm['size']}³ on {res['gpu']['name']}",
            [(c.get("cublas_fp32_tflops", 0), "cuBLAS fp32", "--")],
        )
        tc = [r for r in mm["versions"] if r["dtype"] != "fp32"]
        labels = [f"{r['version'][:2]} {r['dtype']}" for r in tc] + ["cuBLAS bf16", "cuBLAS fp16"]
        vals = [r.get("tflops") for r in tc] + [c.get("cublas_bf16_tflops"), c.get("cublas_f16_tflops")]
        _bar(
            img / "matmul_tensorcore.png",
            labels,
            vals,
            "TFLOP/s",
            f"tensor-core matmul {mm['size']}³ (fp32 accumulate)",
            colors=["#3f51b5"] * len(tc) + ["#9e9e9e"] * 2,
        )
        sw = mm.get("warptile_sweep", [])
        _bar(
            img / "matmul_warptile_sweep.png",
            [f"{s['version'][:2]} {_cfg(s['config'])}" for s in sw],
            [s.get("tflops") for s in sw],
            "TFLOP/s",
            "07 / 08 autotuning sweep (block tile, warp tile, thread tile, threads)",
        )
        made += ["matmul_fp32.png", "matmul_tensorcore.png", "matmul_warptile_sweep.png"]
    copy = [(c.get("copy_gbs", 0), "device copy", "--")]
    sm = res.get("softmax", {})
    if sm.get("versions"):
        _bar(
            img / "softmax.png",
            [r["version"] for r in sm["versions"]],
            [r.get("gbs") for r in sm["versions"]],
            "GB/s (read + write)",
            f"softmax {sm['shape'][0]}x{sm['shape'][1]} fp32",
            copy,
        )
        made.append("softmax.png")
    ln = res.get("layernorm", {})
    if ln.get("forward"):
        rows = ln["forward"] + ln.get("backward", [])
        _bar(
            img / "layernorm.png",
            [r["version"].replace("native_layer_norm_backward", "bwd") for r in rows],
            [r.get("gbs") for r in rows],
            "GB/s (minimum bytes)",
            f"LayerNorm fwd / bwd {ln['shape'][0]}x{ln['shape'][1]}",
            copy,
        )
        made.append("layernorm.png")
    fu = res.get("fused", {})
    pairs = [(k, v) for k, v in fu.items() if isinstance(v, list) and len(v) == 2]
    if pairs:
        labels, vals, colors = [], [], []
        for key, (fused, unfused) in pairs:
            labels += [f"{key}\nfused", f"{key}\nunfused"]
            vals += [fused.get("ms"), unfused.get("ms")]
            colors += ["#3f51b5", "#9e9e9e"]
        _bar(
            img / "fusion.png",
            labels,
            vals,
            "ms",
            "fused kernels against their unfused chains",
            colors=colors,
        )
        made.append("fusion.png")
    return made


# ---- markdown ------------------------------------------------------------------------------------
def _matmul_md(res: dict) -> list[str]:
    mm, c = res.get("matmul", {}), res.get("ceilings", {})
    if not mm.get("versions"):
        return [f"Matmul section failed: {mm.get('error', 'missing')}"]
    out = [
        f"C = A·B, {mm['size']}×{mm['size']}×{mm['size']}, random N(0,1) inputs. Every version is checked against a "
        f"float64 product before it is timed (‖out − ref‖/‖ref‖; cuBLAS fp32 itself: {mm['cublas_fp32_rel_err']:.1e}). "
        f"cuBLAS in the same run: fp32 {c['cublas_fp32_tflops']:.1f} TFLOP/s (`cupy.matmul`), "
        f"bf16 {_f(c.get('cublas_bf16_tflops'), '{:.0f}')} and fp16 {_f(c.get('cublas_f16_tflops'), '{:.0f}')} TFLOP/s "
        "(`torch.matmul`, bf16/fp16 output). % of peak uses the datasheet's 67 (fp32) and 989 (bf16/fp16 "
        "dense) TFLOP/s.",
        "",
        "| version | dtype | time (ms) | TFLOP/s | % of peak | × naive | % of cuBLAS | rel. error |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in mm["versions"]:
        out.append(
            f"| {r['version']} | {r['dtype']} | {_f(r.get('ms'), '{:.3f}')} | {_f(r.get('tflops'))} | "
            f"{_f(r.get('pct_peak'), '{:.1f}')} | {_f(r.get('x_naive'), '{:.1f}')} | "
            f"{_f(r.get('pct_cublas'), '{:.1f}')} | "
            f"{_f(r.get('rel_err'), '{:.1e}')}{' ' + r['error'] if r.get('error') else ''} |"
        )
    best = mm.get("tuned_best", {})
    out += [
        "",
        "Tile sizes of 07 and 08 were autotuned in this run; chosen: "
        + "; ".join(f"{k} {_cfg(v)}" for k, v in best.items())
        + ". Config = block tile BM×BN×BK, warp tile "
        "WM×WN, thread tile TM×TN, threads per block.",
        "",
        "| version | config | TFLOP/s | rel. error |",
        "|---|---|---:|---:|",
    ]
    for s in mm.get("warptile_sweep", []):
        out.append(
            f"| {s['version']} | {_cfg(s['config'])} | {_f(s.get('tflops'))} | "
            f"{_f(s.get('rel_err'), '{:.1e}')} {s.get('error', '')} |"
        )
    out += [
        "",
        f"Tensor-core sweep ({', '.join(dict.fromkeys(s.get('version', '') for s in mm.get('tc_sweep', [])))}); "
        "config = BM×BN×BK, warp tile, pipeline stages "
        "(and min. blocks per SM where set):",
        "",
        "| version | dtype | config | TFLOP/s | rel. error |",
        "|---|---|---|---:|---:|",
    ]
    for s in mm.get("tc_sweep", []):
        out.append(
            f"| {s.get('version', '')} | {s['dtype']} | {_cfg(s['config'])} | {_f(s.get('tflops'))} | "
            f"{_f(s.get('rel_err'), '{:.1e}')} {s.get('error', '')} |"
        )
    return out


def _bw_table(rows: list[dict], ceil: float, base_name: str) -> list[str]:
    out = [
        f"| version | time (ms) | GB/s | % of copy | × naive | × {base_name} | rel. error |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        extra = f" (block {r['block']})" if "block" in r else ""
        out.append(
            f"| {r['version']}{extra} | {_f(r.get('ms'), '{:.3f}')} | {_f(r.get('gbs'), '{:.0f}')} | "
            f"{_f(r.get('pct_copy'), '{:.1f}')} | {_f(r.get('x_naive'), '{:.1f}')} | "
            f"{_f(r.get('x_torch'), '{:.2f}')} | "
            f"{_f(r.get('rel_err'), '{:.1e}')}{' ' + r['error'] if r.get('error') else ''} |"
        )
    return out


def _ncu_md(launches: list[dict]) -> list[str]:
    if not launches:
        return ["Nsight Compute was not run or wrote nothing."]
    cols = list(NCU_METRICS)
    out = [
        "| # | kernel | block | grid | " + " | ".join(NCU_METRICS[c] for c in cols) + " |",
        "|---:|---|---|---|" + "---:|" * len(cols),
    ]
    for e in launches:
        vals = []
        for c in cols:
            v = e.get(c)
            vals.append(
                _f(
                    v,
                    "{:.1f} µs"
                    if c == "gpu__time_duration.sum"
                    else "{:.0f}"
                    if c.endswith(".sum")
                    else "{:.1f}",
                )
            )
        out.append(f"| {e['id']} | `{e['kernel']}` | {e['block']} | {e['grid']} | " + " | ".join(vals) + " |")
    return out


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it (reports must not name this machine)."""
    path = path.resolve()
    root = Path(__file__).resolve().parents[4]
    return str(path.relative_to(root)) if path.is_relative_to(root) else path.name


def _backend_md(be: dict, gpt: dict) -> list[str]:
    """The backend switch: a level-1 MLP step and the level-2 GPT, CuPy built-ins vs our kernels vs PyTorch."""
    md = ["## Backend switch: levels 1 and 2 on these kernels", ""]
    if be.get("steps_ms"):
        shape = " × ".join(str(n) for n in be.get("shape", []))
        md += [
            f"Level-1 MLP step (x @ w1 → relu → @ w2 → sum, backward), x and w of {shape} fp32:",
            "",
            "| variant | step (ms) | loss |",
            "|---|---:|---:|",
        ]
        losses = be.get("losses", {})
        for name, ms in be["steps_ms"].items():
            loss = next((v for k, v in losses.items() if name.startswith(k)), None)
            md.append(f"| {name} | {ms:.2f} | {_f(loss, '{:.6g}')} |")
        md += ["", f"Calls that took the kernel path: {be.get('kernel_calls', {})}", ""]
    if gpt.get("tokens_per_s"):
        cfg = gpt.get("config", {})
        md += [
            "Level-2 GPT, one training step = forward + cross-entropy + backward (no optimizer), fp32, "
            f"config {cfg}; naive attention in every variant, TF32 off in PyTorch:",
            "",
            "| variant | tokens/s | step (ms) | loss |",
            "|---|---:|---:|---:|",
        ]
        for name, tps in gpt["tokens_per_s"].items():
            md.append(
                f"| {name} | {tps:,.0f} | {gpt['step_ms'][name]:.1f} | {_f(gpt['loss'].get(name), '{:.4f}')} |"
            )
        calls = gpt.get("kernel_calls", {})
        if calls and not all(isinstance(v, dict) for v in calls.values()):
            calls = {"hyperion on level-3 kernels": calls}  # runs before the third variant existed
        md += ["", "Calls, by the path they took (over the timed steps and the first step):", ""]
        md += [f"- {name}: {dict(sorted(c.items()))}" for name, c in calls.items()]
        md.append("")
    for name, err in {**be.get("errors", {}), **gpt.get("errors", {})}.items():
        md.append(f"- {name} failed: {err}")
    return md if len(md) > 2 else []


def _suite_md(run: Path) -> list[str]:
    """The shape suite (``python -m hyperion.kernels.suite``, issue 14): this run's ``suite.md`` if it has one,
    else every ``results/*suite*/`` folder beside it, newest name first (each with its ``targets.md`` first),
    tables one level down."""
    folders = [run] if (run / "suite.md").is_file() else sorted(run.parent.glob("*suite*/"), reverse=True)
    md: list[str] = []
    for folder in folders:
        if (folder / "targets.md").is_file():
            md += [(folder / "targets.md").read_text(encoding="utf-8").strip(), ""]
        else:
            md += ["## Shape suite: every kernel on every suite shape, ratios to the vendor in one run", ""]
        if (folder / "suite.md").is_file():
            md += [(folder / "suite.md").read_text(encoding="utf-8").strip().replace("### ", "#### "), ""]
    return md


def render(run: Path, out: Path, img: Path) -> str:
    res = json.loads((run / "results.json").read_text())
    made = plots(res, img)
    rel_img = Path(*([".."] * 0)) / img.relative_to(out.parent) if img.is_relative_to(out.parent) else img
    g, c = res["gpu"], res.get("ceilings", {})
    md = [
        "# Level 3 — kernel report",
        "",
        f"Measured on **{g['name']}** ({g['sm_count']} SMs, {g['memory_gib']} GiB, L2 {g['l2_mib']} MiB, "
        f"compute capability {g['compute_capability']}), driver {g['driver']}, CUDA runtime {g['cuda_runtime']}, "
        f"CuPy {g['cupy']}, commit `{g['commit']}`, {res['started']}; bench took {res.get('seconds')} s"
        f"{' (quick mode)' if res.get('quick') else ''}.",
        "Generated by `nox -s bench-level3` (`level3_hpc/gpu_run.sh`, then `python -m hyperion.kernels.report`); "
        f"rendered from the run's data files in `{_shown(run)}` (results.json, ncu.csv, sanitizer and test logs).",
        "",
        "## Ceilings measured in this run",
        "",
        f"- device-to-device copy: **{c.get('copy_gbs', 0):.0f} GB/s** (bytes read + written, `cudaMemcpyAsync`)",
        f"- cuBLAS fp32: **{c.get('cublas_fp32_tflops', 0):.1f} TFLOP/s**; "
        f"bf16: **{_f(c.get('cublas_bf16_tflops'), '{:.0f}')}**; "
        f"fp16: **{_f(c.get('cublas_f16_tflops'), '{:.0f}')} TFLOP/s** ({c.get('matmul_size')}³)",
        "",
        "## Matmul progression",
        "",
    ]
    for name in ("matmul_fp32.png", "matmul_tensorcore.png", "matmul_warptile_sweep.png"):
        if name in made:
            md.append(f"![{name}]({rel_img / name})")
    md += ["", *_matmul_md(res), "", "## Softmax", ""]
    sm = res.get("softmax", {})
    if "softmax.png" in made:
        md.append(f"![softmax]({rel_img / 'softmax.png'})")
    if sm.get("versions"):
        md += [
            "",
            f"Rows {sm['shape'][0]} × {sm['shape'][1]} fp32; bytes counted: one read + one write "
            f"({sm['bytes'] / 1e6:.0f} MB), the least any softmax moves.",
            "",
            *_bw_table(sm["versions"], c.get("copy_gbs", 0), "torch"),
            "",
            "Block-size sweep of 04:",
            "",
            *_bw_table(sm.get("block_sweep", []), c.get("copy_gbs", 0), "torch"),
        ]
    else:
        md.append(f"Softmax section failed: {sm.get('error')}")
    ln = res.get("layernorm", {})
    md += ["", "## LayerNorm forward and backward", ""]
    if "layernorm.png" in made:
        md.append(f"![layernorm]({rel_img / 'layernorm.png'})")
    if ln.get("forward"):
        md += [
            "",
            f"{ln['shape'][0]} × {ln['shape'][1]} fp32. Forward bytes: read x + write y; backward: read dy, x + "
            "write dx (dw, db and the per-row statistics are small and not counted).",
            "",
            "Forward:",
            "",
            *_bw_table(ln["forward"], c.get("copy_gbs", 0), "torch"),
            "",
            "Forward block-size sweep of 03:",
            "",
            *_bw_table(ln.get("forward_block_sweep", []), c.get("copy_gbs", 0), "torch"),
            "",
            "Backward:",
            "",
            *_bw_table(ln.get("backward", []), c.get("copy_gbs", 0), "torch"),
            "",
            "Backward sweep of 12 and 13 (threads per block; for 13 also the blocks per SM its registers are "
            "capped for, where not given the launcher's rule: 3 at 512 threads, 2 at 1024, 4 at 256):",
            "",
            *_bw_table(ln.get("backward_block_sweep", []), c.get("copy_gbs", 0), "torch"),
            "",
        ]
        for r in ln.get("backward", []):
            if "dw_rel_err" in r:
                md.append(f"- {r['version']}: dw rel. error {r['dw_rel_err']:.1e}, db {r['db_rel_err']:.1e}")
    else:
        md.append(f"LayerNorm section failed: {ln.get('error')}")
    fu = res.get("fused", {})
    md += ["", "## Fusion", ""]
    if "fusion.png" in made:
        md.append(f"![fusion]({rel_img / 'fusion.png'})")
    if isinstance(fu.get("bias_gelu"), list):
        sh = fu.get("shapes", {})
        md += [
            "",
            f"Elementwise and row kernels on {sh.get('rows_x_C')}; attention on BH × T × D = {sh.get('BH_T_D')}. "
            "'floats moved' counts reads + writes per element of the main tensor.",
            "",
            "| kernel | floats moved | time (ms) | GB/s (fused bytes) | × unfused | rel. error |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for rows in fu.values():
            if not isinstance(rows, list):
                continue
            for r in rows:
                md.append(
                    f"| {r['version']} | {r.get('floats_moved', '—')} | {_f(r.get('ms'), '{:.3f}')} | "
                    f"{_f(r.get('gbs'), '{:.0f}')} | {_f(r.get('x_unfused'), '{:.2f}')} | "
                    f"{_f(r.get('rel_err'), '{:.1e}')}{' ' + r['error'] if r.get('error') else ''} |"
                )
    else:
        md.append(f"Fusion section failed: {fu.get('error')}")
    dm = res.get("demo", {})
    if dm and "error" not in dm:
        md += [
            "",
            "## Demonstration kernels (times)",
            "",
            f"- branch per lane (divergent) {dm['divergent_branch']:.3f} ms vs per warp (uniform) "
            f"{dm['uniform_branch']:.3f} ms",
            "- gather y[i] = x[i·stride mod n]: "
            + ", ".join(f"stride {s}: {dm[f'gather_stride_{s}_gbs']:.0f} GB/s" for s in (1, 2, 8, 32)),
            f"- 32×32 shared-memory transpose, 8192²: unpadded {dm['transpose_conflicts_ms']:.3f} ms, padded "
            f"{dm['transpose_padded_ms']:.3f} ms",
            "",
        ]
    md += _backend_md(res.get("backend", {}), res.get("gpt", {}))
    md += [
        "## Nsight Compute metrics",
        "",
        "One launch per kernel at medium sizes (matmul 2048³, rows 4096 × 4096, attention 16 × 1024 × 64; "
        "`python -m hyperion.kernels.profile` under `ncu --clock-control none`). Duplicated names are the unfused "
        "chains (e.g. `layernorm_fwd` after `residual_add`) and the demo pairs in the order "
        "divergent/uniform, stride 1/32, conflicts/padded.",
        "",
        *_ncu_md(read_ncu(run / "ncu.csv")),
        "",
    ]
    md += [
        "## compute-sanitizer",
        "",
        "Every kernel once at sizes that are not multiples of any tile, CuPy's memory pool off "
        "(`python -m hyperion.kernels.profile --small`):",
        "",
        f"- memcheck: {_sanitizer_summary(run / 'memcheck.txt')}",
        f"- racecheck: {_sanitizer_summary(run / 'racecheck.txt')}",
        "",
    ]
    tests = (
        (run / "pytest.txt").read_text(errors="replace").strip().splitlines()
        if (run / "pytest.txt").is_file()
        else []
    )
    md += ["## Tests on this GPU", "", f"`pytest level3_hpc/tests`: {tests[-1] if tests else 'not run'}", ""]
    if (run / "steps.txt").is_file():
        md += [
            "Steps of this run (exit code, seconds):",
            "",
            "```",
            *(run / "steps.txt").read_text().strip().splitlines(),
            "```",
            "",
        ]
    md += _suite_md(run)
    text = "\n".join(md) + "\n"
    out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hyperion.kernels.report", description=__doc__)
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--img", type=Path, required=True)
    args = p.parse_args(argv)
    render(args.run, args.out.resolve(), args.img.resolve())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
