"""What a learner reads when a check fails: argument names, plain numbers, the count kept when cut."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from hyperion_grader.checks import assert_close, assert_match, shorten
from hyperion_grader.judge import GradeReport, ProbeResult, TaskResult
from hyperion_grader.report import print_table
from hyperion_grader.tasks import load_tasks


def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as failed:
        fn(*args, **kwargs)
    return str(failed.value)


def test_numbers_are_printed_plainly():
    got = _message(assert_close, np.array([1.0, 2.0], np.float32), np.array([1.0, 2.5], np.float32),
                   name="gradient with respect to b")
    assert got == "gradient with respect to b: mismatch at (1,): got 2.0, expected 2.5 (1 of 2 elements differ)"
    assert "np." not in _message(assert_match, {"n": np.int64(3)}, {"n": np.int64(4)})
    assert "np." not in _message(assert_match, np.bool_(True), np.bool_(False))


def test_a_cut_line_keeps_its_end():
    text = "x" * 300 + " (17 of 4096 elements differ)"
    cut = shorten(text, 160)
    assert len(cut) == 160 and cut.endswith("(17 of 4096 elements differ)") and cut.startswith("xxx")
    assert shorten("short", 160) == "short"


def test_the_table_keeps_the_count_of_differing_elements(toy):
    task = load_tasks(toy.get(99).hidden_dir)[0]
    name = "Matmul.backward for (64, 128) @ (128, 32): gradient with respect to b " * 3
    message = _message(assert_close, np.zeros((128, 32)), np.ones((128, 32)), name=name.strip())
    assert len(message) > 160
    result = TaskResult(task, 0.0, 0.1, probes=[ProbeResult("probe", False, message, 0.1)])
    console = Console(record=True, width=400)
    print_table(GradeReport(toy.get(99), toy.get(99).path, [result], 0.1), console)
    assert "(4096 of 4096 elements differ)" in console.export_text()
