"""Hyperion's one entry point: tests, lint, docs, and per level start / grade / bench; release.

    nox -s tests              every level's CPU tests + the grader's self-checks
    nox -s lint               ruff
    nox -s start-level1       write your workspace (workspace/level1_tensor) from the reference
    nox -s grade-level1       grade your workspace, or the reference if you have none
    nox -s bench-level1       benchmarks, ratios measured side by side, markdown tables
    nox -s bench-level2       FlashAttention vs naive and PyTorch (time, peak memory, plots)
    nox -s repro-fno          Level 4: the FNO paper reproduction (GPU), REPORT.md and figures
    nox -s docs               build the course site (site/)
    nox -s release -- DIR N   the student repository of level N (site built first if stale)
    nox -s lock               re-resolve constraints.txt (every third-party pin of every session)
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).parent
nox.options.sessions = ["lint", "tests", "docs"]
nox.options.reuse_existing_virtualenvs = True

# One lock for every session: each pip install below (and the build environments of the levels) is
# constrained to constraints.txt, so a new release upstream cannot change what CI installs.
CONSTRAINTS = ROOT / "constraints.txt"
os.environ["PIP_CONSTRAINT"] = str(CONSTRAINTS)

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
    session.install(*[arg for folder in LEVELS.values() for arg in ("-e", _with_cpu_extras(folder))])
    session.install("-e", "grader[test]", "pytest>=8", "hypothesis>=6", TORCH)
    paths = [f"{folder}/tests" for folder in LEVELS.values() if (ROOT / folder / "tests").is_dir()] + ["grader/tests"]
    session.run("pytest", "-q", "-ra", *paths, *session.posargs)


@nox.session(name="gpu-tests")
def gpu_tests(session: nox.Session) -> None:
    """Only the CUDA tests (run on a machine with an NVIDIA GPU and CuPy)."""
    _install_levels(session, 1, "cuda,test")
    session.run("pytest", "-q", "-ra", "level1_tensor/tests/test_cuda.py", *session.posargs)


# extras a level's hidden tests read: level 1's "data" is the bundled MNIST of Task 1.25 (without it the
# reference scored 0/10 there through `nox -s grade-level1`, 2026-12-07)
GRADED_EXTRAS = ("data",)


def _third_party_needs(folder: str) -> list[str]:
    """The level's own dependencies from its pyproject, less the Hyperion levels (numpy, numba, ...), and those
    of its extras in ``GRADED_EXTRAS``."""
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    deps = project.get("dependencies", []) + [dep for name in GRADED_EXTRAS for dep in extras.get(name, [])]
    return [dep for dep in deps if not dep.startswith("hyperion-")]


def _with_cpu_extras(folder: str) -> str:
    """``folder[every extra but cuda]``: what a level's CPU tests need (test oracles, data, plots)."""
    project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [name for name in project.get("optional-dependencies", {}) if name != "cuda"]
    return f"{folder}[{','.join(extras)}]" if extras else folder


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
            session.install(*_third_party_needs(folder))
        session.run("python", "-m", "hyperion_grader", command, "--level", str(number), *session.posargs)

    session_fn.__doc__ = f"{command.capitalize()} level {number} ({folder})."


for _number in LEVELS:
    for _command in ("start", "grade"):
        _grader_session(_number, _command)


@nox.session
def release(session: nox.Session) -> None:
    """``-- DIR N``: the student repository of level N (its skeleton, the reference below as wheels, the
    site prebuilt; no solution of level N or above, no hidden test). Builds the site first if stale."""
    if len(session.posargs) != 2:
        session.error("usage: nox -s release -- DIR LEVEL   (e.g. nox -s release -- release/level1 1)")
    out, level = session.posargs
    _site_install(session)
    if _site_is_stale():
        _site_build(session)
    session.run("python", "-m", "hyperion_grader", "release", "--out", out, "--level", level,
                "--site", str(SITE_BUILD))


@nox.session(name="bench-level1")
def bench_level1(session: nox.Session) -> None:
    """Level 1 benchmarks vs numpy and PyTorch CPU, side by side in one run (markdown tables)."""
    _install_levels(session, 1, "data,examples")
    session.install(TORCH)
    session.run("python", "-m", "hyperion.examples.bench", *session.posargs)


@nox.session(name="bench-level4")
def bench_level4(session: nox.Session) -> None:
    """FDTD: Mcells/s of numpy and numba side by side (``-- --gpu`` adds CUDA), the physics checks, figures."""
    _install_levels(session, 4, "validate,plots")
    session.run("python", "-m", "hyperion.physics.bench", *session.posargs)
    session.run("python", "-m", "hyperion.physics.bench_grad3d", "--backend", "numba", "--size", "64", "--steps", "200")
    session.run("python", "-m", "hyperion.physics.validate")
    session.run("python", "-m", "hyperion.physics.plots", "--out", "site/docs/level4/img")


@nox.session(name="bench-level2")
def bench_level2(session: nox.Session) -> None:
    """FlashAttention vs naive attention and PyTorch SDPA: time and peak memory (``-- --device cuda`` on a GPU)."""
    _install_levels(session, 2, "train")
    session.install(TORCH)
    session.run("python", "-m", "hyperion.transformer.flash.bench", *session.posargs)


@nox.session(name="repro-fno")
def repro_fno(session: nox.Session) -> None:
    """Level 4: reproduce the FNO paper (data, speed vs PyTorch, training, zero-shot, REPORT.md + figures).

    ``nox -s repro-fno -- OUT [run.py options]``; the full protocol wants a GPU with CuPy and a CUDA
    PyTorch (set HYPERION_TORCH to its requirement; the default is the CPU wheel).
    """
    import os

    _install_levels(session, TOP, "repro")
    session.install(os.environ.get("HYPERION_TORCH", TORCH))
    out = session.posargs[0] if session.posargs else "level4_mastery/results/fno_latest"
    commit = session.run("git", "rev-parse", "--short", "HEAD", silent=True, external=True).strip()
    session.run("python", "-m", "hyperion.repro.fno.run", "--out", out, "--commit", commit, *session.posargs[1:])
    session.run("python", "-m", "hyperion.repro.fno.report", out)


@nox.session(name="gpu-tests-level3")
def gpu_tests_level3(session: nox.Session) -> None:
    """Level 3's kernel tests on a GPU machine (they skip with a reason elsewhere)."""
    _install_levels(session, 3, "cuda,test")
    session.run("pytest", "-q", "-ra", "level3_hpc/tests", *session.posargs)


@nox.session(name="repro-flash", venv_backend="none")
def repro_flash(session: nox.Session) -> None:
    """On a GPU machine, with its own CUDA PyTorch and CuPy: FlashAttention's claims re-measured
    (speed vs N, peak memory, ncu DRAM bytes vs block size, exactness). ``-- --out DIR`` keeps the tables."""
    path = ":".join(str(ROOT / LEVELS[n] / "src") for n in range(4))
    session.run("python3", "-m", "hyperion.transformer.flash.repro", *session.posargs, env={"PYTHONPATH": path},
                external=True)


@nox.session(name="bench-level3")
def bench_level3(session: nox.Session) -> None:
    """On a GPU machine: level 3 tests, benchmarks, ncu, compute-sanitizer -> level3_hpc/REPORT.md + plots."""
    _install_levels(session, 3, "cuda,bench,test")
    session.install("-e", "grader")
    session.run("bash", "level3_hpc/gpu_run.sh", *session.posargs, env={"PYTHON": "python"}, external=True)


SITE_BUILD = ROOT / "site" / "build"
# what the built site is made from (site/*.py: hooks, diagrams, figure data, slides): a build older
# than any of these is rebuilt by docs-check / serve
SITE_SOURCES = ["site/docs", "site/mkdocs.yml", "site/*.py", "site/requirements.txt", "level*_*/src"]


def _site_install(session: nox.Session) -> None:
    """The site's tools (pinned) and every level (the notebooks run them, the API reference reads them)."""
    session.install("-r", "site/requirements.txt")
    _install_levels(session, TOP)
    session.install("-e", "grader")  # gen_task_index reads CUDA tasks with the grader's marker scanner


def _site_build(session: nox.Session) -> None:
    """Task indexes from the code, every page snippet run, notebooks executed, --strict, nothing from a CDN."""
    import os

    # CI checks that the committed task indexes match the code; locally they are rewritten
    session.run("python", "site/gen_task_index.py", *(["--check"] if os.environ.get("CI") else []))
    session.run("python", "site/check_snippets.py")
    session.run("mkdocs", "build", "--strict", "-f", "site/mkdocs.yml", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "site/check_offline.py")


def _site_is_stale() -> bool:
    built = SITE_BUILD / "index.html"
    if not built.is_file():
        return True
    files = (p for pattern in SITE_SOURCES for top in ROOT.glob(pattern)
             for p in ([top] if top.is_file() else top.rglob("*")))
    newest = max((p.stat().st_mtime for p in files
                  if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)), default=0.0)
    return newest > built.stat().st_mtime


@nox.session
def docs(session: nox.Session) -> None:
    """Build the course site into site/build (mkdocs --strict; notebooks executed; offline-checked)."""
    _site_install(session)
    _site_build(session)


@nox.session
def serve(session: nox.Session) -> None:
    """Serve the built site on http://127.0.0.1:8000 (built first if stale); -- --live: mkdocs serve."""
    _site_install(session)
    if "--live" in session.posargs:  # live reload; every notebook re-runs on each change
        session.run("mkdocs", "serve", "-f", "site/mkdocs.yml", "-a", "127.0.0.1:8000",
                    env={"NO_MKDOCS_2_WARNING": "1"})
        return
    if _site_is_stale():
        _site_build(session)
    session.run("python", "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(SITE_BUILD), "8000")


@nox.session(name="docs-check")
def docs_check(session: nox.Session) -> None:
    """The built site in headless Chromium (/usr/bin/chromium): console, links, math, figures, search."""
    _site_install(session)
    session.install("pytest>=8")
    if _site_is_stale() or "--rebuild" in session.posargs:
        _site_build(session)
    session.run("pytest", "-q", "-ra", "site/tests/test_hooks.py", "site/tests/test_browser.py",
                *[a for a in session.posargs if a != "--rebuild"])


# what `nox -s lock` resolves besides the levels' and the grader's own dependencies: the sessions' tools
LOCK_TOOLS = ["nox>=2024.4", "ruff>=0.6", "pytest>=8", "hypothesis>=6", "hatchling>=1.21", TORCH]


def _lock_requirements() -> list[str]:
    """Every third-party requirement of every session: each package's dependencies and extras, the site's."""
    reqs = list(LOCK_TOOLS)
    for folder in [*LEVELS.values(), "grader"]:
        project = tomllib.loads((ROOT / folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        for dep in [*project.get("dependencies", []), *sum(project.get("optional-dependencies", {}).values(), [])]:
            if not dep.startswith("hyperion-"):
                reqs.append(dep)
    site = (ROOT / "site" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    reqs += [line.split("#")[0].strip() for line in site if line.split("#")[0].strip()]
    return sorted(set(reqs))


@nox.session
def lock(session: nox.Session) -> None:
    """Resolve every session's third-party requirements together (Python 3.11) into constraints.txt."""
    import json

    report = Path(session.create_tmp()) / "resolution.json"
    # the old lock must not constrain the new one; --ignore-installed: resolve everything, install nothing
    session.run("python", "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
                "--report", str(report), *_lock_requirements(), env={"PIP_CONSTRAINT": ""})
    pins = sorted(
        (item["metadata"]["name"].lower(), item["metadata"]["version"].split("+")[0])  # 2.13.0+cpu: 2.13.0
        for item in json.loads(report.read_text())["install"]
    )
    header = ("# Every third-party package of every nox session, resolved together on Python 3.11.\n"
              "# Do not edit: `nox -s lock` rewrites it from the pyprojects and site/requirements.txt.\n")
    CONSTRAINTS.write_text(header + "".join(f"{name}=={version}\n" for name, version in pins), encoding="utf-8")
    session.log(f"{CONSTRAINTS.name}: {len(pins)} pins")
