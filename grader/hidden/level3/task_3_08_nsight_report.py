"""Task 3.8: profiling with Nsight Compute. The learner reports six ncu metrics of the demonstration kernels
(``hyperion.kernels.demo.nsight_report``: divergence, coalescing, bank conflicts); the grader re-measures
them with ``ncu`` on its own GPU and compares.

The re-measurement runs in the judge (the sandboxed child may not start programs), on the *reference*
copy of the demo kernels and of ``launch_all`` -- neither is a task, so they are the same code the learner
profiled. Percentages must agree within 1 point; the conflicting transpose's bank conflicts within 10%
(they vary a little from run to run), and the learner's padded count must be below 1% of it. Without a GPU,
or without ``ncu``, the task is "not run"."""

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import probe

TASK = "3.8"
TITLE = "Profiling: report ncu metrics (re-measured)"
POINTS = 6
TIMEOUT = 120
MEMORY_MB = None
EXCLUSIVE = True  # ncu replays each kernel to read its counters: nothing else may use the GPU meanwhile


@probe(reference=False)
def reported():
    from hyperion.kernels.demo.nsight_report import METRICS, nsight_report

    report = nsight_report()  # a skeleton stub raises NotImplementedError here, GPU or not
    allow_cuda_import()
    from hyperion.runtime.device import gpu_available

    ok, why = gpu_available()
    if not ok:
        return {"gpu": False, "why": why}
    return {
        "gpu": True,
        "keys": sorted(METRICS),
        "report": {k: float(report[k]) for k in METRICS if k in report},
    }


def _measure(keys):
    """Run ncu on the reference's launch_all(); {key: value} in the order of METRICS."""
    import csv
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    ncu = shutil.which("ncu") or (
        "/usr/local/cuda/bin/ncu" if os.path.exists("/usr/local/cuda/bin/ncu") else None
    )
    if ncu is None:
        raise AssertionError(
            "not run: ncu (Nsight Compute) is not installed here; Task 3.8 needs it to re-measure"
        )
    root = Path(__file__).resolve().parents[3]
    src = [str(p / "src") for p in sorted(root.glob("level[0-3]_*"))]
    metrics = (
        "smsp__sass_average_branch_targets_threads_uniform.pct,"
        "smsp__sass_average_data_bytes_per_sector_mem_global_op_ld.pct,"
        "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(src))
    run = subprocess.run(
        [
            ncu,
            "--clock-control",
            "none",
            "--kernel-name",
            "regex:^demo_",
            "--csv",
            "--metrics",
            metrics,
            sys.executable,
            "-c",
            "from hyperion.kernels.demo.nsight_report import launch_all; launch_all()",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    rows = [r for r in csv.DictReader(line for line in run.stdout.splitlines() if line.startswith('"'))]
    if run.returncode != 0 or not rows:
        said = f"stdout: {run.stdout.strip()[-400:]!r}; stderr: {run.stderr.strip()[-400:]!r}"
        raise AssertionError(
            f"not run: ncu profiled no demo_ kernel (exit {run.returncode}, {ncu}, {sys.executable}): {said}"
        )
    launches = sorted({int(r["ID"]) for r in rows})
    values = {}
    for key, (index, metric) in _metrics().items():
        hits = [r for r in rows if int(r["ID"]) == launches[index] and r["Metric Name"] == metric]
        if not hits:
            raise AssertionError(f"ncu reported no {metric} for launch {index}")
        values[key] = float(hits[0]["Metric Value"].replace(",", ""))
    return values


def _metrics():
    return {
        "branch_divergent_uniform_pct": (0, "smsp__sass_average_branch_targets_threads_uniform.pct"),
        "branch_uniform_uniform_pct": (1, "smsp__sass_average_branch_targets_threads_uniform.pct"),
        "gather_stride1_bytes_per_sector_pct": (
            2,
            "smsp__sass_average_data_bytes_per_sector_mem_global_op_ld.pct",
        ),
        "gather_stride32_bytes_per_sector_pct": (
            3,
            "smsp__sass_average_data_bytes_per_sector_mem_global_op_ld.pct",
        ),
        "transpose_conflicts_ld_bank_conflicts": (
            4,
            "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum",
        ),
        "transpose_padded_ld_bank_conflicts": (5, "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum"),
    }


def check_reported(sub, ref):
    from hyperion_grader.hidden import assert_true

    assert_ran_on_gpu(sub)
    want_keys = sorted(_metrics())
    assert_true(sub["keys"] == want_keys, "the METRICS table of nsight_report.py was changed")
    got = sub["report"]
    missing = [k for k in want_keys if k not in got]
    assert_true(not missing, f"nsight_report() lacks {missing}")
    measured = _measure(want_keys)
    for key, value in measured.items():
        mine = got[key]
        if key.endswith("_pct"):
            assert_true(
                abs(mine - value) <= 1.0, f"{key}: you report {mine:g}%, ncu measures {value:g}% here"
            )
        elif key == "transpose_conflicts_ld_bank_conflicts":
            assert_true(
                abs(mine - value) <= 0.10 * value,
                f"{key}: you report {mine:,.0f}, ncu measures {value:,.0f} here",
            )
    conflicts = measured["transpose_conflicts_ld_bank_conflicts"]
    padded = got["transpose_padded_ld_bank_conflicts"]
    assert_true(
        0 <= padded < 0.01 * conflicts,
        f"transpose_padded_ld_bank_conflicts: you report {padded:,.0f}; padding should remove (almost) all "
        f"of the {conflicts:,.0f} conflicts (below 1%); ncu measures "
        f"{measured['transpose_padded_ld_bank_conflicts']:,.0f}",
    )
