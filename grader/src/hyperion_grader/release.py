"""Build the student repository: skeletons of every level, public tests, the site, a student noxfile.

No reference solution and no hidden test may leave: :func:`verify_release` checks the output and
:func:`build_release` refuses to finish when it finds one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from hyperion_grader.levels import Registry
from hyperion_grader.markers import BEGIN, END
from hyperion_grader.skeleton import SKIP_NAMES, generate_level, level_regions
from hyperion_grader.student_noxfile import render

MIN_LEAK_CHARS = 30  # shorter solution regions ("return a + b") are too generic to look for
_MARKER_LINE = re.compile(rf"^\s*(#|//)\s*({BEGIN}|{END})\s*$", re.M)

README = """# Hyperion (student edition)

Work level by level: each `levelN_*/` folder is your workspace. Functions you write raise
`NotImplementedError("Task N.M: ...")`; the course site in `site/` explains each task.

    pip install nox
    nox -s grade-level0      # public tests of level 0, reported per test file
    nox -s grade-level1

Public tests are a start; your instructor also grades with hidden tests.
"""


def _normalize(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _region_texts(registry: Registry) -> list[tuple[str, str]]:
    out = []
    for level in registry.levels:
        for r in level_regions(level.path):
            lines = Path(r.path).read_text(encoding="utf-8").splitlines()[r.begin : r.end - 1]
            body = _normalize("\n".join(ln for ln in lines if not ln.strip().startswith(("#", "//"))))
            if len(body) >= MIN_LEAK_CHARS:
                out.append((f"{r.path}:{r.begin} (Task {r.task})", body))
    return out


def verify_release(out: Path, registry: Registry) -> list[str]:
    """Problems found in a release folder (empty list: clean)."""
    problems = []
    regions = _region_texts(registry)
    hidden = [p for lvl in registry.levels if lvl.hidden_dir.is_dir() for p in lvl.hidden_dir.rglob("*.py")]
    hidden_texts = [(p, _normalize(p.read_text(encoding="utf-8"))) for p in hidden]
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out)
        if "hidden" in rel.parts or "hyperion_grader" in rel.parts or rel.parts[0] == "grader":
            problems.append(f"{rel}: grader/hidden file in release")
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if _MARKER_LINE.search(text):
            problems.append(f"{rel}: contains a solution marker")
        norm = _normalize(text)
        problems += [f"{rel}: contains the solution of {where}" for where, body in regions if body in norm]
        problems += [
            f"{rel}: contains hidden test {p.name}" for p, body in hidden_texts if body and body in norm
        ]
    return problems


def build_release(registry: Registry, out: Path) -> list[str]:
    """Write the student repository into ``out`` (replaced); returns the level folders written."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    folders = {}
    for level in registry.levels:
        generate_level(level.path, out / level.folder)
        folders[level.number] = level.folder
    site = registry.root / "site"
    if site.is_dir():
        shutil.copytree(site, out / "site", ignore=shutil.ignore_patterns("build", *SKIP_NAMES))
    (out / "noxfile.py").write_text(render(folders), encoding="utf-8")
    (out / "README.md").write_text(README, encoding="utf-8")
    (out / ".gitignore").write_text("__pycache__/\n.nox/\n*.egg-info/\n", encoding="utf-8")
    problems = verify_release(out, registry)
    if problems:
        raise RuntimeError("release leaks:\n  " + "\n  ".join(problems))
    return list(folders.values())
