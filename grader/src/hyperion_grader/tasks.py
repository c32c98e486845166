"""Load hidden-test files (one task each) in the judge: metadata, probes in order, their checks."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hyperion_grader.checks import assert_match
from hyperion_grader.hidden import PROBE_ATTR, ProbeOptions

VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}
_TASK = re.compile(r"^\d+\.\d+$")


@dataclass(frozen=True)
class Probe:
    name: str
    options: ProbeOptions
    check: Callable[[object, object], None]


@dataclass(frozen=True)
class Task:
    """One hidden-test file."""

    task: str
    title: str
    points: float
    probes: tuple[Probe, ...]
    path: Path
    source: str
    timeout: float = 60.0
    memory_mb: int | None = 4096
    partial: bool = False
    exclusive: bool = False
    visibility: str = "visible"
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return f"Task {self.task}: {self.title}"

    @property
    def sort_key(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.task.split("."))

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()


def _default_check(options: ProbeOptions) -> Callable[[object, object], None]:
    def check(sub, ref):
        assert_match(sub, ref, options.rtol, options.atol)

    return check


def load_task(path: Path) -> Task:
    """Import one hidden-test file in the judge and describe it; raises ValueError when malformed."""
    source = path.read_text(encoding="utf-8")
    name = f"hyperion_hidden_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    ns = vars(module)
    task = ns.get("TASK")
    if type(task) is not str or not _TASK.match(task):
        raise ValueError(f"{path}: TASK must be a string like '1.5'")
    probes = []
    for attr, fn in ns.items():
        options = getattr(fn, PROBE_ATTR, None)
        if callable(fn) and isinstance(options, ProbeOptions):
            probes.append(Probe(attr, options, ns.get(f"check_{attr}") or _default_check(options)))
    if not probes:
        raise ValueError(f"{path}: no @probe functions")
    visibility = ns.get("VISIBILITY", "visible")
    if visibility not in VISIBILITIES:
        raise ValueError(f"{path}: VISIBILITY must be one of {sorted(VISIBILITIES)}")
    return Task(
        task=task,
        title=str(ns.get("TITLE", path.stem)),
        points=float(ns.get("POINTS", 1)),
        probes=tuple(probes),
        path=path,
        source=source,
        timeout=float(ns.get("TIMEOUT", 60)),
        memory_mb=ns.get("MEMORY_MB", 4096),
        partial=bool(ns.get("PARTIAL", False)),
        exclusive=bool(ns.get("EXCLUSIVE", False)),
        visibility=visibility,
    )


def load_tasks(hidden_dir: Path) -> list[Task]:
    """Every ``task_*.py`` of a level's hidden folder, in task order; duplicate task numbers refused."""
    tasks = [load_task(p) for p in sorted(hidden_dir.glob("task_*.py"))] if hidden_dir.is_dir() else []
    seen: dict[str, Path] = {}
    for t in tasks:
        if t.task in seen:
            raise ValueError(f"task {t.task} defined twice: {seen[t.task]} and {t.path}")
        seen[t.task] = t.path
    return sorted(tasks, key=lambda t: t.sort_key)
