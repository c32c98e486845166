"""Hyperion's one entry point: tests, lint, docs, and per level start / grade / bench; release.

    nox -s tests              every level's CPU tests + the grader's self-checks
    nox -s lint               ruff
    nox -s start-level1       write your workspace (workspace/level1_tensor) from the reference
    nox -s grade-level1       grade your workspace, or the reference if you have none
    nox -s bench-level1       benchmarks, ratios measured side by side, markdown tables
    nox -s docs               build the course site (site/)
    nox -s release -- DIR     build the student repository
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.sessions = ["lint", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = True

# Every level folder that is a package (levelN_name/pyproject.toml), by number: 0, 1, 2, ...
LEVELS = {
    int(path.name[5 : path.name.index("_")]): path.name
    for path in sorted(ROOT.glob("level*_*"))
    if (path / "pyproject.toml").is_file()
}
TOP = max(LEVELS)
TORCH = "torch==2.13.0"  # the CPU wheel on disk: PyTorch is the test oracle, never a dependency


def _install_levels(session: nox.Session, upto: int, extras: str = "") -> None:
    args = []
    for number in range(upto + 1):
        folder = LEVELS[number]
        args += ["-e", f"{folder}[{extras}]" if extras and number == upto else folder]
    session.install(*args)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over every package."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session
def tests(session: nox.Session) -> None:
    """CPU tests of every level and of the grader (GPU tests skip here with a reason)."""
    _install_levels(session, TOP)
    session.install("-e", "level1_tensor[data,examples,test]", "-e", f"{LEVELS[TOP]}[test]")
    session.install("-e", "grader", "pytest>=8", "hypothesis>=6", TORCH)
    paths = [f"{folder}/tests" for folder in LEVELS.values()] + ["grader/tests"]
    session.run("pytest", "-q", "-ra", *paths, *session.posargs)


@nox.session(name="gpu-tests")
def gpu_tests(session: nox.Session) -> None:
    """Only the CUDA tests (run on a machine with an NVIDIA GPU and CuPy)."""
    _install_levels(session, 1, "cuda,test")
    session.run("pytest", "-q", "-ra", "level1_tensor/tests/test_cuda.py", *session.posargs)


def _grader_session(number: int, command: str) -> None:
    folder = LEVELS[number]

    @nox.session(name=f"{command}-level{number}")
    def session_fn(session: nox.Session) -> None:
        session.install("-e", "grader")
        if command == "grade":
            # the levels below (reference), and the graded level's third-party needs -- not its code:
            # the grader keeps the graded level's reference out of the submission's process
            if number > 0:
                _install_levels(session, number - 1)
            session.install("numpy>=1.26", "scipy>=1.11")
        session.run("python", "-m", "hyperion_grader", command, "--level", str(number), *session.posargs)

    session_fn.__doc__ = f"{command.capitalize()} level {number} ({folder})."


for _number in LEVELS:
    for _command in ("start", "grade"):
        _grader_session(_number, _command)


@nox.session
def release(session: nox.Session) -> None:
    """Build the student repository (skeletons, public tests, site; no solutions, no hidden tests)."""
    session.install("-e", "grader")
    out = session.posargs[0] if session.posargs else "release"
    session.run("python", "-m", "hyperion_grader", "release", "--out", out)


@nox.session(name="bench-level1")
def bench_level1(session: nox.Session) -> None:
    """Level 1 benchmarks vs numpy and PyTorch CPU, side by side in one run (markdown tables)."""
    _install_levels(session, 1, "data,examples")
    session.install(TORCH)
    session.run("python", "-m", "hyperion.examples.bench", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the course site into site/build: task index from the code, every snippet run, no CDN."""
    session.install("-r", "site/requirements.txt")
    _install_levels(session, 1)
    session.run("python", "site/gen_task_index.py")
    session.run("python", "site/check_snippets.py")
    session.run("mkdocs", "build", "--strict", "-f", "site/mkdocs.yml", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "site/check_offline.py")
