"""Fixtures: a private copy of the toy repository (levels 98 and 99) and submission builders."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from hyperion_grader.judge import GradeConfig, GradeReport, grade
from hyperion_grader.levels import Registry
from hyperion_grader.markers import find_regions

FIXTURE = Path(__file__).parent / "fixtures" / "toyrepo"
OPS = Path("src/hyperion/toy/ops.py")
BASIC = ["99.1", "99.2", "99.3"]  # the speed task (99.4) is left out where it does not matter
FULL = {"99.1": 3.0, "99.2": 5.0, "99.3": 2.0}


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("refcache")


@pytest.fixture
def toy(tmp_path) -> Registry:
    root = tmp_path / "toyrepo"
    shutil.copytree(FIXTURE, root)
    return Registry.discover(root)


def make_submission(registry: Registry, name: str, bodies: dict[str, str], prelude: str = "") -> Path:
    """Copy level 99's reference to ``<tmp>/subs/<name>`` replacing each given task's region by code."""
    level = registry.get(99)
    dest = registry.root.parent / "subs" / name
    shutil.copytree(level.path, dest)
    path = dest / OPS
    source = path.read_text()
    lines = source.splitlines(keepends=True)
    for region in sorted(find_regions(source, str(path)), key=lambda r: -r.begin):
        if region.task in bodies:
            code = textwrap.indent(textwrap.dedent(bodies[region.task]).strip("\n"), region.indent)
            lines[region.begin - 1 : region.end] = [code + "\n"]
    text = "".join(lines)
    if prelude:
        text = text.replace("SCALE_DEFAULT = 1.0", textwrap.dedent(prelude) + "\nSCALE_DEFAULT = 1.0")
    path.write_text(text)
    return dest


def run_grade(
    registry: Registry, submission: Path | None, cache_dir: Path, only=BASIC, timeout_scale: float = 1.0, **kw
) -> GradeReport:
    cfg = GradeConfig(
        registry, 99, submission, cache_dir=cache_dir, only=only, timeout_scale=timeout_scale, **kw
    )
    return grade(cfg)


def scores(report: GradeReport) -> dict[str, float]:
    return {r.task.task: r.score for r in report.results}
