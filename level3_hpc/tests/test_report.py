"""The committed REPORT.md is exactly what the committed data of its GPU run renders to (CPU only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hyperion.kernels import report

LEVEL = Path(__file__).resolve().parents[1]
RUN = LEVEL / "results" / "h200-run"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    pytest.importorskip("matplotlib")
    if not (RUN / "results.json").is_file():
        pytest.skip(f"no recorded GPU run at {RUN}")
    out = tmp_path_factory.mktemp("report")
    text = report.render(RUN, out / "REPORT.md", out / "img")
    return text, out


def test_committed_report_matches_its_data(rendered):
    text, _ = rendered
    committed = (LEVEL / "REPORT.md").read_text(encoding="utf-8")
    assert text == committed, "REPORT.md is stale: rerun python -m hyperion.kernels.report --run " + str(RUN)


def test_report_names_the_gpu_and_has_every_plot(rendered):
    text, out = rendered
    assert "NVIDIA H200" in text and "driver" in text and "commit" in text
    for name in ("matmul_fp32.png", "matmul_tensorcore.png", "softmax.png", "layernorm.png", "fusion.png"):
        assert (out / "img" / name).stat().st_size > 1000
        assert f"img/{name}" in text


def test_ncu_reader_normalises_units(tmp_path):
    csv = tmp_path / "ncu.csv"
    header = '"ID","Process ID","Kernel Name","Block Size","Grid Size","Metric Name","Metric Unit","Metric Value"\n'
    rows = [
        '"0","1","k","(1, 1, 1)","(1, 1, 1)","gpu__time_duration.sum","ns","1,500"\n',
        '"0","1","k","(1, 1, 1)","(1, 1, 1)","dram__throughput.avg.pct_of_peak_sustained_elapsed","%","12.5"\n',
        '"1","1","k2","(1, 1, 1)","(1, 1, 1)","gpu__time_duration.sum","msecond","2"\n',
    ]
    csv.write_text("==PROF== noise\n" + header + "".join(rows))
    launches = report.read_ncu(csv)
    assert [e["kernel"] for e in launches] == ["k", "k2"]
    assert launches[0]["gpu__time_duration.sum"] == pytest.approx(1.5)  # microseconds
    assert launches[1]["gpu__time_duration.sum"] == pytest.approx(2000.0)
    assert launches[0]["dram__throughput.avg.pct_of_peak_sustained_elapsed"] == 12.5
