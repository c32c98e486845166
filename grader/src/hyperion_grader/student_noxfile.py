"""Template of the noxfile shipped in the student release of one level (filled in by ``render``)."""

TEMPLATE = '''"""Hyperion, level {level}, student edition: the commands the course site describes.

    nox -s start-level{level}   copy the skeleton {folder}/ to workspace/{folder}/ (-- --force: start over)
    nox -s grade-level{level}   the levels below from wheels/ (the reference), your workspace, its public
                          tests: one row per task and grades/level{level}.json
"""

import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
LEVEL, FOLDER = {level!r}, {folder!r}
WORKSPACE = ROOT / "workspace" / FOLDER
nox.options.sessions = []
if (ROOT / "constraints.txt").is_file():  # the versions the course was tested with
    os.environ["PIP_CONSTRAINT"] = str(ROOT / "constraints.txt")


@nox.session(name=f"start-level{{LEVEL}}", python=False)
def start(session: nox.Session) -> None:
    """Write your workspace from the skeleton (an existing one is left untouched without -- --force)."""
    if WORKSPACE.exists() and "--force" not in session.posargs:
        session.log(f"{{WORKSPACE}} already exists: left untouched (use -- --force to start over)")
        return
    if WORKSPACE.exists():
        shutil.rmtree(WORKSPACE)
    shutil.copytree(ROOT / FOLDER, WORKSPACE)
    session.log(f"Wrote {{WORKSPACE}}")


@nox.session(name=f"grade-level{{LEVEL}}")
def grade(session: nox.Session) -> None:
    """Your workspace's public tests, per task; writes grades/level{{LEVEL}}.json."""
    if not WORKSPACE.is_dir():
        session.error(f"no workspace: run `nox -s start-level{{LEVEL}}` first")
    import tomllib

    # the workspace is not installed: its conftest.py puts its src/ first; what it needs is installed
    project = tomllib.loads((WORKSPACE / "pyproject.toml").read_text())["project"]
    extras = [dep for name, deps in project.get("optional-dependencies", {{}}).items() if name != "cuda"
              for dep in deps]
    needs = [dep for dep in project.get("dependencies", []) + extras if not dep.startswith("hyperion-")]
    wheels = sorted(str(p) for p in (ROOT / "wheels").glob("*.whl"))  # the reference of the levels below
    session.install(*wheels, *needs, "pytest")
    session.run("pytest", str(WORKSPACE / "tests"), "-q", "-p", "task_table",
                "--task-table", str(ROOT / "tools" / f"tasks-level{{LEVEL}}.json"),
                "--grades", str(ROOT / "grades" / f"level{{LEVEL}}.json"), *session.posargs,
                env={{"PYTHONPATH": str(ROOT / "tools")}}, success_codes=[0, 1, 5])
'''


def render(level: int, folder: str) -> str:
    return TEMPLATE.format(level=level, folder=folder)
