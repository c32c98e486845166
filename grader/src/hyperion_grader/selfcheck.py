"""The grader's self-check for one level (run by ``nox -s tests`` in CI):

1. the reference gets full marks; 2. the fresh skeleton gets zero on every stubbed task, with no grader
error; 3. a skeleton with one task filled from the reference gets exactly that task's points.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hyperion_grader.judge import GradeConfig, GradeReport, grade
from hyperion_grader.levels import Registry
from hyperion_grader.skeleton import generate_level, level_regions

NOT_RUN = "not run: "  # a check's message when the machine lacks what the task needs (a GPU, a corpus)


def not_run(report: GradeReport) -> set[str]:
    """Tasks that could not run on this machine ("not run: no CUDA GPU ...", "not run: no corpus ..."):
    they score 0 for everyone here, so self-checks expect 0 for them, not full marks, and say so."""
    return {r.task.task for r in report.results if r.score == 0 and (r.first_failure or "").startswith(NOT_RUN)}


def _scores(report: GradeReport) -> dict[str, float]:
    return {r.task.task: r.score for r in report.results}


def self_check(
    registry: Registry,
    number: int,
    filled: list[str] | None = None,
    log=print,
    cache_dir: Path | None = None,
    timeout_scale: float = 1.0,
) -> list[str]:
    """Problems found (empty: the level's grading is sound). ``filled``: tasks for step 3 (all: None)."""
    level = registry.get(number)
    problems: list[str] = []

    def run(submission: Path) -> GradeReport:
        report = grade(
            GradeConfig(registry, number, submission, cache_dir=cache_dir, timeout_scale=timeout_scale)
        )
        problems.extend(f"{submission.name}: grader error {e}" for e in report.grader_errors)
        return report

    ref = run(level.path)
    skipped = not_run(ref)  # e.g. CUDA tasks without a GPU: 0 for everyone here, and said so
    log(f"reference: {ref.score:g}/{ref.max_score:g} in {ref.seconds:.1f}s"
        + (f" (not run on this machine: {', '.join(sorted(skipped))})" if skipped else ""))
    problems += [
        f"reference: task {r.task.task} got {r.score:g}/{r.task.points:g}: {r.first_failure}"
        for r in ref.results
        if r.score != r.task.points and r.task.task not in skipped
    ]
    stubbed = {r.task for r in level_regions(level.path)}
    points = {r.task.task: r.task.points for r in ref.results}
    with tempfile.TemporaryDirectory(prefix="hyperion-selfcheck-") as tmp:
        skel = Path(tmp) / "skeleton" / level.folder
        generate_level(level.path, skel)
        report = run(skel)
        log(f"skeleton: {report.score:g}/{report.max_score:g} in {report.seconds:.1f}s")
        problems += [
            f"skeleton: task {t} scored {s:g}, expected 0"
            for t, s in _scores(report).items()
            if t in stubbed and s != 0
        ]
        for task in filled if filled is not None else sorted(stubbed & set(points)):
            one = Path(tmp) / f"only_{task}" / level.folder
            generate_level(level.path, one, keep=frozenset({task}))
            scores = _scores(run(one))
            expected = {t: (points[t] if t == task and t not in skipped else 0.0) for t in scores if t in stubbed}
            got = {t: s for t, s in scores.items() if t in stubbed}
            log(f"only task {task}: {sum(got.values()):g} (expected {sum(expected.values()):g})")
            if got != expected:
                problems.append(f"only task {task} filled: scores {got}, expected {expected}")
    return problems
