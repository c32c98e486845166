"""Turn a run's results into ``REPORT.md`` and the figures.

    python -m hyperion.repro.fno.report level4_mastery/results/fno_h200

Reads ``results_burgers.json`` / ``results_darcy.json`` and ``samples_<experiment>.npz`` (``run.py``;
either experiment may be missing; an older run's single ``results.json`` + ``samples.npz`` too;
``speed_alone_<experiment>.json``, a speed-only run of ``run.py`` with ``--epochs 0``, if present) and
writes ``REPORT.md`` (the "paper / ours / holds?" table, the targets, speed, environment),
``predictions.png``, ``error_vs_resolution.png``, ``loss.png`` and ``darcy.png`` beside them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

# Li et al. (2021), arXiv 2010.08895: FNO relative L2 test errors as quoted in issue 16 (8192 and 85 also
# listed by a third-party benchmark index; the rest not re-checked against the paper offline).
PAPER_BURGERS = {256: 0.0149, 512: 0.0158, 1024: 0.0160, 2048: 0.0146, 4096: 0.0142, 8192: 0.0139}
PAPER_DARCY = {85: 0.0108, 141: 0.0109, 211: 0.0109, 421: 0.0098}
MUST_FACTOR = 1.5  # the "must": within 1.5x the paper


def _fmt(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _reduced(training: dict[str, Any]) -> bool:
    """Fewer epochs or samples than the paper's 500 epochs on 1000 samples."""
    return bool(training.get("reduced")) or training.get("epochs", 0) < 500 or training.get("train", 0) < 1000


def _holds(ours: float, paper: float, training: dict[str, Any]) -> str:
    """The "holds?" verdict: within 1.5x the paper AND on the full protocol (a shorter run never holds)."""
    if _reduced(training):
        return f"NO: {training.get('epochs')} of 500 epochs on {training.get('train')} samples (not the full protocol)"
    return "yes" if ours <= MUST_FACTOR * paper else "NO"


def _with_mean(results: dict[str, Any]) -> bool:
    """Runs made before ``--mean-mode`` existed (commit 588955e) drew the mean mode."""
    return results["args"].get("mean_mode", "True") == "True"


def table(results: dict[str, Any]) -> str:
    training = results.get("burgers_training") or {}
    zero_shot = results.get("burgers_zero_shot") or {}
    s_train = int(training.get("s_train", 1024))
    protocol = (f"{training.get('epochs')} epochs (paper: 500), lr halved every "
                f"{training.get('step_size')}" + (" (REDUCED)" if _reduced(training) else "")
                + (" (stopped at the --budget deadline)" if training.get("stopped_at_deadline") else "")
                + (f"; steps op by op, the CUDA graph capture failed ({training['capture_error']})"
                   if training.get("capture_error") else ""))
    lines = ["| experiment | s | paper | ours | holds? (ours ≤ 1.5 × paper) | how ours was obtained |",
             "| --- | ---: | ---: | ---: | --- | --- |"]
    for s, paper in PAPER_BURGERS.items():  # resolutions the paper has no value for are in results.json only
        ours = zero_shot.get(str(s))
        how = f"trained at s = {s}, {protocol}" if s == s_train else f"zero-shot: the s = {s_train} model"
        holds = "not run" if ours is None else _holds(ours, paper, training)
        if ours is not None and _with_mean(results):
            holds = "not comparable: mean mode in u0 (see above)"
        lines.append(f"| Burgers | {s} | {paper:.4f} | {_fmt(ours)} | {holds} | {how} |")
    darcy = results.get("darcy_training") or {}
    for s, paper in PAPER_DARCY.items():
        if darcy and int(darcy["s_train"]) == s:
            ours = darcy["final_test_l2"]
            how = (f"trained at s = {s}, {darcy['epochs']} epochs (paper: 500), lr halved every {darcy['step_size']}"
                   + (" (REDUCED)" if _reduced(darcy) else "")
                   + (" (stopped at the --budget deadline)" if darcy.get("stopped_at_deadline") else "")
                   + (f"; steps op by op, the CUDA graph capture failed ({darcy['capture_error']})"
                      if darcy.get("capture_error") else ""))
            lines.append(f"| Darcy | {s} | {paper:.4f} | {ours:.4f} | {_holds(ours, paper, darcy)} | {how} |")
        else:
            lines.append(f"| Darcy | {s} | {paper:.4f} | — | not run | the targets ask for s = 85 only |")
    return "\n".join(lines)


def targets(results: dict[str, Any]) -> str:
    training = results.get("burgers_training") or {}
    zero_shot = results.get("burgers_zero_shot") or {}
    speed_b, speed_d = results.get("burgers_speed") or {}, results.get("darcy_speed") or {}
    data_b, data_d = results.get("burgers_data") or {}, results.get("darcy_data") or {}
    rows = ["| target | measured | reached? |", "| --- | --- | --- |"]
    final = training.get("final_test_l2")
    reduced = " (reduced protocol: " + f"{training.get('epochs')} epochs)" if _reduced(training) else ""
    s_train = int(training.get("s_train", 1024))
    paper = PAPER_BURGERS.get(s_train)
    label = (f"Burgers s = {s_train} ≤ {MUST_FACTOR * paper:.4f} (must), ≤ {paper:.4f} (goal), full protocol"
             if paper else f"Burgers s = {s_train} (no paper value at this resolution)")
    if final is not None and _with_mean(results):
        rows.append(f"| {label} | {final:.4f}{reduced}, on data with a mean mode | "
                    "NOT SHOWN: different data (mean mode) and reduced epochs |")
    elif final is not None and paper:
        verdict = "yes" if final <= paper else ("must only" if final <= MUST_FACTOR * paper else "NO")
        if _reduced(training):
            verdict = "NO: not the full protocol"
        rows.append(f"| {label} | {final:.4f}{reduced} | {verdict} |")
    base = zero_shot.get(str(training.get("s_train", 1024)))
    if zero_shot and base:
        spread = max(abs(v - base) / base for v in zero_shot.values())
        rows.append(f"| zero-shot at {', '.join(sorted(zero_shot, key=int))} within 30 % of s = "
                    f"{training.get('s_train')} | largest deviation {100 * spread:.1f} % | "
                    f"{'yes' if spread <= 0.3 else 'NO'} |")
    darcy = results.get("darcy_training") or {}
    if darcy:
        final, paper = darcy["final_test_l2"], PAPER_DARCY[85]
        verdict = "yes" if final <= paper else ("must only" if final <= MUST_FACTOR * paper else "NO")
        note = f" (reduced protocol: {darcy['epochs']} epochs)" if _reduced(darcy) else ""
        if note:
            verdict = "NO: not the full protocol"
        rows.append(f"| Darcy s = {darcy['s_train']} ≤ {MUST_FACTOR * paper:.4f} (must), ≤ {paper:.4f} (goal), "
                    f"full protocol | {final:.4f}{note} | {verdict} |")
    else:
        rows.append("| Darcy s = 85 ≤ 0.0162 (must), ≤ 0.0108 (goal) | not trained | NO (not run) |")
    alone = results.get("speed_alone") or {}
    for name, speed in (("Burgers", speed_b), ("Darcy", speed_d), ("Burgers", alone.get("burgers")),
                        ("Darcy", alone.get("darcy"))):
        if speed:
            how = "; alone on the GPU" if speed is alone.get(name.lower()) else (
                "; during the run, beside the other experiment" if alone else "")
            name = f"{name} s = {speed['shape'][0]}"
            ratio = speed["ratio_ours_over_torch"]
            graph = speed.get("graph_step") == "GraphStep" and not speed.get("capture_error")
            ours = "our epoch (one CUDA graph per step)" if graph else "our epoch"
            if speed.get("capture_error"):
                ours = f"our epoch (CUDA graph capture FAILED: {speed['capture_error']}; not a graph epoch)"
            rows.append(f"| {name}: {ours} ≤ 1.5 × the PyTorch twin (eager) | {speed['median_epoch_s_ours']:.3f} s vs "
                        f"{speed['median_epoch_s_torch']:.3f} s = {ratio:.2f}× (median of "
                        f"{len(speed['epoch_s_ours'])}{how}) | {'yes' if ratio <= 1.5 else 'NO'} |")
            if "ratio_ours_eager_over_torch" in speed and speed.get("graph_step") == "GraphStep":
                eager = speed["ratio_ours_eager_over_torch"]
                rows.append(f"| {name}: for comparison, our epoch op by op (no graph) | "
                            f"{speed['median_epoch_s_ours_eager']:.3f} s vs {speed['median_epoch_s_torch']:.3f} s = "
                            f"{eager:.2f}× (same epochs) | (not the target: the eager path) |")
    if data_b:
        rows.append(f"| Burgers data generation < 60 s | {data_b['seconds']:.1f} s for {data_b['samples']} samples "
                    f"at s = {data_b['s_solve']} | {'yes' if data_b['seconds'] < 60 else 'NO'} |")
    if data_d and "seconds" in data_d:
        rows.append(f"| Darcy data generation < 60 s | {data_d['seconds']:.1f} s for {data_d['samples']} samples at "
                    f"s = {data_d['s_solve']} ({darcy_solver(data_d)}"
                    + (", beside Burgers' training" if _overlapped(results) else "")
                    + (f"; one SuperLU solve alone on the host CPU: {data_d['solve_seconds_one_process']:.2f} s"
                       if "solve_seconds_one_process" in data_d else "") + ") | "
                    f"{'yes' if data_d['seconds'] < 60 else 'NO'} |")
    elif data_d:  # an older run timed a few solves only
        estimate = 1100 * (data_d["solve_seconds_per_sample_wall"] + data_d["grf_seconds_per_sample"])
        rows.append(f"| Darcy data generation < 60 s | {data_d['solve_seconds_per_sample_wall']:.3f} s per sample "
                    f"(wall, {data_d['workers']} CPU processes, {data_d['samples']} solves at s = {data_d['s_solve']}) "
                    f"→ about {estimate:.0f} s for 1100 (extrapolated) | {'yes' if estimate < 60 else 'NO'} |")
    rows.append("| CI: 100 samples at s = 128, 20 epochs, relative L2 < 0.2 | not part of this run: "
                "`test_fno.py::test_fno_learns_burgers_in_ci` on the CPU | see the test |")
    return "\n".join(rows)


def darcy_solver(data: dict[str, Any]) -> str:
    """Which solver made the Darcy data, in words (runs before ``--darcy-solver`` used the direct one)."""
    if data.get("solver", "direct") == "direct":
        return f"sparse direct solves, SuperLU, on {data['workers']} CPU processes"
    return (f"batched preconditioned CG on the device, relative residual {data['pcg_rtol']:g}, "
            f"{data['pcg_iterations_min']}–{data['pcg_iterations_max']} iterations; one field against SuperLU: "
            f"max relative difference {data['pcg_vs_direct_max_relative_difference']:.1e}")


def figures(folder: Path, results: dict[str, Any]) -> list[str]:
    """Write the figures the results allow; returns their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    training, darcy = results.get("burgers_training"), results.get("darcy_training")
    samples_path = next((folder / n for n in ("samples_burgers.npz", "samples.npz") if (folder / n).exists()), None)
    if training and samples_path is not None and results.get("burgers_zero_shot"):
        samples = np.load(samples_path)
        s = int(training["s_train"])
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), constrained_layout=True)
        for i, ax in enumerate(axes):
            x = np.arange(s) / s
            ax.plot(x, samples[f"a_{s}"][i], color="0.6", lw=1, label="u0 (input)")
            ax.plot(x, samples[f"u_{s}"][i], color="k", lw=2, label="u(1) solver")
            ax.plot(x, samples[f"pred_{s}"][i], "--", color="tab:red", lw=1.5, label="u(1) FNO")
            ax.set_xlabel("x")
            ax.set_title(f"Burgers test sample {i}, s = {s}")
        axes[0].legend(fontsize=8)
        fig.savefig(folder / "predictions.png", dpi=110)
        plt.close(fig)

        zero_shot = results["burgers_zero_shot"]
        resolutions = sorted(int(k) for k in zero_shot)
        fig, ax = plt.subplots(figsize=(5.5, 3.6), constrained_layout=True)
        ax.semilogx(resolutions, [zero_shot[str(r)] for r in resolutions], "o-", base=2,
                    label=f"ours (trained at {s})")
        ax.semilogx(list(PAPER_BURGERS), list(PAPER_BURGERS.values()), "s--", base=2,
                    label="paper (trained at each s)")
        ax.set_xlabel("resolution s")
        ax.set_ylabel("test relative L2")
        ax.set_ylim(0, None)
        ax.legend()
        fig.savefig(folder / "error_vs_resolution.png", dpi=110)
        plt.close(fig)
        written += ["predictions.png", "error_vs_resolution.png"]

    curves = [(name, t) for name, t in (("Burgers", training), ("Darcy", darcy)) if t]
    if curves:
        fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 3.6), constrained_layout=True,
                                 squeeze=False)
        for ax, (name, t) in zip(axes[0], curves):
            ax.semilogy(np.arange(len(t["train_l2"])), t["train_l2"], label="train")
            ax.semilogy(t["test_epochs"], t["test_l2"], "o-", ms=3, label="test")
            ax.set_xlabel("epoch")
            ax.set_ylabel("relative L2")
            ax.set_title(f"{name} s = {t['s_train']}, lr halved every {t['step_size']} epochs")
            ax.legend()
        fig.savefig(folder / "loss.png", dpi=110)
        plt.close(fig)
        written.append("loss.png")

    if darcy and (folder / "samples_darcy.npz").exists():
        samples = np.load(folder / "samples_darcy.npz")
        fig, axes = plt.subplots(1, 4, figsize=(14, 3.3), constrained_layout=True)
        panels = [("coefficient a", samples["a"][0]), ("u solver", samples["u"][0]), ("u FNO", samples["pred"][0]),
                  ("|FNO - solver|", np.abs(samples["pred"][0] - samples["u"][0]))]
        for ax, (title, field) in zip(axes, panels):
            image = ax.imshow(field, origin="lower", extent=(0, 1, 0, 1))
            fig.colorbar(image, ax=ax, shrink=0.8)
            ax.set_title(f"Darcy test sample 0: {title}", fontsize=9)
        fig.savefig(folder / "darcy.png", dpi=110)
        plt.close(fig)
        written.append("darcy.png")
    return written


def load(folder: Path) -> dict[str, Any]:
    """The results of a run: ``results_burgers.json`` and ``results_darcy.json`` merged (environment and
    arguments from the first found, the other's kept as ``darcy_environment`` / ``darcy_args``), or an
    older run's ``results.json``."""
    parts = [json.loads((folder / f"results_{n}.json").read_text()) for n in ("burgers", "darcy")
             if (folder / f"results_{n}.json").exists()]
    if not parts:
        return json.loads((folder / "results.json").read_text())
    alone = {n: json.loads((folder / f"speed_alone_{n}.json").read_text()).get(f"{n}_speed")
             for n in ("burgers", "darcy") if (folder / f"speed_alone_{n}.json").exists()}
    merged: dict[str, Any] = {"errors": {}}
    for part in parts:
        for key, value in part.items():
            if key == "errors":
                merged["errors"].update({f"{part['experiment']}: {k}": v for k, v in value.items()})
            elif key in ("environment", "args", "wall_seconds") and key in merged:
                merged[f"{part['experiment']}_{key}"] = value
            else:
                merged[key] = value
    if alone:
        merged["speed_alone"] = alone
    return merged


def report(folder: Path) -> str:
    results = load(folder)
    env = results["environment"]
    speed_b, data_b = results.get("burgers_speed") or {}, results.get("burgers_data") or {}
    text = [
        "# FNO reproduction: results of one run",
        "",
        f"GPU: {env.get('gpu', 'none')} (driver {env.get('driver_version', '?')}), CuPy {env.get('cupy', '—')}, "
        f"PyTorch {env.get('torch')}, NumPy {env['numpy']}, Python {env['python']}; commit {env['commit']}; "
        f"{env['date_utc']} UTC" + _darcy_run(results) + ". " + _commands(results),
        "",
        "Burgers initial conditions: " + (
            "constant (mean) mode drawn too -- the paper's formula read literally, NOT the authors' generator; "
            "the target u(1) is then nearly constant and relative errors are not comparable with the paper's"
            if _with_mean(results) else
            "zero mean, as the authors' generator (GRF1 with m = 0)") + ".",
        "",
        *([f"Scheduling: Burgers' data and speed stage ran alone; then Burgers trained while Darcy's data were "
           f"generated on the CPU (Darcy waited {results['waited_seconds']['before_data']:.0f} s to start); Darcy's "
           f"speed stage and training ran after Burgers had finished (waited "
           f"{results['waited_seconds']['before_speed']:.0f} s), alone.", ""] if _overlapped(results) else []),
        "## Paper / ours / holds?",
        "",
        table(results),
        "",
        "## Targets of the reproduction",
        "",
        targets(results),
        "",
    ]
    speed_d, data_d = results.get("darcy_speed") or {}, results.get("darcy_data") or {}
    lines = []
    if speed_b and data_b:
        lines.append(f"Burgers: ETDRK4 at s = {data_b['s_solve']} ({data_b['steps']} steps, {data_b['samples']} "
                     f"samples batched on {data_b['batched_on']}): {1e3 * data_b['seconds_per_sample']:.2f} ms per "
                     "sample. "
                     f"FNO inference at s = {speed_b['shape'][0]} (batch {speed_b['batch']}): ours "
                     f"{1e3 * speed_b['inference_s_per_sample_ours']:.3f} ms, PyTorch twin "
                     f"{1e3 * speed_b['inference_s_per_sample_torch']:.3f} ms per sample.")
    if speed_d and data_d and "seconds" in data_d:
        lines.append(f"Darcy: coefficient + solve at s = {data_d['s_solve']}: "
                     f"{1e3 * data_d['seconds_per_sample']:.1f} ms per sample of wall time ({darcy_solver(data_d)}). "
                     f"FNO inference at s = {speed_d['shape'][0]} (batch {speed_d['batch']}): ours "
                     f"{1e3 * speed_d['inference_s_per_sample_ours']:.3f} ms, PyTorch twin "
                     f"{1e3 * speed_d['inference_s_per_sample_torch']:.3f} ms per sample.")
    if lines:
        text += ["## Solver vs FNO time per sample", "", *[line + "\n" for line in lines]]
    errors = results.get("errors") or {}
    text += ["## Errors during the run", "", ", ".join(errors) if errors else "none", ""]
    return "\n".join(text)


def _overlapped(results: dict[str, Any]) -> bool:
    """Darcy ran with ``--overlap`` (it waited for Burgers' marker files); runs before this check recorded
    ``waited_seconds`` always, so the Darcy arguments decide."""
    args = results.get("darcy_args") or results.get("args") or {}
    return "waited_seconds" in results and any(str(args.get(k)) != "None" for k in ("start_after", "speed_after"))


def _darcy_run(results: dict[str, Any]) -> str:
    """Darcy's commit and date when its run was another call than Burgers' (its own ``environment``)."""
    other = results.get("darcy_environment") or {}
    env = results["environment"]
    if not other or (other.get("commit"), other.get("date_utc")) == (env.get("commit"), env.get("date_utc")):
        return ""
    return f" (Burgers); Darcy: commit {other.get('commit')}, {other.get('date_utc')} UTC, a separate call"


def _cli(args: dict[str, str]) -> str:
    flags = {"False": None, "True": "", "None": None}  # store_true options: the flag alone, or nothing
    options = " ".join(f"--{k.replace('_', '-')}" + (f" {v}" if flags.get(v, v) else "")
                       for k, v in args.items() if k not in ("out", "commit") and flags.get(v, v) is not None)
    return f"`python -m hyperion.repro.fno.run {options}`"


def _commands(results: dict[str, Any]) -> str:
    if "darcy_args" in results:
        how = "overlapped, see Scheduling" if _overlapped(results) else "run side by side or in turn"
        return f"Commands ({how}): {_cli(results['args'])} and {_cli(results['darcy_args'])}."
    return f"Command: {_cli(results['args'])}."


def main(argv: list[str] | None = None) -> int:
    folder = Path((argv or sys.argv[1:] or ["fno_results"])[0])
    (folder / "REPORT.md").write_text(report(folder))
    figures(folder, load(folder))
    print((folder / "REPORT.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
