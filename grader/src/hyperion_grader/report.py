"""Reports: a per-task table on the terminal and Gradescope's ``results.json``."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hyperion_grader.checks import shorten
from hyperion_grader.judge import GradeReport, TaskResult


def _output(r: TaskResult) -> str:
    lines = []
    if r.grader_error:
        lines.append(f"GRADER ERROR: {r.grader_error}")
    if r.message:
        lines.append(r.message)
    for p in r.probes:
        mark = "PASS" if p.passed else "FAIL"
        first = p.message.strip().splitlines()[0] if p.message.strip() else ""
        lines.append(f"[{mark}] {p.name} ({p.seconds:.2f}s){': ' + first if first else ''}")
    if r.score < r.task.points and r.output.strip():
        tail = r.output.strip().splitlines()[-15:]
        lines += ["", "--- output of your code (last lines) ---", *tail]
    return "\n".join(lines)


PRACTICE_BANNER = (
    "PRACTICE MODE: no OS sandbox here ({why}); your code ran as you, guarded only in-process. "
    "This result is not tamper-proof."
)


def mode_line(report: GradeReport) -> str:
    if report.mode == "sealed":
        return "Mode: sealed (every child ran in an OS sandbox)"
    return PRACTICE_BANNER.format(why=report.why_practice or "unknown")


def unfinished(level: int) -> dict:
    """The grades file written before grading starts: what stays if the judge itself is killed."""
    return {"score": 0.0, "max_score": 0.0, "output": f"Level {level}: grading did not finish", "tests": []}


def gradescope(report: GradeReport) -> dict:
    """The report as Gradescope ``results.json``."""
    return {
        "score": round(report.score, 4),
        "max_score": report.max_score,
        "execution_time": round(report.seconds, 2),
        "mode": report.mode,
        "output": f"Level {report.level.number}: {report.score:g}/{report.max_score:g}\n{mode_line(report)}",
        "tests": [
            {
                "name": r.task.name,
                "number": r.task.task,
                "score": round(r.score, 4),
                "max_score": r.task.points,
                "output": _output(r),
                "visibility": r.task.visibility,
            }
            for r in report.results
        ],
    }


def write_json(path: Path, data: dict) -> None:
    """Write atomically, replacing whatever is at ``path`` (file, symlink or directory)."""
    path = Path(os.path.abspath(path))
    if path.parent.exists() and not path.parent.is_dir():
        path.parent.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def print_table(report: GradeReport, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"Level {report.level.number}: {report.submission}")
    for col, just in (
        ("Task", "left"),
        ("Title", "left"),
        ("Points", "right"),
        ("Time", "right"),
        ("First failure", "left"),
    ):
        table.add_column(col, justify=just, overflow="fold")
    for r in report.results:
        style = "green" if r.score == r.task.points else ("red" if r.score == 0 else "yellow")
        table.add_row(
            r.task.task,
            r.task.title,
            f"[{style}]{r.score:g}/{r.task.points:g}[/{style}]",
            f"{r.seconds:.1f}s",
            shorten(r.first_failure or "", 160),  # the middle goes: the end says how many elements differ
        )
    console.print(table)
    console.print(f"[bold]Total: {report.score:g}/{report.max_score:g}[/bold] in {report.seconds:.1f}s")
    style = "green" if report.mode == "sealed" else "bold yellow"
    console.print(f"[{style}]{mode_line(report)}[/{style}]")
    for err in report.grader_errors:
        console.print(f"[bold red]grader error[/bold red] {err}")
