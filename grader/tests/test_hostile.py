"""One hostile submission per threat: the affected task (99.2, 5 points) scores 0, the others full.

These run in whichever mode the machine gives (sealed where bubblewrap works, as in CI; practice
otherwise); where the two modes differ in what a harmless attack earns, the test says so.

Paths a cheat would use are written reversed (``'...'[::-1]``) so that they get past the static scan and
exercise the runtime defences; ``test_static_scan`` covers the plain spelling.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import FULL, make_submission, run_grade, scores

from hyperion_grader import box, procs

EXPECTED = {**FULL, "99.2": 0.0}
FAST = 0.15  # timeouts of 20 s become 3 s


def rev(path: Path | str) -> str:
    return f"{str(path)[::-1]!r}[::-1]"


def ref_ops(toy) -> Path:
    return toy.get(99).src / "hyperion/toy/ops.py"


CASES = {
    "infinite_loop": lambda toy, tmp: "while True:\n    pass",
    "sleep_forever": lambda toy, tmp: "import time\ntime.sleep(10**6)",
    "allocate_50gb": lambda toy, tmp: "x = bytearray(50 * 2**30)\nreturn as_array(a) * k",
    "allocate_50gb_numpy": lambda toy, tmp: "import numpy as np\nx = np.ones(50 * 2**30 // 8)\nreturn x[:3]",
    "sys_exit": lambda toy, tmp: "import sys\nsys.exit(0)",
    "os_exit": lambda toy, tmp: "import os\nos._exit(0)",
    "raise_system_exit": lambda toy, tmp: "raise SystemExit(0)",
    "raise_keyboard_interrupt": lambda toy, tmp: "raise KeyboardInterrupt",
    "raise_base_exception": lambda toy, tmp: "raise BaseException('PASSED')",
    "segfault": lambda toy, tmp: "import ctypes\nctypes.string_at(0)",
    "print_pass": lambda toy, tmp: (
        "import sys\nprint('PASSED 99.2 5/5')\nprint('{\"score\": 11}')\n"
        "sys.stderr.write('ok\\n')\nreturn 'PASSED'"
    ),
    "monkeypatch_checks": lambda toy, tmp: (
        "import importlib, numpy as np, pytest\n"
        "c = importlib.import_module('hyperion_' + 'grader.checks')\n"
        "h = importlib.import_module('hyperion_' + 'grader.hidden')\n"
        "np.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
        "np.array_equal = lambda *a, **k: True\npytest.approx = lambda *a, **k: a[0]\n"
        "c.assert_close = c.assert_match = h.assert_match = lambda *a, **k: None\n"
        "return as_array(a) * 0"
    ),
    "eq_always_true": lambda toy, tmp: (
        "class Liar:\n    def __eq__(self, other):\n        return True\n    __array_priority__ = 1000\n"
        "return Liar()"
    ),
    "eq_true_ndarray_subclass": lambda toy, tmp: (
        "import numpy as np\nclass A(np.ndarray):\n"
        "    def __eq__(self, o):\n        return np.ones(3, bool)\n"
        "return np.zeros(3).view(A)"
    ),
    "exec_reference_file": lambda toy, tmp: (
        f"ns = {{}}\nexec(open({rev(ref_ops(toy))}).read(), ns)\nreturn ns['scale'](a, k)"
    ),
    "import_reference_via_sys_path": lambda toy, tmp: (
        f"import sys, importlib\nsys.path.insert(0, {rev(toy.get(99).src)})\n"
        "import hyperion\nhyperion.__path__.insert(0, sys.path[0] + '/hyperion')\n"
        "for m in [m for m in sys.modules if m.startswith('hyperion.toy')]:\n    del sys.modules[m]\n"
        "return importlib.import_module('hyperion.toy.ops').scale(a, k)"
    ),
    "import_reference_by_spec": lambda toy, tmp: (
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('refops', {rev(ref_ops(toy))})\n"
        "mod = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(mod)\nreturn mod.scale(a, k)"
    ),
    "read_reference_with_subprocess": lambda toy, tmp: (
        f"import subprocess\nsrc = subprocess.run(['cat', {rev(ref_ops(toy))}], capture_output=True).stdout\n"
        "ns = {}\nexec(src, ns)\nreturn ns['scale'](a, k)"
    ),
    "kill_the_judge": lambda toy, tmp: "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
    "read_hidden_tests": lambda toy, tmp: (
        f"import os\nprint(os.listdir({rev(toy.root / 'grader' / 'hidden' / 'level99')}))\n"
        "return as_array(a) * k"
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_submission(name, toy, cache_dir, tmp_path):
    sub = make_submission(toy, name, {"99.2": CASES[name](toy, tmp_path)})
    report = run_grade(toy, sub, cache_dir, timeout_scale=FAST)
    assert scores(report) == EXPECTED, [r.first_failure for r in report.results]
    assert not report.grader_errors


def test_hostile_writes_and_deletes_grades(toy, cache_dir):
    """Writing or deleting the grades, in the task or at import time (for every task): nothing changes."""
    grades = toy.root / "grades"
    grades.mkdir()
    (grades / "level98.json").write_text("{}")
    forge = (
        f"import os, json, shutil\ng = {rev(grades)}\n"
        "try:\n    shutil.rmtree(g)\nexcept OSError:\n    pass\n"
        "os.makedirs(g, exist_ok=True)\n"
        "json.dump({'score': 11, 'max_score': 11}, open(os.path.join(g, 'level99.json'), 'w'))\n"
    )
    sub = make_submission(toy, "grades", {"99.2": forge + "return as_array(a) * k"})
    report = run_grade(toy, sub, cache_dir, timeout_scale=FAST)
    # practice: the guard ends the child (0); sealed: the grades folder is not in the box, the writes
    # land in the box's own /tmp and vanish with it, and the right answer keeps its points
    assert scores(report) == (FULL if box.mode() == "sealed" else EXPECTED)
    assert (grades / "level98.json").read_text() == "{}"
    assert not (grades / "level99.json").exists()


def test_hostile_grades_replaced_by_directory_then_cli_report(toy, cache_dir):
    from hyperion_grader.cli import main

    target = toy.root / "grades" / "level99.json"
    target.mkdir(parents=True)  # something broke the grades dir before grading: the report still lands
    assert main(["--root", str(toy.root), "grade", "--level", "99", "--reference", "--task", "99.1"]) == 0
    assert json.loads(target.read_text())["score"] == 3


def test_module_level_monkeypatching_changes_nothing_elsewhere(toy, cache_dir):
    prelude = (
        "import numpy\nnumpy.allclose = lambda *a, **k: True\n"
        "numpy.testing.assert_allclose = lambda *a, **k: None\n"
    )
    sub = make_submission(toy, "prelude", {"99.2": "return as_array(a) * 0"}, prelude=prelude)
    assert scores(run_grade(toy, sub, cache_dir)) == EXPECTED


def _alive(pid: int) -> bool:
    """Running or a zombie: both mean the judge did not clean up."""
    return Path(f"/proc/{pid}").exists()


def _sandboxed_processes() -> list[int]:
    """Processes of a box's uid that carry a sandbox token in their environment (a sealed box's)."""
    out = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and box.is_box_uid(p.stat().st_uid) and procs._token(int(p.name)):
                out.append(int(p.name))
        except OSError:
            continue
    return out


@pytest.mark.parametrize("returns", ["right", "wrong"])
def test_forked_children_that_outlive_the_task_are_killed(returns, toy, cache_dir, tmp_path):
    pids = tmp_path / "pids.txt"
    code = f"""
        import os, time
        log = {rev(pids)}
        def note():
            try:  # a sealed box cannot reach the log: carry on regardless
                with open(log, "a") as f:
                    f.write(f"{{os.getpid()}}\\n")
            except OSError:
                pass
        if os.fork() == 0:          # a daemon: setsid + double fork, then sleep forever
            os.setsid()
            if os.fork() > 0:
                os._exit(0)
            note()
            while True:
                time.sleep(1)
        if os.fork() == 0:          # a plain child in the same group
            note()
            while True:
                time.sleep(1)
        def logged():
            return len(open(log).read().split()) if os.path.exists(log) else 0
        deadline = time.time() + 2.5  # let both children log (a fixed sleep raced on a busy CI)
        while logged() < 2 and time.time() < deadline and os.path.isdir(os.path.dirname(log)):
            time.sleep(0.05)
        return as_array(a) * k{" + 1" if returns == "wrong" else ""}
    """
    sub = make_submission(toy, "fork", {"99.2": code})
    report = run_grade(toy, sub, cache_dir, timeout_scale=FAST)
    if box.mode() == "sealed":  # the box's children cannot write the log; none survives the box
        assert scores(report) == (FULL if returns == "right" else EXPECTED), report.results[1].first_failure
        assert not _sandboxed_processes(), "stray processes remain"
        return
    assert scores(report) == EXPECTED
    if returns == "right":
        assert "left processes running" in report.results[1].first_failure
    found = [int(p) for p in pids.read_text().split()] if pids.exists() else []
    assert found, "the forked children never ran"  # on a very busy machine one may be killed before it logs
    assert not [p for p in found if _alive(p)], "stray processes remain"
    assert os.getpid()  # the judge (this process) is alive


def test_static_scan_flags_reference_path(toy, cache_dir):
    sub = make_submission(toy, "scan", {"99.2": f"p = {str(toy.get(99).src)!r}\nreturn as_array(a) * k"})
    report = run_grade(toy, sub, cache_dir)
    assert scores(report) == EXPECTED
    assert report.results[1].first_failure.startswith("integrity:")


SEALED_LIMITS = {
    "fork_bomb": "import os\nfor _ in range(10**6):\n    os.fork()\nreturn as_array(a) * k",
    "fill_tmp": (
        "with open('/tmp/fill', 'wb') as f:\n    for _ in range(1024):\n        f.write(b'x' * 2**20)\n"
        "return as_array(a) * k"
    ),
}


@pytest.mark.skipif(box.mode() != "sealed", reason="the process limit and the small /tmp are the sealed box's")
@pytest.mark.parametrize("name", sorted(SEALED_LIMITS))
def test_sealed_box_limits(name, toy, cache_dir):
    """A fork bomb stops at RLIMIT_NPROC (256 for the box's own uid: other boxes keep working); filling
    /tmp stops at its 256 MB."""
    sub = make_submission(toy, name, {"99.2": SEALED_LIMITS[name]})
    report = run_grade(toy, sub, cache_dir, timeout_scale=FAST)
    assert scores(report) == EXPECTED, report.results[1].first_failure
    assert not _sandboxed_processes(), "stray processes remain"
