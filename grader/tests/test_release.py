import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hyperion_grader.cli import main
from hyperion_grader.levels import Registry, find_root
from hyperion_grader.release import verify_release

ROOT = find_root(Path(__file__).resolve().parent)


@pytest.fixture
def site(tmp_path) -> Path:
    """A stand-in for site/build (the real one takes minutes to build: nox -s docs)."""
    built = tmp_path / "built-site"
    built.mkdir()
    (built / "index.html").write_text("<html><body><h1>Hyperion</h1></body></html>")
    return built


def _release(toy, out: Path, site: Path, level: int = 99) -> int:
    return main(["--root", str(toy.root), "release", "--out", str(out), "--level", str(level), "--site", str(site)])


def test_release_has_the_skeleton_lower_wheels_and_no_solutions_or_hidden_tests(toy, tmp_path, site):
    out = tmp_path / "student"
    assert _release(toy, out, site) == 0
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {"noxfile.py", "README.md", "site/index.html", "level99_toy/tests/test_ops.py", "level99_toy/conftest.py",
            "tools/task_table.py", "tools/tasks-level99.json", "wheels/toy_base-0.0.1-py3-none-any.whl"} <= files
    assert not any("hidden" in f or f.startswith("grader") or f.startswith("level98") for f in files)
    text = "\n".join((out / f).read_text() for f in files if not f.endswith(".whl"))
    for secret in ("out = as_array(a) + as_array(b)", "acc += x", "x[i] * k", "BEGIN SOLUTION", "hyperion_grader"):
        assert secret not in text
    with zipfile.ZipFile(out / "wheels/toy_base-0.0.1-py3-none-any.whl") as wheel:  # level 98: the reference
        assert "np.asarray(x, dtype=np.float64)" in wheel.read("hyperion/toybase/__init__.py").decode()
    ast.parse((out / "noxfile.py").read_text())
    assert "LEVEL, FOLDER = 99, 'level99_toy'" in (out / "noxfile.py").read_text()
    assert verify_release(out, toy, 99) == []


def test_release_needs_a_built_site(toy, tmp_path):
    (toy.root / "site" / "mkdocs.yml").write_text("site_name: toy\n")
    assert main(["--root", str(toy.root), "release", "--out", str(tmp_path / "s"), "--level", "99"]) == 2
    assert main(["--root", str(toy.root), "release", "--out", str(tmp_path / "s"), "--level", "99",
                 "--site", str(tmp_path)]) == 2  # no index.html


def test_verify_release_catches_a_leak(toy, tmp_path, site):
    out = tmp_path / "student"
    _release(toy, out, site)
    (out / "notes.md").write_text("acc = 0.0\nfor x in xs:\n    acc += x\nreturn acc")
    (out / "site" / "h.py").write_text((toy.root / "grader/hidden/level99/task_99_02_scale.py").read_text())
    # a built page showing a solution: highlighted code has a tag around every token
    (out / "site" / "page.html").write_text('<pre><span class="n">out</span> <span class="o">=</span> '
                                            "as_array(a) + as_array(b)\n<span>return</span> out</pre>")
    problems = verify_release(out, toy, 99)
    assert any("contains hidden test" in p for p in problems)
    assert any(p.startswith("notes.md: contains the solution") for p in problems)
    assert any(p.startswith("site/page.html: contains the solution") for p in problems)


def test_the_real_level_1_release_is_clean(tmp_path, site):
    registry = Registry.discover(ROOT)
    out = tmp_path / "level1"
    assert main(["--root", str(ROOT), "release", "--out", str(out), "--level", "1", "--site", str(site)]) == 0
    (wheel,) = (out / "wheels").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "hyperion/foundations/__init__.py" in names and not any("hyperion/tensor" in n for n in names)
    assert not (out / "level0_foundations").exists() and not (out / "level2_transformer").exists()
    spec = json.loads((out / "tools" / "tasks-level1.json").read_text())
    assert spec["tasks"]["1.4"]["functions"] == [["hyperion/tensor/strides.py", "unbroadcast"]]
    assert verify_release(out, registry, 1) == []


def _run(command: list[str], cwd: Path, env: dict) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_the_release_starts_and_grades_alone_from_a_clean_venv(toy, tmp_path, site):
    """The README's commands, in a fresh venv with only nox: start, grade a skeleton, fill a task, grade."""
    out = tmp_path / "student"
    _release(toy, out, site)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "NOX"))}
    env["PIP_CONSTRAINT"] = str(ROOT / "constraints.txt")  # the course's pins (nox's own dependencies)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    _run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "nox"], out, env)
    nox = [str(venv / "bin/python"), "-m", "nox"]

    _run([*nox, "-s", "start-level99"], out, env)
    ops = out / "workspace/level99_toy/src/hyperion/toy/ops.py"
    assert 'raise NotImplementedError("Task 99.1: add")' in ops.read_text()
    log = _run([*nox, "-s", "grade-level99"], out, env)
    assert "Total: 0/11 from the public tests" in log, log[-3000:]
    grades = json.loads((out / "grades/level99.json").read_text())
    assert grades["score"] == 0 and grades["max_score"] == 11 and len(grades["tests"]) == 4

    ops.write_text(ops.read_text().replace('raise NotImplementedError("Task 99.1: add")',
                                           "return as_array(a) + as_array(b)"))
    _run([*nox, "-s", "start-level99"], out, env)  # never overwrites the learner's work
    assert "return as_array(a) + as_array(b)" in ops.read_text()
    log = _run([*nox, "-R", "-s", "grade-level99"], out, env)
    grades = json.loads((out / "grades/level99.json").read_text())
    by_task = {t["number"]: t for t in grades["tests"]}
    assert by_task["99.1"]["score"] == 3 and by_task["99.1"]["output"] == "[PASS] test_add", log[-3000:]
    assert by_task["99.2"]["score"] == 0 and "NotImplementedError: Task 99.2: scale" in by_task["99.2"]["output"]
    assert by_task["99.4"]["output"] == "no public test reached this task"
    assert grades["score"] == 3


def test_the_release_command_does_not_need_pytest():
    """release.py ships task_table.py as a file; importing it (and so pytest) would break `nox -s release`."""
    code = "import sys; sys.modules['pytest'] = None; import hyperion_grader.release"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
