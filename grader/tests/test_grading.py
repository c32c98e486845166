import json

import pytest
from conftest import FULL, make_submission, run_grade, scores

from hyperion_grader.cli import main
from hyperion_grader.skeleton import generate_level


def test_reference_full_marks_including_speed_task(toy, cache_dir):
    report = run_grade(toy, None, cache_dir, only=None)
    assert scores(report) == {**FULL, "99.4": 1.0}
    assert not report.grader_errors


def test_skeleton_scores_zero_without_grader_error(toy, cache_dir, tmp_path):
    skel = tmp_path / "skel" / "level99_toy"
    generate_level(toy.get(99).path, skel)
    report = run_grade(toy, skel, cache_dir, only=None)
    assert scores(report) == {"99.1": 0, "99.2": 0, "99.3": 0, "99.4": 0}
    assert not report.grader_errors
    first = {r.task.task: r.first_failure for r in report.results}
    assert first["99.3"] == "not implemented: Task 99.3: Counter.total"


def test_one_task_filled_scores_exactly_that_task(toy, cache_dir, tmp_path):
    for task, points in FULL.items():
        sub = tmp_path / task / "level99_toy"
        generate_level(toy.get(99).path, sub, keep=frozenset({task}))
        assert scores(run_grade(toy, sub, cache_dir)) == {t: (points if t == task else 0) for t in FULL}


def test_wrong_answer_fails_with_first_line(toy, cache_dir):
    sub = make_submission(toy, "wrong", {"99.2": "return as_array(a) * (k + 1)"})
    report = run_grade(toy, sub, cache_dir)
    assert scores(report) == {**FULL, "99.2": 0}
    assert "mismatch at (0,)" in report.results[1].first_failure


def test_own_lower_levels(toy, cache_dir, tmp_path):
    hand_in = tmp_path / "handin"
    generate_level(toy.get(98).path, hand_in / "level98_base")  # level 98 not done: as_array stubbed
    sub = make_submission(toy, "x", {})
    (hand_in / "level99_toy").parent.mkdir(exist_ok=True)
    sub.rename(hand_in / "level99_toy")
    assert scores(run_grade(toy, hand_in / "level99_toy", cache_dir)) == FULL
    own = run_grade(toy, hand_in / "level99_toy", cache_dir, use_own_lower=True)
    assert scores(own) == {"99.1": 0, "99.2": 0, "99.3": 2.0}  # 99.3 does not use as_array
    assert "Task 98.1: as_array" in own.results[0].first_failure


def test_cli_grade_start_json_and_exit_codes(toy, capsys):
    root = ["--root", str(toy.root)]
    assert main([*root, "grade", "--level", "99", "--task", "99.2"]) == 0  # no workspace: the reference
    data = json.loads((toy.root / "grades" / "level99.json").read_text())
    assert data["score"] == 5 and data["max_score"] == 5 and data["tests"][0]["name"] == "Task 99.2: Scale"
    assert set(data["tests"][0]) >= {"name", "score", "max_score", "output", "visibility"}
    assert main([*root, "start", "--level", "99"]) == 0
    ops = toy.root / "workspace" / "level99_toy" / "src/hyperion/toy/ops.py"
    ops.write_text(ops.read_text() + "\n# my work\n")
    assert main([*root, "start", "--level", "99"]) == 0
    assert ops.read_text().endswith("# my work\n")  # never overwritten without --force
    out = toy.root / "g.json"
    assert main([*root, "grade", "--level", "99", "--task", "99.1", "--json", str(out)]) == 0  # workspace
    assert json.loads(out.read_text())["score"] == 0
    assert (
        main([*root, "grade", "--level", "99", "--task", "99.1", "--json", str(out), "--min-score", "1"]) == 1
    )
    assert (
        main(
            [
                *root,
                "grade",
                "--level",
                "99",
                "--task",
                "99.1",
                "--reference",
                "--json",
                str(out),
                "--min-score",
                "1",
            ]
        )
        == 0
    )
    reference = [*root, "grade", "--level", "99", "--task", "99.1", "--reference", "--json", str(out)]
    assert main([*reference, "--min-score", "100"]) == 0  # a percentage: full marks pass 100 (points: 5 < 100)
    with pytest.raises(SystemExit) as refused:
        main([*reference, "--min-score", "150"])
    assert refused.value.code == 2
    assert main([*root, "start", "--level", "99", "--force"]) == 0
    assert not ops.read_text().endswith("# my work\n")
    assert main([*root, "grade", "--level", "7"]) == 2  # the grader itself cannot run


def test_selfcheck_on_toy_level(toy, cache_dir):
    from hyperion_grader.selfcheck import self_check

    lines: list[str] = []
    assert self_check(toy, 99, filled=["99.2"], log=lines.append, cache_dir=cache_dir) == []
    assert lines[0].startswith("reference: 11/11") and lines[1].startswith("skeleton: 0/11")
