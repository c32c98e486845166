"""The FlashAttention reproduction's report (no GPU needed): ratio columns computed from the timings, level 2's
07 column only where it was timed, the kernels under test named."""
import re

from hyperion.transformer.flash import repro


def _res(with07: bool) -> dict:
    row = {"N": 1024, "causal": False, "standard_fwd_ms": 3.0, "sdpa_fwd_ms": 1.2, "ours_fwd_ms": 1.0,
           "standard_fb_ms": 8.0, "sdpa_fb_ms": 5.0, "ours_fb_ms": 4.0, "ours_fb_tflops": 100.0,
           "standard_fwd_mb": 64.0, "sdpa_fwd_mb": 2.0, "ours_fwd_mb": 2.0}
    if with07:
        row["ours07_fwd_ms"] = 1.5
    return {"gpu": "G", "driver": 1, "torch": "t", "cupy": "c", "ours": "the kernels under test", "commit": "abc1234",
            "speed": [row]}


def test_speed_table_gives_speed_ups_over_standard_and_sdpa():
    text = repro.markdown(_res(with07=False))
    line = next(x for x in text.splitlines() if x.startswith("| 1024 "))
    cells = [c.strip() for c in line.strip("|").split("|")]
    header = next(x for x in text.splitlines() if x.startswith("| N "))
    names = [c.strip() for c in header.strip("|").split("|")]
    assert len(cells) == len(names)
    got = dict(zip(names, cells, strict=True))
    assert got["ours × standard fwd / f+b"] == "3.00 / 2.00"
    assert got["ours × SDPA fwd / f+b"] == "1.20 / 1.25"
    assert got["standard/ours"] == "32.0x"
    assert "ours 07 fwd ms" not in names
    assert "the kernels under test" in text and "commit abc1234" in text


def test_commit_is_the_checkouts():
    commit = repro._commit()
    assert commit == "unknown" or re.fullmatch(r"[0-9a-f]{7,40}(\+dirty)?", commit)


def test_level_two_table_keeps_its_second_forward():
    text = repro.markdown(_res(with07=True))
    header = next(x for x in text.splitlines() if x.startswith("| N "))
    names = [c.strip() for c in header.strip("|").split("|")]
    line = next(x for x in text.splitlines() if x.startswith("| 1024 "))
    assert dict(zip(names, [c.strip() for c in line.strip("|").split("|")], strict=True))["ours 07 fwd ms"] == "1.500"
    separator = next(x for x in text.splitlines() if x.startswith("|---"))
    assert separator.count("---") == len(names)
