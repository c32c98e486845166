"""The reproduction command end to end at toy size on the CPU: run.py writes results, report.py the table."""

from __future__ import annotations

import json

from hyperion.repro.fno import report, run


def test_run_and_report_at_toy_size(tmp_path):
    out = tmp_path / "fno"
    code = run.main(["--device", "cpu", "--out", str(out), "--train", "20", "--test", "20", "--epochs", "2",
                     "--step-size", "1", "--s-solve", "256", "--s-train", "64", "--dt", "0.01",
                     "--speed-epochs", "0", "--darcy-solves", "0", "--eval-every", "1", "--commit", "test"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["errors"] == {}
    assert results["burgers_training"]["epochs"] == 2 and len(results["burgers_training"]["test_l2"]) == 2
    assert set(results["burgers_zero_shot"]) == {"64", "256"}  # the training resolution and every paper one <= 256
    assert report.main([str(out)]) == 0
    text = (out / "REPORT.md").read_text()
    assert "| Burgers | 256 | 0.0149 |" in text and "| Darcy | 85 | 0.0108 | — | not run |" in text
    assert "zero mean, as the authors' generator" in text
    for figure in ("predictions.png", "error_vs_resolution.png", "loss.png"):
        assert (out / figure).stat().st_size > 0
