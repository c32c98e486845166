"""Every attack class of issue 12 against a real grading run, each its own task of the hostile level 97.

Two runs of the grader's CLI (a separate judge process, as in ``nox -s grade-levelN``), on one hostile
hand-in (``hostile_handin.py``): the first bundles the attacks that leave the judge alive if they work,
the second those that kill or stop it. Each attack task scores a point only when its attack gets
through (the hand-in returns the right answer only then; writes are checked in the judge by looking for
the written file), so the exact expected scores are: the two honest controls full, every attack 0.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_handin import HOSTILE_SOURCE

from hyperion_grader import box
from hyperion_grader.levels import Registry

# practice mode keeps only in-process guards, which these attacks get past by design
pytestmark = pytest.mark.skipif(box.mode() != "sealed", reason="needs the OS sandbox (bubblewrap)")

FIXTURE = Path(__file__).parent / "fixtures" / "hostilerepo"
CONTROLS = {"97.1": 1.0, "97.20": 1.0}
ALIVE = [  # attacks that leave the judge running when they work
    "97.2", "97.3", "97.4", "97.5", "97.6", "97.7", "97.8", "97.9", "97.10",
    "97.21", "97.22", "97.23", "97.24", "97.25", "97.26", "97.27",
]
KILLERS = ["97.11", "97.12", "97.13"]  # kill or stop the judge
PTH = "zz_hyperion_hostile_97_5.pth"
SHARED_TMP_FILE = Path("/tmp/hyperion-hostile-97-6")


def _site_dirs() -> list[str]:
    return [p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages")]


def _clean_leaks() -> None:
    for d in _site_dirs():
        Path(d, PTH).unlink(missing_ok=True)
    SHARED_TMP_FILE.unlink(missing_ok=True)


def _grade(root: Path, submission: Path, tasks: list[str], shared_tmp: Path, timeout: float) -> dict:
    """Run the judge as its own process; return {"rc", "grades" (None when no file), "leftovers"}."""
    grades = root / "grades.json"
    grades.unlink(missing_ok=True)
    shared_tmp.mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "hyperion_grader", "--root", str(root), "grade", "--level", "97",
           "--submission", str(submission), "--json", str(grades), "--timeout-scale", "0.5"]
    for t in tasks:
        cmd += ["--task", t]
    env = dict(os.environ, TMPDIR=str(shared_tmp))
    proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:  # a stopped judge: kill it by its process group (its own session)
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        rc = "timeout"
    data = json.loads(grades.read_text()) if grades.is_file() else None
    leftovers = sorted(str(p.relative_to(shared_tmp)) for p in shared_tmp.rglob("*"))
    return {"rc": rc, "grades": data, "leftovers": leftovers, "output": out[-3000:]}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    root = base / "hostilerepo"
    shutil.copytree(FIXTURE, root)
    level = Registry.discover(root).get(97)
    sub = base / "handin" / "level97_hostile"
    shutil.copytree(level.path, sub)
    ref = level.src / "hyperion" / "hostile" / "attacks.py"
    hidden = root / "grader" / "hidden" / "level97"
    (sub / "src/hyperion/hostile/attacks.py").write_text(
        HOSTILE_SOURCE.format(ref=str(ref)[::-1], hidden=str(hidden)[::-1])
    )
    _clean_leaks()
    try:
        alive = _grade(root, sub, ["97.1", "97.20", *ALIVE], base / "tmp-alive", timeout=240)
        killers = _grade(root, sub, ["97.1", *KILLERS], base / "tmp-killers", timeout=90)
        leaks = {
            "pth": [d for d in _site_dirs() if Path(d, PTH).exists()],
            "shared_tmp": SHARED_TMP_FILE.exists(),
            "hidden": sorted(p.name for p in hidden.iterdir() if p.name.startswith("pwned")),
        }
    finally:
        _clean_leaks()
    return {"alive": alive, "killers": killers, "leaks": leaks}


def _scores(run: dict) -> dict[str, float]:
    assert run["grades"] is not None, f"no grades file (exit {run['rc']}):\n{run['output']}"
    return {t["number"]: t["score"] for t in run["grades"]["tests"]}


def _why(run: dict, task: str) -> str:
    return next((t["output"] for t in run["grades"]["tests"] if t["number"] == task), "")


@pytest.mark.parametrize("task", sorted(CONTROLS, key=lambda t: tuple(map(int, t.split(".")))))
def test_honest_controls_keep_their_points(hostile, task):
    assert _scores(hostile["alive"])[task] == CONTROLS[task], _why(hostile["alive"], task)


@pytest.mark.parametrize("task", ALIVE)
def test_attack_scores_zero(hostile, task):
    assert _scores(hostile["alive"])[task] == 0.0, _why(hostile["alive"], task)


def test_attack_run_is_exact_and_leaves_nothing(hostile):
    run = hostile["alive"]
    assert _scores(run) == {**CONTROLS, **{t: 0.0 for t in ALIVE}}
    assert run["rc"] == 0, run["output"]
    assert run["leftovers"] == [], "the judge left files in the shared temp dir"


def test_nothing_written_outside_the_sandbox(hostile):
    assert hostile["leaks"] == {"pth": [], "shared_tmp": False, "hidden": []}


@pytest.mark.parametrize("task", KILLERS)
def test_killing_or_stopping_the_judge_fails(hostile, task):
    run = hostile["killers"]
    assert _scores(run)[task] == 0.0, _why(run, task)


def test_judge_survives_and_writes_exact_grades_without_leftovers(hostile):
    run = hostile["killers"]
    assert run["rc"] == 0, run["output"]
    assert _scores(run) == {"97.1": 1.0, **{t: 0.0 for t in KILLERS}}
    assert run["leftovers"] == [], "a copy of the reference (or other judge state) was left in the temp dir"
