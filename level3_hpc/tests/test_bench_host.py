"""The host benchmark's summary: steady-state epochs (each process's first dropped), per-run medians,
and Hyperion-as-shipped over PyTorch."""

from __future__ import annotations

import pytest

from hyperion.runtime.bench_host import summarize


def test_summary_drops_first_epochs_and_takes_the_ratio_of_medians():
    rows = [
        {"lib": "hyperion", "mode": "steady", "seconds": [9.0, 2.0, 2.2, 2.1]},
        {"lib": "hyperion", "mode": "steady", "seconds": [8.0, 2.4, 2.4, 2.6]},
        {"lib": "torch", "mode": "glibc defaults", "seconds": [1.0, 2.0, 2.0, 2.0]},
        {"lib": "torch", "mode": "glibc defaults", "seconds": [1.0, 2.0, 2.0, 2.0]},
    ]
    summary = summarize(rows)
    ours = summary["variants"]["hyperion (steady)"]
    assert ours["runs"] == [2.1, 2.4]  # the 9 s and 8 s first epochs are warm-up, not steady state
    assert ours["median"] == pytest.approx(2.25) and ours["spread"] == pytest.approx(2.4 / 2.1)
    assert summary["hyperion_over_torch"] == pytest.approx(2.25 / 2.0)


def test_summary_without_a_torch_run_has_no_ratio():
    summary = summarize([{"lib": "hyperion", "mode": "steady", "seconds": [3.0]}])
    assert summary["hyperion_over_torch"] is None and summary["variants"]["hyperion (steady)"]["runs"] == [3.0]
