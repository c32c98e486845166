"""The reproduction command end to end at toy size on the CPU: run.py writes results, report.py the table."""

from __future__ import annotations

import json
from pathlib import Path

from hyperion.repro.fno import report, run


def test_run_and_report_at_toy_size(tmp_path):
    out = tmp_path / "fno"
    code = run.main(["--device", "cpu", "--out", str(out), "--train", "20", "--test", "20", "--epochs", "2",
                     "--step-size", "1", "--s-solve", "256", "--s-train", "64", "--dt", "0.01",
                     "--speed-epochs", "0", "--eval-every", "1", "--darcy-s", "41", "--darcy-subsample", "2",
                     "--darcy-modes", "4", "--workers", "1", "--commit", "test"])
    assert code == 0
    burgers = json.loads((out / "results_burgers.json").read_text())
    darcy = json.loads((out / "results_darcy.json").read_text())
    assert burgers["errors"] == {} and darcy["errors"] == {}
    assert burgers["burgers_training"]["epochs"] == 2 and len(burgers["burgers_training"]["test_l2"]) == 2
    assert set(burgers["burgers_zero_shot"]) == {"64", "256"}  # the training resolution and every paper one <= 256
    assert darcy["darcy_data"]["samples"] == 40 and darcy["darcy_training"]["s_train"] == 21
    assert report.main([str(out)]) == 0
    text = (out / "REPORT.md").read_text()
    assert "| Burgers | 256 | 0.0149 |" in text and "| Darcy | 85 | 0.0108 | — | not run |" in text
    assert "zero mean, as the authors' generator" in text and "Darcy s = 21 ≤ 0.0162 (must)" in text
    for figure in ("predictions.png", "error_vs_resolution.png", "loss.png", "darcy.png"):
        assert (out / figure).stat().st_size > 0


def test_darcy_data_by_batched_pcg_is_recorded_and_reported(tmp_path):
    """``--darcy-solver pcg``: the solver, its iterations and its agreement with SuperLU on one field go
    into the results and the report."""
    out = tmp_path / "pcg"
    code = run.main(["--experiment", "darcy", "--device", "cpu", "--out", str(out), "--train", "6", "--test", "3",
                     "--epochs", "0", "--speed-epochs", "0", "--darcy-s", "41", "--darcy-subsample", "2",
                     "--darcy-solver", "pcg", "--commit", "test"])
    assert code == 0
    data = json.loads((out / "results_darcy.json").read_text())["darcy_data"]
    assert data["solver"] == "pcg" and data["samples"] == 9 and 0 < data["pcg_iterations_max"] < 40
    assert data["pcg_vs_direct_max_relative_difference"] < 1e-8 and data["pcg_relative_residual_max"] <= 1e-10
    assert report.main([str(out)]) == 0
    assert "batched preconditioned CG on the device, relative residual 1e-10" in (out / "REPORT.md").read_text()


def test_report_of_a_recorded_gpu_run_fills_every_field():
    """The report of a committed H200 run (both experiments, with speed stages): every value filled in,
    no template placeholder left (the Darcy inference line once printed ``{speed_d['shape'][0]}``)."""
    folder = Path(__file__).parents[1] / "results" / "fno_h200_3c0586b_check"
    text = report.report(folder)
    assert "{" not in text and "}" not in text
    assert "FNO inference at s = 85 (batch 20)" in text and "FNO inference at s = 1024 (batch 20)" in text
