"""Class-scale grading: ``batch`` (W hand-ins at a time, resumable), Gradescope's zip, the k8s Job."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import make_submission

from hyperion_grader import box
from hyperion_grader.batch import Outcome, grade_one, run_batch, run_in_forkserver, write_csv
from hyperion_grader.gradescope import build_zip, unpack
from hyperion_grader.judge import GradeConfig, Judge
from hyperion_grader.k8s import job_manifest
from hyperion_grader.tasks import load_tasks

TASKS = ["--task", "99.1", "--task", "99.2", "--task", "99.3"]
HAND_INS = {
    "full": {},
    "skeleton": {t: "raise NotImplementedError" for t in ("99.1", "99.2", "99.3")},
    "partial": {"99.2": "return as_array(a) * (k + 1)"},
    "loops": {"99.2": "while True:\n    pass"},
    "exits": {"99.1": "import os\nos._exit(0)"},
    "writes_next_door": {"99.3": "import pathlib\nfor p in pathlib.Path('..').glob('*/src'):\n"
                                 "    (p / 'x.txt').write_text('x')\nreturn 0.0"},
}


# the tests' class: every kind, two hand-ins that report their box's uid (in 99.3's failure message),
# and the slow one (an endless loop, a 10 s time limit here) last, so it runs while the queue is empty
UID = {"99.3": "import os\nreturn float(os.getuid())"}
CLASS = {**{k: v for k, v in HAND_INS.items() if k != "loops"}, "uid_a": UID, "uid_b": UID,
         "zz_loops": HAND_INS["loops"]}
FLAGS = [*TASKS, "--timeout-scale", "0.5"]


def _class(toy) -> Path:
    for name, bodies in CLASS.items():
        make_submission(toy, name, bodies)
    return toy.root.parent / "subs"


def _single(toy, hand_in: Path, out: Path, flags: list[str] = TASKS) -> dict:
    subprocess.run([sys.executable, "-m", "hyperion_grader", "--root", str(toy.root), "grade", "--level", "99",
                    "--submission", str(hand_in), "--json", str(out), *flags],
                   check=False, capture_output=True, timeout=600)
    return json.loads(out.read_text())


def _scores(results: dict) -> dict[str, float]:
    return {t["number"]: t["score"] for t in results["tests"]}


def test_batch_scores_equal_single_runs_and_a_rerun_grades_nothing(toy, tmp_path):
    subs = _class(toy)
    out = tmp_path / "batch"
    outcomes = run_batch(toy.root, 99, subs, out, workers=2, extra=FLAGS)
    assert sorted(o.name for o in outcomes) == sorted(CLASS)  # each hand-in graded once
    for o in outcomes:
        assert [t["number"] for t in o.results["tests"]] == ["99.1", "99.2", "99.3"], o.name  # each task once
        single = _single(toy, subs / o.name, tmp_path / f"{o.name}.json", FLAGS)
        assert _scores(o.results) == _scores(single), o.name
    by_name = {o.name: o for o in outcomes}
    assert _scores(by_name["full"].results) == {"99.1": 3, "99.2": 5, "99.3": 2}
    assert _scores(by_name["skeleton"].results) == {"99.1": 0, "99.2": 0, "99.3": 0}
    first, second, *_ = sorted(outcomes, key=lambda o: o.started)
    assert second.started < first.started + first.seconds  # all workers from the start, none waits for the first
    assert max(outcomes, key=lambda o: o.started).name == "zz_loops"  # the slow one started last
    assert "timed out" in by_name["zz_loops"].results["tests"][1]["output"]
    assert not list(subs.glob("*/src/x.txt"))  # writes_next_door changed no other hand-in
    assert {o.worker for o in outcomes} == {0, 1}
    assert {o.results["mode"] for o in outcomes} == {box.mode()}  # the batch's one try, told to each grading
    if box.mode() == "sealed" and os.geteuid() == 0:  # a root judge: each worker's boxes in its own uids
        second = grade_one(toy.root, 99, subs / "uid_a", tmp_path / "w1", tmp_path / "w1.lock", FLAGS, 600, 1, 2)
        for o in (by_name["uid_a"], by_name["uid_b"], second):
            uid = int(float(re.search(r"got (\d+)\.0", o.results["tests"][2]["output"])[1]))
            assert (uid - box.BOX_UID_BASE) // (box.BOX_UIDS // 2) == o.worker, (o.name, o.worker, uid)
    rows = (out / "grades.csv").read_text().splitlines()
    assert rows[0].startswith("submission,score,max_score,99.1,99.2,99.3") and len(rows) == 1 + len(CLASS)
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    again = run_batch(toy.root, 99, subs, out, workers=2, extra=FLAGS)
    assert all(o.seconds == 0.0 for o in again)  # nothing regraded
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/results.json")} == before
    (out / "partial" / "results.json").unlink()  # as if the batch had been stopped during "partial"
    resumed = {o.name: o for o in run_batch(toy.root, 99, subs, out, workers=2, extra=FLAGS)}
    assert [n for n, o in resumed.items() if o.seconds > 0] == ["partial"]
    assert _scores(resumed["partial"].results) == _scores(by_name["partial"].results)
    assert (out / "grades.csv").read_text().splitlines() == rows


def test_children_started_and_joined_from_many_threads_report_their_own_exit_code():
    # unguarded, a thread's Process.start() polls the others' children and steals an exit status now and
    # then (the loser reads 255: 64 of 600 here once); graded hand-ins must never lose theirs that way
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _: run_in_forkserver(os._exit, (3,), 60), range(400)))
    assert codes == [3] * 400
    assert run_in_forkserver(time.sleep, (30,), 0.5) is None  # past its time: killed, reported as such


def test_grades_csv_has_one_line_per_hand_in_whatever_the_error_says(tmp_path):
    results = {"score": 3.0, "max_score": 10.0, "tests": [{"number": "99.1", "score": 3.0, "max_score": 3.0}]}
    outcomes = [Outcome("b", results, 1.0, "grader exit 255: ┃ Task ┃\n│ 99.1 │ Add │\r\nTotal: 3/10\n"),
                Outcome("a", None, 1.0, "grading took longer than 600 s")]
    write_csv(tmp_path / "grades.csv", outcomes)
    lines = (tmp_path / "grades.csv").read_text().splitlines()
    assert lines[0] == "submission,score,max_score,99.1,error"
    assert lines[1] == "a,0,,,grading took longer than 600 s"
    assert lines[2].startswith("b,3.0,10.0,3.0,grader exit 255: ┃ Task ┃ / │ 99.1 │ Add │ / Total: 3/10")
    assert len(lines) == 3


def test_side_by_side_graders_compute_each_reference_once(toy, tmp_path, monkeypatch):
    sub = make_submission(toy, "partial", HAND_INS["partial"])
    runs = []
    real = Judge._run

    def counting(self, task, probes, roots):
        if roots == self.ref_roots:
            runs.append(task.task)
            time.sleep(0.5)  # the others arrive while this one holds the key's lock
        return real(self, task, probes, roots)

    monkeypatch.setattr(Judge, "_run", counting)
    judges = [Judge(GradeConfig(toy, 99, sub, cache_dir=tmp_path / "cache")) for _ in range(3)]
    task = next(t for t in load_tasks(toy.get(99).hidden_dir) if t.task == "99.1")
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda j: j._reference(task), judges))
    assert runs == ["99.1"]
    assert all(error == "" and payload == got[0][0] for payload, error in got)
    assert [p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")] == [
        f"{judges[0]._ref_key(task)}.bin"]  # no temporary file left behind


def test_uid_blocks_of_side_by_side_graders_are_disjoint():
    blocks = []
    try:
        for k in range(3):
            box.use_uid_block(k, 3)
            blocks.append({box.take_uid() for _ in range(16)} if os.geteuid() == 0 else set(box._free_uids))
        assert not (blocks[0] & blocks[1] or blocks[1] & blocks[2] or blocks[0] & blocks[2])
        assert all(box.is_box_uid(u) for b in blocks for u in b)
        for bad in ((3, 3), (-1, 2), (0, 0), (0, box.BOX_UIDS)):
            with pytest.raises(ValueError, match="uid block"):
                box.use_uid_block(*bad)
    finally:
        box.use_uid_block(0, 1)


def test_batch_refuses_bad_names_and_workers(toy, tmp_path):
    subs = tmp_path / "subs"
    (subs / "bad name").mkdir(parents=True)
    with pytest.raises(ValueError, match="hand-in folder name"):
        run_batch(toy.root, 99, subs, tmp_path / "out", workers=1, extra=[])
    with pytest.raises(ValueError, match="workers"):
        run_batch(toy.root, 99, tmp_path, tmp_path / "out", workers=0, extra=[])
    with pytest.raises(ValueError, match="workers"):
        run_batch(toy.root, 99, tmp_path, tmp_path / "out", workers=box.BOX_UIDS, extra=[])


def _valid_results(data: dict) -> None:
    """Gradescope's results.json schema: the fields and types the autograder spec names."""
    assert isinstance(data["score"], int | float) and isinstance(data.get("execution_time", 0), int | float)
    assert isinstance(data.get("output", ""), str)
    for test in data["tests"]:
        assert isinstance(test["score"], int | float) and isinstance(test["max_score"], int | float)
        assert isinstance(test["name"], str) and test.get("visibility", "visible") in (
            "hidden", "after_due_date", "after_published", "visible")
        assert test.get("status", "passed") in ("passed", "failed")


@pytest.mark.parametrize("nested", [False, True])
def test_run_autograder_in_a_fake_autograder_tree(toy, tmp_path, nested):
    zip_path = build_zip(toy, 99, tmp_path / "autograder.zip", wheels=False, grade_flags=" ".join(TASKS))
    ag = tmp_path / "autograder"
    unpack(zip_path, ag / "source")
    assert os.access(ag / "source" / "run_autograder", os.X_OK) and (ag / "source" / "setup.sh").is_file()
    hand_in = make_submission(toy, "partial", HAND_INS["partial"])
    target = ag / "submission" / ("level99_toy" if nested else "")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(hand_in, target) if nested else os.rename(hand_in, ag / "submission")
    env = dict(os.environ, AUTOGRADER=str(ag), PYTHON=sys.executable)
    subprocess.run(["bash", str(ag / "source" / "run_autograder")], env=env, check=True, timeout=600,
                   capture_output=True)
    data = json.loads((ag / "results" / "results.json").read_text())
    _valid_results(data)
    assert _scores(data) == {"99.1": 3, "99.2": 0, "99.3": 2}


def test_run_autograder_without_src_writes_a_zero_with_the_reason(toy, tmp_path):
    ag = tmp_path / "autograder"
    unpack(build_zip(toy, 99, tmp_path / "a.zip", wheels=False, grade_flags=""), ag / "source")
    (ag / "submission").mkdir()
    (ag / "submission" / "notes.txt").write_text("hello")
    env = dict(os.environ, AUTOGRADER=str(ag), PYTHON=sys.executable)
    subprocess.run(["bash", str(ag / "source" / "run_autograder")], env=env, check=True, timeout=60)
    data = json.loads((ag / "results" / "results.json").read_text())
    _valid_results(data)
    assert data["score"] == 0 and "No src/ folder" in data["output"]


def test_k8s_manifest_round_trips_through_the_kubernetes_model():
    client = pytest.importorskip("kubernetes.client", reason="the kubernetes client is not installed")
    manifest = job_manifest(level=3, count=120, image="hyperion-grader:test")
    api = client.ApiClient()
    job = api.deserialize(json.dumps(manifest), "V1Job", "application/json")
    assert job.spec.completion_mode == "Indexed" and job.spec.completions == 120
    container = job.spec.template.spec.containers[0]
    assert container.resources.limits["nvidia.com/gpu"] == "1" and "grade-index" in container.command
    assert api.sanitize_for_serialization(job) == manifest
    assert "nvidia.com/gpu" not in job_manifest(1, 5, "img")["spec"]["template"]["spec"]["containers"][0][
        "resources"]["limits"]
