"""Which levels exist, what each owns, and where its pieces live.

A level folder ``levelN_name/`` at the repository root holds ``pyproject.toml``, ``src/hyperion/...``
(``hyperion`` is a PEP 420 namespace package), ``tests/`` (public tests) and a README. Its hidden tests
live in ``grader/hidden/levelN/``. A level may declare itself in its pyproject::

    [tool.hyperion]
    level = 1
    packages = ["hyperion.tensor", "hyperion.nn"]

otherwise the built-in table below applies (matched by folder name).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PACKAGES: dict[str, list[str]] = {
    "level0_foundations": ["hyperion.foundations"],
    "level1_tensor": [
        "hyperion.tensor",
        "hyperion.nn",
        "hyperion.optim",
        "hyperion.data",
        "hyperion.examples",
    ],
    "level2_transformer": ["hyperion.transformer"],
    "level3_hpc": ["hyperion.kernels", "hyperion.runtime", "hyperion.distributed"],
    "level4_mastery": ["hyperion.physics", "hyperion.repro"],
}
_FOLDER = re.compile(r"^level(\d+)_\w+$")


@dataclass(frozen=True)
class Level:
    """One level of the course, located under a repository root."""

    number: int
    folder: str
    packages: tuple[str, ...]
    root: Path = field(compare=False)

    @property
    def path(self) -> Path:
        return self.root / self.folder

    @property
    def src(self) -> Path:
        return self.path / "src"

    @property
    def hidden_dir(self) -> Path:
        return self.root / "grader" / "hidden" / f"level{self.number}"

    @property
    def workspace(self) -> Path:
        return self.root / "workspace" / self.folder

    @property
    def grades_file(self) -> Path:
        return self.root / "grades" / f"level{self.number}.json"


def _read_level(path: Path, root: Path) -> Level | None:
    match = _FOLDER.match(path.name)
    pyproject = path / "pyproject.toml"
    if not match or not pyproject.is_file() or not (path / "src").is_dir():
        return None
    meta = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("hyperion", {})
    number = int(meta.get("level", match.group(1)))
    packages = meta.get("packages") or DEFAULT_PACKAGES.get(path.name)
    if not packages:
        raise ValueError(f"{pyproject}: no [tool.hyperion] packages and {path.name} is not a known level")
    return Level(number, path.name, tuple(packages), root)


@dataclass(frozen=True)
class Registry:
    """The levels found under one repository root."""

    root: Path
    levels: tuple[Level, ...]

    @classmethod
    def discover(cls, root: Path) -> Registry:
        root = root.resolve()
        found = [lvl for p in sorted(root.iterdir()) if p.is_dir() and (lvl := _read_level(p, root))]
        return cls(root, tuple(sorted(found, key=lambda lvl: lvl.number)))

    def get(self, number: int) -> Level:
        for lvl in self.levels:
            if lvl.number == number:
                return lvl
        known = ", ".join(str(lvl.number) for lvl in self.levels) or "none"
        raise KeyError(f"no level {number} under {self.root} (levels found: {known})")

    def below(self, number: int) -> list[Level]:
        return [lvl for lvl in self.levels if lvl.number < number]


def find_root(start: Path | None = None) -> Path:
    """The repository root: ``$HYPERION_ROOT``, else the first parent of ``start`` (cwd) with ``grader/``
    and a ``level*`` folder beside it."""
    if os.environ.get("HYPERION_ROOT"):
        return Path(os.environ["HYPERION_ROOT"]).resolve()
    here = (start or Path.cwd()).resolve()
    for cand in (here, *here.parents):
        if (cand / "grader").is_dir() and any(cand.glob("level*_*/pyproject.toml")):
            return cand
    raise FileNotFoundError(f"no Hyperion repository root above {here} (set HYPERION_ROOT)")
