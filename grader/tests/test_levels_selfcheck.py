"""Self-check of levels 0 and 2 on their real references, as ``test_level1_selfcheck.py`` does for level 1:

* the reference gets full marks and the freshly generated skeleton zero on every stubbed task, with
  no grader error;
* a skeleton with one task filled from the reference scores exactly that task's points (a subset, one
  task per kind of probe; ``HYPERION_SELFCHECK_ALL=1`` checks every task);
* the skeleton's public tests collect without calling a stub.

Level 3's tasks are CUDA kernels: without a GPU they score "not run", so it is checked on a GPU machine
with ``python -m hyperion_grader selfcheck --level 3``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyperion_grader.judge import GradeConfig, GradeReport, grade
from hyperion_grader.levels import Registry, find_root
from hyperion_grader.selfcheck import not_run
from hyperion_grader.skeleton import generate_level, level_regions
from hyperion_grader.tasks import load_tasks

ROOT = find_root(Path(__file__).resolve().parent)
REGISTRY = Registry.discover(ROOT)
# one task per kind of probe: arrays in/out, an iterative method, a whole module, numba, speed + memory
REPRESENTATIVE = {0: ["0.2", "0.5", "0.8"], 2: ["2.1", "2.6", "2.7", "2.9"], 3: ["3.9", "3.10", "3.11"],
                  4: ["4.1", "4.2", "4.3"]}  # 3: its CPU tasks (3.1-3.8 are CUDA: "not run" here)
# End-to-end tasks too long for CI's budget, graded here only with HYPERION_SELFCHECK_ALL=1: none now. Task 2.16
# (a GPT trained for 200 steps) was left out here as slow (853 s once, at load average ~20) -- and that hid
# that it scored 0 in the sealed box (no HOME there: bwrap's --clearenv wiped the environment the judge set).
# It takes ~10 s in the grader on the 2-core build machine (2026-12-07), so CI grades it.
SLOW: dict[int, set[str]] = {}
LEVELS = [n for n in REPRESENTATIVE if any(lvl.number == n for lvl in REGISTRY.levels)]


def _order(task: str) -> tuple[int, ...]:
    return tuple(map(int, task.split(".")))


def _stubbed(number: int) -> set[str]:
    return {r.task for r in level_regions(REGISTRY.get(number).path)}


def _grade(number: int, submission: Path, cache: Path) -> GradeReport:
    only = None
    if SLOW.get(number) and not os.environ.get("HYPERION_SELFCHECK_ALL"):
        only = [t.task for t in load_tasks(REGISTRY.get(number).hidden_dir) if t.task not in SLOW[number]]
    return grade(GradeConfig(REGISTRY, number, submission, cache_dir=cache, only=only))


def _failures(report: GradeReport, only: set[str] | None = None) -> str:
    return "\n".join(
        f"  {r.task.task}: {r.score:g}/{r.task.points:g} {r.first_failure}"
        for r in report.results
        if r.score != r.task.points and (only is None or r.task.task in only)
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("levels-refcache")


@pytest.fixture(scope="module")
def references(cache) -> dict[int, GradeReport]:
    return {n: _grade(n, REGISTRY.get(n).path, cache / f"level{n}") for n in LEVELS}


@pytest.mark.parametrize("number", LEVELS)
def test_reference_full_marks_and_every_marked_task_graded(number, references):
    report = references[number]
    assert not report.grader_errors, report.grader_errors
    lost = {r.task.task for r in report.results if r.score != r.task.points} - not_run(report)
    assert not lost, f"level {number} reference lost points:\n" + _failures(report)
    graded = {r.task.task for r in report.results}
    missing = _stubbed(number) - graded
    assert not missing, f"level {number}: marked tasks without hidden tests: {sorted(missing)}"


@pytest.mark.parametrize("number", LEVELS)
def test_fresh_skeleton_scores_zero(number, references, cache, tmp_path):
    level = REGISTRY.get(number)
    skeleton = tmp_path / level.folder
    generate_level(level.path, skeleton)
    report = _grade(number, skeleton, cache / f"level{number}")
    assert not report.grader_errors, report.grader_errors
    stubbed = _stubbed(number)
    scored = {r.task.task: r.score for r in report.results if r.task.task in stubbed and r.score != 0}
    assert not scored, f"level {number}: the fresh skeleton scored on {scored}"


def _one_task_cases() -> list[tuple[int, str]]:
    every = bool(os.environ.get("HYPERION_SELFCHECK_ALL"))
    return [
        (n, task)
        for n in LEVELS
        for task in (sorted(_stubbed(n), key=_order) if every else REPRESENTATIVE[n])
    ]


@pytest.mark.parametrize(("number", "task"), _one_task_cases())
def test_one_task_filled_scores_exactly_its_points(number, task, references, cache, tmp_path):
    level = REGISTRY.get(number)
    points = {r.task.task: r.task.points for r in references[number].results}
    submission = tmp_path / level.folder
    generate_level(level.path, submission, keep=frozenset({task}))
    report = _grade(number, submission, cache / f"level{number}")
    assert not report.grader_errors, report.grader_errors
    stubbed = _stubbed(number)
    got = {r.task.task: r.score for r in report.results if r.task.task in stubbed}
    skipped = not_run(references[number])
    expected = {t: (points[t] if t == task and t not in skipped else 0.0) for t in got}
    wrong = {t for t in got if got[t] != expected[t]}
    assert not wrong, f"level {number}, only task {task} filled:\n" + _failures(report, wrong)


@pytest.mark.parametrize("number", LEVELS)
def test_the_skeletons_public_tests_collect_without_running_learner_code(number, tmp_path):
    level = REGISTRY.get(number)
    target = tmp_path / level.folder
    generate_level(level.path, target)
    lower = [str(lvl.src) for lvl in REGISTRY.below(number)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target / "src"), *lower])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", str(target / "tests")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "error" not in result.stdout.splitlines()[-1]
