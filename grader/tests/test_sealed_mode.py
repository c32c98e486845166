"""The grading mode (sealed or practice), ``--require-sealed``, and a judge that always writes grades:
on its overall time limit, on SIGTERM, and with nothing of its state left in the temp dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_submission, run_grade

from hyperion_grader import box


def _cli(toy, *args: str, env: dict | None = None, tmp: Path | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "hyperion_grader", "--root", str(toy.root), "grade", "--level", "99", *args]
    full = dict(os.environ, **(env or {}))
    if tmp is not None:
        tmp.mkdir(exist_ok=True)
        full["TMPDIR"] = str(tmp)
    return subprocess.Popen(cmd, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_ci_grades_sealed(toy, cache_dir):
    """On CI (CI=true, root on Debian with bubblewrap) the sandbox must work: a CI machine where it
    silently fails goes red here instead of grading in practice mode."""
    report = run_grade(toy, None, cache_dir, only=["99.1"])
    assert report.mode == box.mode()
    if os.environ.get("CI", "").lower() != "true":
        pytest.skip(f"not on CI; this machine grades {box.mode()} {box.why_practice()}".rstrip())
    assert report.mode == "sealed", box.why_practice()


def test_practice_mode_banner_and_require_sealed(toy, tmp_path):
    env = {"HYPERION_SANDBOX": "practice"}
    out = tmp_path / "practice.json"
    proc = _cli(toy, "--reference", "--task", "99.1", "--json", str(out), env=env)
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, text
    assert "PRACTICE MODE" in text and "not tamper-proof" in text
    data = json.loads(out.read_text())
    assert data["mode"] == "practice" and data["score"] == 3
    proc = _cli(toy, "--reference", "--require-sealed", "--json", str(out), env=env)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "--require-sealed" in text
    assert json.loads(out.read_text())["mode"] == "practice"  # refused before writing anything


@pytest.mark.skipif(box.mode() != "sealed", reason="needs the OS sandbox (bubblewrap)")
def test_require_sealed_grades_when_sealed(toy, tmp_path):
    out = tmp_path / "sealed.json"
    proc = _cli(toy, "--reference", "--require-sealed", "--task", "99.1", "--json", str(out))
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, text
    assert json.loads(out.read_text())["mode"] == "sealed" and "Mode: sealed" in text


def test_time_limit_and_sigterm_still_write_grades(toy, cache_dir, tmp_path):
    sub = make_submission(toy, "sleepy", {"99.2": "import time\ntime.sleep(10**6)"})
    base = ["--submission", str(sub), "--task", "99.2", "--task", "99.3", "--jobs", "2"]
    # the overall time limit: the sleeping task is stopped at 8 s and scores 0 with the reason
    out = tmp_path / "limit.json"
    proc = _cli(toy, *base, "--time-limit", "8", "--json", str(out), tmp=tmp_path / "t1")
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, text
    tests = {t["number"]: t for t in json.loads(out.read_text())["tests"]}
    assert {k: t["score"] for k, t in tests.items()} == {"99.2": 0.0, "99.3": 2.0}
    assert "time limit" in tests["99.2"]["output"]
    assert list((tmp_path / "t1").iterdir()) == []  # the judge's private folder is gone
    # SIGTERM: grading ends at once, the grades are written, nothing is left behind
    out = tmp_path / "term.json"
    proc = _cli(toy, *base, "--json", str(out), tmp=tmp_path / "t2")
    time.sleep(5)
    proc.send_signal(signal.SIGTERM)
    text, _ = proc.communicate(timeout=60)
    tests = {t["number"]: t for t in json.loads(out.read_text())["tests"]}
    assert tests["99.2"]["score"] == 0.0 and "stopped (SIGTERM)" in tests["99.2"]["output"], text
    assert list((tmp_path / "t2").iterdir()) == []



def test_box_mounts_only_read_only_views_and_the_given_devices():
    view = box.View(code=["/x/level/src"], site=["/y/site-packages"], devices=["/dev/nvidia0"])
    argv = box.bwrap_argv(view, ["python3"])
    mounts = [tuple(argv[i : i + 3]) for i, a in enumerate(argv) if a in ("--bind", "--dev-bind", "--ro-bind")]
    assert not [m for m in mounts if m[0] == "--bind"]  # nothing of the host is writable
    assert [m for m in mounts if m[0] == "--dev-bind"] == [("--dev-bind", "/dev/nvidia0", "/dev/nvidia0")]
    assert ("--ro-bind", "/x/level/src", "/box/code/root0") in mounts
    assert "--die-with-parent" in argv and "--tmpfs" in argv and "--clearenv" in argv


def _states(pids: list[int]) -> set[str]:
    out = set()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        out.add(stat[stat.rindex(")") + 2])
    return out


def test_race_server_answers_and_can_be_paused(toy, tmp_path):
    """A race's server: timed calls from the judge; pause() stops every process of its box (so that it
    cannot burn CPU while the other side is timed), resume() lets it answer again."""
    import numpy as np

    from hyperion_grader import procs, wire
    from hyperion_grader.judge import GradeConfig, Judge
    from hyperion_grader.tasks import load_tasks

    judge = Judge(GradeConfig(toy, 99))
    judge.private = tmp_path
    task = next(t for t in load_tasks(toy.get(99).hidden_dir) if t.task == "99.4")
    server = judge._server(task, "speed", judge.sub_roots)
    try:
        x = np.arange(10.0)
        seconds, _, reply = server.call(wire.encode({"x": x}))
        assert reply["ok"] and wire.decode(reply["value"]) == 45.0 and seconds > 0
        server.pause()
        pids = procs.subtree(server.child.proc.pid)
        # sealed: bubblewrap and the server inside it; practice mode: the server alone
        assert len(pids) >= (2 if box.mode() == "sealed" else 1) and _states(pids) == {"T"}
        server.resume()
        assert "T" not in _states(pids)
        assert wire.decode(server.call(wire.encode({"x": x}))[2]["value"]) == 45.0
    finally:
        server.close()


def test_a_sealed_child_gets_the_environment_the_judge_gives_it(toy, cache_dir, monkeypatch):
    """bwrap applies its options in order: ``--setenv`` put before ``--clearenv`` was wiped, and every sealed child
    ran with no environment (no HOME: Task 2.16's corpus lookup raised; no sandbox token: the stray check had
    nothing to find). The child now has HOME, the data folder and its token, and nothing else of the judge's."""
    if box.mode() != "sealed":
        pytest.skip(f"no OS sandbox here: {box.why_practice()}")
    monkeypatch.setenv("HYPERION_JUDGE_ONLY", "secret")  # a judge variable the child must not see
    probe = ('import os; raise RuntimeError("ENV " + " ".join(f"{k}={k in os.environ}" for k in '
             '("HOME", "HYPERION_DATA", "HYPERION_SANDBOX_TOKEN", "HYPERION_JUDGE_ONLY")))')
    sub = make_submission(toy, "env", {"99.1": probe})
    failure = run_grade(toy, sub, cache_dir, only=["99.1"]).results[0].first_failure
    assert "HOME=True HYPERION_DATA=True HYPERION_SANDBOX_TOKEN=True HYPERION_JUDGE_ONLY=False" in failure, failure
