"""Package a level's autograder for Gradescope: ``setup.sh`` + ``run_autograder`` + the grader.

    python -m hyperion_grader gradescope-zip --level 1 --out autograder-level1.zip [--no-wheels]

The zip holds the grader, the hidden tests of that level, the reference of levels 0..N (the
judge's reference results and the lower levels a hand-in imports) and, unless ``--no-wheels``,
the third-party wheels pinned by the repository's lock, downloaded for Gradescope's Ubuntu 24.04
image (CPython 3.12, x86-64), so ``setup.sh`` installs with no index. ``run_autograder`` grades
``/autograder/submission`` (the uploaded level folder, or a folder one level down holding
``src/``) and writes ``/autograder/results/results.json`` in Gradescope's schema. A level whose
hidden tests need a GPU (level 3) is refused: Gradescope's autograders have none.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from hyperion_grader.levels import Registry
from hyperion_grader.skeleton import SKIP_NAMES

PYTHON_VERSION = "3.12"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the image (as root, Ubuntu 24.04).
set -euo pipefail
cd /autograder/source
apt-get update -qq && apt-get install -y -qq python3-venv python3-pip bubblewrap >/dev/null
python3 -m venv /autograder/venv
if [ -d wheels ] && ls wheels/*.whl >/dev/null 2>&1; then
  /autograder/venv/bin/pip install -q --no-index --find-links wheels -r requirements.txt
else
  /autograder/venv/bin/pip install -q -r requirements.txt
fi
/autograder/venv/bin/pip install -q --no-deps --no-build-isolation {editables} || \\
  /autograder/venv/bin/pip install -q --no-deps {editables}
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; AUTOGRADER and PYTHON may be set for a local test.
set -uo pipefail
AG="${{AUTOGRADER:-/autograder}}"
PY="${{PYTHON:-$AG/venv/bin/python}}"
sub="$AG/submission"
[ -d "$sub/src" ] || sub=$(find "$AG/submission" -mindepth 1 -maxdepth 2 -type d -name src -printf '%h\\n' | head -n 1)
mkdir -p "$AG/results"
if [ -z "$sub" ] || [ ! -d "$sub/src" ]; then
  msg="No src/ folder found in the submission: upload your level folder ({folder}/ with src/ inside)."
  printf '{{"score": 0, "output": "%s", "tests": []}}\\n' "$msg" > "$AG/results/results.json"
  exit 0
fi
exec "$PY" -m hyperion_grader --root "$AG/source/repo" grade --level {level} --submission "$sub" \\
  --json "$AG/results/results.json" {grade_flags}
"""


def _copy_tree(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*SKIP_NAMES, ".cache", "tests", "build"))


def requirements(registry: Registry, level: int) -> list[str]:
    """Third-party needs of the grader and levels 0..level, pinned by the repository's lock if any."""
    import tomllib

    needs: set[str] = set()
    for path in [Path(__file__).resolve().parents[2] / "pyproject.toml",
                 *[lvl.path / "pyproject.toml" for lvl in registry.levels if lvl.number <= level]]:
        project = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
        needs |= {d for d in project.get("dependencies", []) if not d.startswith("hyperion-")}
    lock = registry.root / "constraints.txt"
    pins: dict[str, str] = {}
    if lock.is_file():
        for line in lock.read_text().splitlines():
            line = line.split("#")[0].strip()
            if "==" in line:
                pins[line.split("==")[0].strip().lower()] = line
    out = []
    for need in sorted(needs):
        name = need.split(";")[0].split("[")[0]
        for sep in ("<", ">", "=", "!", "~", " "):
            name = name.split(sep)[0]
        out.append(pins.get(name.lower(), need))
    return out


def build_zip(registry: Registry, level: int, out: Path, wheels: bool = True,
              grade_flags: str = "--require-sealed") -> Path:
    """Write the autograder zip for ``level``; returns its path."""
    hidden = registry.get(level).hidden_dir
    if any("hyperion_grader.cuda" in p.read_text() for p in hidden.glob("*.py")):
        raise ValueError(f"level {level}'s tasks need a GPU, which Gradescope's autograders do not have")
    with tempfile.TemporaryDirectory(prefix="hyperion-gradescope-") as tmp:
        src = Path(tmp)
        repo = src / "repo"
        below = [lvl for lvl in registry.levels if lvl.number < level]
        for lvl in [*below, registry.get(level)]:
            _copy_tree(lvl.path, repo / lvl.folder)
        here = Path(__file__).resolve().parent  # the grader that runs this is the grader that ships
        _copy_tree(here, repo / "grader" / "src" / "hyperion_grader")
        shutil.copy2(here.parents[1] / "pyproject.toml", repo / "grader" / "pyproject.toml")
        shutil.copytree(registry.get(level).hidden_dir, repo / "grader" / "hidden" / f"level{level}",
                        ignore=shutil.ignore_patterns(*SKIP_NAMES))
        reqs = requirements(registry, level)
        (src / "requirements.txt").write_text("\n".join(reqs) + "\n")
        editables = " ".join(f"repo/{lvl.folder}" for lvl in below) + " repo/grader"
        _write_exec(src / "setup.sh", SETUP_SH.format(editables=editables))
        _write_exec(src / "run_autograder", RUN_AUTOGRADER.format(
            level=level, folder=registry.get(level).folder, grade_flags=grade_flags))
        if wheels:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d",
                            str(src / "wheels"), "--python-version", PYTHON_VERSION, "--implementation", "cp",
                            "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
                            "--platform", "manylinux2014_x86_64", "--platform", "any", "-r",
                            str(src / "requirements.txt")], check=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(src.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo.from_file(path, path.relative_to(src).as_posix())
                    with path.open("rb") as f:
                        z.writestr(info, f.read())
    return out


def _write_exec(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def unpack(zip_path: Path, source: Path) -> None:
    """Unzip keeping the executable bits (as Gradescope does with the autograder's files)."""
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(info))
            mode = info.external_attr >> 16
            if mode:
                os.chmod(target, mode & 0o777)
