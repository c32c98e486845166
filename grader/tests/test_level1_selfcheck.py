"""Self-check of level 1's hidden tests on the real reference (issue 3, "Self-checks"):

* the reference gets full marks, within the time budget (5 minutes on 2 cores; it takes ~10 s);
* the freshly generated skeleton gets zero on every stubbed task, without a grader error;
* a skeleton with one task filled from the reference gets exactly that task's points (a representative
  subset by default; ``HYPERION_SELFCHECK_ALL=1`` checks every task, ~2 minutes).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from hyperion_grader.judge import GradeConfig, GradeReport, grade
from hyperion_grader.levels import Registry, find_root
from hyperion_grader.selfcheck import not_run
from hyperion_grader.skeleton import generate_level, level_regions
from hyperion_grader.tasks import load_tasks

ROOT = find_root(Path(__file__).resolve().parent)
REGISTRY = Registry.discover(ROOT)
LEVEL = REGISTRY.get(1)
TIME_BUDGET_S = 300
# one per kind of probe: pure tuples, Function backward on arrays, the graph walk, partial credit + speed
# (EXCLUSIVE), optimizer state, data loading, mocks
REPRESENTATIVE = ["1.2", "1.5", "1.8", "1.11", "1.15", "1.16", "1.17"]
# End-to-end tasks too long for CI's budget, graded here only with HYPERION_SELFCHECK_ALL=1: none now. Task 1.25
# (the MNIST MLP, 3 epochs) took 97 s once and was left out; it takes ~12 s in the grader on the 2-core build
# machine (2026-12-07), so CI grades it (its short version, tests/test_examples_mnist.py, stays too).
SLOW: set[str] = set()

pytestmark = pytest.mark.skipif(not any(LEVEL.hidden_dir.glob("task_*.py")), reason="no level-1 hidden tests")


def _grade(submission: Path, cache: Path) -> GradeReport:
    only = None
    if not os.environ.get("HYPERION_SELFCHECK_ALL"):
        only = [t.task for t in load_tasks(LEVEL.hidden_dir) if t.task not in SLOW]
    return grade(GradeConfig(REGISTRY, 1, submission, cache_dir=cache, only=only))


def _scores(report: GradeReport) -> dict[str, float]:
    return {r.task.task: r.score for r in report.results}


def _failures(report: GradeReport) -> str:
    return "\n".join(
        f"  {r.task.task}: {r.score:g}/{r.task.points:g} {r.first_failure}"
        for r in report.results
        if r.score != r.task.points
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("level1-refcache")


@pytest.fixture(scope="module")
def reference(cache) -> tuple[GradeReport, float]:
    t0 = time.monotonic()
    report = _grade(LEVEL.path, cache)  # first run: nothing cached, every reference probe runs
    return report, time.monotonic() - t0


@pytest.fixture(scope="module")
def stubbed() -> set[str]:
    return {r.task for r in level_regions(LEVEL.path)}


def test_reference_full_marks_in_time(reference):
    report, seconds = reference
    assert not report.grader_errors, report.grader_errors
    skipped = not_run(report)  # Task 1.24 (CUDA) scores 0 "not run" on a machine without a GPU
    lost = {r.task.task for r in report.results if r.score != r.task.points} - skipped
    assert not lost, "reference lost points:\n" + _failures(report)
    assert seconds < TIME_BUDGET_S, f"grading the reference took {seconds:.0f}s (budget {TIME_BUDGET_S}s)"


def test_every_marked_task_has_hidden_tests(reference, stubbed):
    graded = {r.task.task for r in reference[0].results}
    assert stubbed <= graded, f"marked tasks without hidden tests: {sorted(stubbed - graded)}"


def test_fresh_skeleton_scores_zero(reference, stubbed, cache, tmp_path):
    skel = tmp_path / "skeleton" / LEVEL.folder
    generate_level(LEVEL.path, skel)
    report = _grade(skel, cache)
    assert not report.grader_errors, report.grader_errors
    nonzero = {t: s for t, s in _scores(report).items() if t in stubbed and s != 0}
    assert not nonzero, f"the fresh skeleton scored on {nonzero}"


TASKS = None if os.environ.get("HYPERION_SELFCHECK_ALL") else REPRESENTATIVE


@pytest.mark.parametrize(
    "task",
    TASKS or sorted({r.task for r in level_regions(LEVEL.path)}, key=lambda t: tuple(map(int, t.split(".")))),
)
def test_one_task_filled_scores_exactly_its_points(task, reference, stubbed, cache, tmp_path):
    points = {r.task.task: r.task.points for r in reference[0].results}
    sub = tmp_path / f"only_{task}" / LEVEL.folder
    generate_level(LEVEL.path, sub, keep=frozenset({task}))
    report = _grade(sub, cache)
    assert not report.grader_errors, report.grader_errors
    got = {t: s for t, s in _scores(report).items() if t in stubbed}
    skipped = not_run(reference[0])
    expected = {t: (points[t] if t == task and t not in skipped else 0.0) for t in got}
    assert got == expected, f"only task {task} filled:\n" + "\n".join(
        f"  {r.task.task}: {r.score:g}/{r.task.points:g} {r.first_failure}"
        for r in report.results
        if r.task.task in stubbed and r.score != expected[r.task.task]
    )


def test_the_skeletons_public_tests_collect_without_running_learner_code(tmp_path):
    """A learner's fresh workspace must be testable: collecting its public tests may not call a stub."""
    import subprocess
    import sys

    target = tmp_path / LEVEL.folder
    generate_level(LEVEL.path, target)
    lower = [str(REGISTRY.get(n).path / "src") for n in range(1)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target / "src"), *lower])}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            str(target / "tests"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "error" not in result.stdout.splitlines()[-1]


def test_a_broken_file_is_named_with_its_line_in_the_first_failure(tmp_path, cache):
    """A learner's syntax error costs the tasks that import it, and the report says where it is."""
    target = tmp_path / LEVEL.folder
    generate_level(LEVEL.path, target, keep=frozenset({"1.3"}))
    conv = target / "src" / "hyperion" / "tensor" / "ops" / "conv.py"
    lines = conv.read_text().splitlines()
    conv.write_text("\n".join([*lines, "def broken(:"]) + "\n")
    report = grade(GradeConfig(REGISTRY, 1, target, cache_dir=cache, only=["1.3"]))
    (result,) = report.results
    assert not report.grader_errors and result.score == 0
    assert (
        result.first_failure
        == f"SyntaxError: invalid syntax (at hyperion/tensor/ops/conv.py:{len(lines) + 1})"
    )


def test_task_1_2_gives_partial_credit_per_function(tmp_path, cache):
    """Permute, expand, view and index are independent: each right one earns its share of 1.2's points."""
    target = tmp_path / LEVEL.folder
    generate_level(LEVEL.path, target, keep=frozenset({"1.2"}))
    strides = target / "src" / "hyperion" / "tensor" / "strides.py"
    strides.write_text(strides.read_text() + '\n\ndef view_strides(shape, strides, new_shape):\n'
                       '    raise NotImplementedError("Task 1.2: view_strides")\n')
    report = grade(GradeConfig(REGISTRY, 1, target, cache_dir=cache, only=["1.2"]))
    (result,) = report.results
    assert not report.grader_errors
    assert result.score == result.task.points * 3 / 4, _failures(report)
    assert [p.name for p in result.probes if not p.passed] == ["view_cases"]
