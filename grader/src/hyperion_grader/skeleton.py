"""Turn reference sources into learner skeletons: every solution region becomes a stub.

Python: the region becomes ``raise NotImplementedError("Task 1.4: Tensor.permute")`` at the region's
indentation. CUDA/C++ (``.cu``, ``.cuh``): the region becomes a comment line plus
``assert(false && "NotImplementedError: Task 3.2: name");`` -- a kernel loader should call
:func:`cuda_stubs` on a source and raise ``NotImplementedError`` in Python before compiling it.
Everything else (signatures, docstrings, imports, unmarked code, non-source files) is kept as is.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

from hyperion_grader.markers import MarkerError, Region, find_regions
from hyperion_grader.markers_cu import find_regions_cu
from hyperion_grader.workspace_conftest import TEMPLATE as WORKSPACE_CONFTEST

PY_SUFFIXES = {".py"}
CU_SUFFIXES = {".cu", ".cuh"}
SKIP_NAMES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".egg-info"}
_CU_STUB = re.compile(r'assert\(false && "NotImplementedError: (Task \d+\.\d+: [^"]*)"\);')


def py_stub(region: Region) -> str:
    return f'{region.indent}raise NotImplementedError("Task {region.task}: {region.function}")'


def cu_stub(region: Region) -> str:
    msg = f"Task {region.task}: {region.function}"
    return (
        f"{region.indent}// NotImplementedError: {msg} -- write your solution here.\n"
        f'{region.indent}assert(false && "NotImplementedError: {msg}");'
    )


def regions_of(source: str, path: str) -> list[Region]:
    """Solution regions of one file, chosen by suffix (other files have none)."""
    suffix = Path(path).suffix
    if suffix in PY_SUFFIXES:
        return find_regions(source, path)
    if suffix in CU_SUFFIXES:
        return find_regions_cu(source, path)
    return []


def replace_regions(source: str, regions: list[Region], stub) -> str:
    """``source`` with each region's lines (markers included) replaced by ``stub(region)``."""
    lines = source.splitlines(keepends=True)
    for region in sorted(regions, key=lambda r: r.begin, reverse=True):
        lines[region.begin - 1 : region.end] = [stub(region) + "\n"]
    return "".join(lines)


def _keep(region: Region, source_lines: list[str]) -> str:
    """A kept region: its code without the marker lines."""
    return "".join(source_lines[region.begin : region.end - 1]).rstrip("\n")


def skeleton_source(source: str, path: str, keep: frozenset[str] = frozenset()) -> str:
    """The learner's version of one reference file; Python output is checked to parse.

    Regions of tasks in ``keep`` stay filled in (used to check that each task scores alone).
    """
    regions = regions_of(source, path)
    if not regions:
        return source
    lines = source.splitlines(keepends=True)
    cu = Path(path).suffix in CU_SUFFIXES
    stub = cu_stub if cu else py_stub
    out = replace_regions(source, regions, lambda r: _keep(r, lines) if r.task in keep else stub(r))
    if cu:
        return out
    try:
        ast.parse(out, filename=path)
    except SyntaxError as exc:  # pragma: no cover - find_regions refuses what could cause this
        raise MarkerError(path, exc.lineno or 1, f"skeleton does not parse: {exc.msg}") from exc
    return out


def cuda_stubs(source: str) -> list[str]:
    """``["Task 3.2: name", ...]`` for every unimplemented stub left in a CUDA skeleton source."""
    return _CU_STUB.findall(source)


def _skipped(path: Path) -> bool:
    return path.name in SKIP_NAMES or path.suffix in SKIP_SUFFIXES


def iter_level_files(level_dir: Path):
    """Files of a level package that belong in a skeleton, in sorted order."""
    for path in sorted(level_dir.rglob("*")):
        rel = path.relative_to(level_dir)
        if any(_skipped(Path(part)) for part in rel.parts) or not path.is_file():
            continue
        yield path, rel


def level_regions(level_dir: Path) -> list[Region]:
    """Every solution region of a level, validated (raises on the first malformed marker)."""
    found: list[Region] = []
    for path, _ in iter_level_files(level_dir):
        if path.suffix in PY_SUFFIXES | CU_SUFFIXES:
            found += regions_of(path.read_text(encoding="utf-8"), str(path))
    return found


def generate_level(level_dir: Path, target: Path, keep: frozenset[str] = frozenset()) -> list[Region]:
    """Write the skeleton of ``level_dir`` (pyproject, src, public tests, README...) into ``target``.

    All files are transformed in memory first, so a malformed marker leaves ``target`` untouched.
    Returns the regions that were stubbed.
    """
    outputs: list[tuple[Path, bytes]] = []
    regions: list[Region] = []
    for path, rel in iter_level_files(level_dir):
        if path.suffix in PY_SUFFIXES | CU_SUFFIXES:
            text = path.read_text(encoding="utf-8")
            regions += regions_of(text, str(path))
            outputs.append((rel, skeleton_source(text, str(path), keep).encode("utf-8")))
        else:
            outputs.append((rel, path.read_bytes()))
    if (level_dir / "tests").is_dir() and not (level_dir / "conftest.py").exists():
        outputs.append((Path("conftest.py"), WORKSPACE_CONFTEST.encode("utf-8")))  # tests import this src
    if target.exists():
        shutil.rmtree(target)
    for rel, data in outputs:
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        if (level_dir / rel).exists():
            shutil.copymode(level_dir / rel, out)
    return regions
