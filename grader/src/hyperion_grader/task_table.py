"""A pytest plugin shipped in the student release: the public tests, reported per task.

Each test is attributed to the tasks whose functions it called (a trace hook that looks only at
Python function calls and stops at the first line of each), so a stub that raises still counts as
reached; a test stopped by another task's stub (``NotImplementedError: Task X.Y``) is left out of a
task's count and listed as blocked. At the end it prints one row per task (public tests passed /
counted, the first failure) and writes a Gradescope-style ``results.json``: a task's score is its
points times the share of its counted public tests that passed. The hidden tests an instructor
grades with check much more.

    pytest workspace/level1_tensor/tests -p task_table --task-table tasks.json --grades grades/level1.json

``tasks.json``: ``{"level": 1, "tasks": {"1.4": {"title": ..., "points": ..., "functions":
[["hyperion/tensor/ops/elementwise.py", "unbroadcast"], ...]}}}`` (paths relative to ``src/``).
Self-contained: stdlib and pytest only.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("task table")
    group.addoption("--task-table", help="tasks.json of the level (tasks, titles, points, functions)")
    group.addoption("--grades", help="where to write the Gradescope-style results.json")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--task-table"):
        config.pluginmanager.register(TaskTable(config), "task-table-report")


class TaskTable:
    def __init__(self, config: pytest.Config) -> None:
        spec = json.loads(Path(config.getoption("--task-table")).read_text(encoding="utf-8"))
        self.level, self.tasks = spec["level"], spec["tasks"]
        self.grades = config.getoption("--grades")
        self.by_code: dict[tuple[str, str], str] = {}
        self.current: set[str] | None = None
        self.outcomes: dict[str, tuple[str, set[str], str]] = {}
        self.started = time.monotonic()

    def _index(self) -> None:
        """(absolute file, qualname) -> task, for the workspace's src/ the tests import."""
        for root in sys.path:
            folder = Path(root or ".").resolve()
            for task, info in self.tasks.items():
                for rel, qualname in info["functions"]:
                    path = folder / rel
                    if path.is_file():
                        self.by_code.setdefault((os.path.realpath(path), qualname), task)

    def _trace(self, frame, event, arg):  # noqa: ANN001 - sys.settrace's signature
        task = self.by_code.get((frame.f_code.co_filename, frame.f_code.co_qualname))
        if task is not None and self.current is not None:
            self.current.add(task)
        return None  # never trace inside a frame: only calls are seen

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):  # noqa: ANN001
        if not self.by_code:
            self._index()
        self.current = set()
        previous = sys.gettrace()
        sys.settrace(self._trace)
        try:
            yield
        finally:
            sys.settrace(previous)
            self.current = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        reached = set(self.current or ())
        outcome, tasks, message = self.outcomes.get(report.nodeid, ("passed", set(), ""))
        tasks |= reached
        if report.failed and outcome != "failed":
            outcome = "failed"
            message = _first_line(report)
        elif report.skipped and outcome == "passed" and report.when in ("setup", "call"):
            outcome = "skipped"
        self.outcomes[report.nodeid] = (outcome, tasks, message)

    def pytest_terminal_summary(self, terminalreporter) -> None:  # noqa: ANN001
        rows, tests, total, most = [], [], 0.0, 0.0
        for task in sorted(self.tasks, key=lambda t: tuple(int(p) for p in t.split("."))):
            info = self.tasks[task]
            reached = [(nodeid, o, m) for nodeid, (o, ts, m) in self.outcomes.items() if task in ts and o != "skipped"]
            # a test that stopped at another task's stub says nothing about this one: left out of its count
            blocked = [(n, _stub(m)) for n, o, m in reached if o == "failed" and _stub(m) not in (None, task)]
            mine = [(n, o, m) for n, o, m in reached if not (o == "failed" and _stub(m) not in (None, task))]
            passed = sum(o == "passed" for _, o, _ in mine)
            score = info["points"] * passed / len(mine) if mine else 0.0
            first = next((f"{nodeid.split('::')[-1]}: {m}" for nodeid, o, m in mine if o == "failed"), "")
            if not mine:
                first = f"its {len(blocked)} public test(s) stop at other tasks' stubs" if blocked else \
                    "no public test reached this task"
            rows.append((task, info["title"], f"{passed}/{len(mine)}", f"{score:g}/{info['points']:g}", first))
            total, most = total + score, most + info["points"]
            lines = [f"[{'PASS' if o == 'passed' else 'FAIL'}] {n.split('::')[-1]}{': ' + m if m else ''}"
                     for n, o, m in mine]
            lines += [f"[BLOCKED] {n.split('::')[-1]}: stops at the stub of task {stub}" for n, stub in blocked]
            tests.append({"name": f"Task {task}: {info['title']}", "number": task, "score": round(score, 4),
                          "max_score": info["points"], "output": "\n".join(lines) or first,
                          "visibility": "visible"})
        write = terminalreporter.write_line
        write("")
        write(f"Level {self.level}, public tests per task (points: the share of its public tests that pass)")
        header = ("Task", "Title", "Tests", "Points", "First failure")
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            write("  ".join(str(c).ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4][:100])
        write(f"Total: {total:g}/{most:g} from the public tests; your instructor also grades with hidden tests")
        if self.grades:
            out = Path(self.grades)
            out.parent.mkdir(parents=True, exist_ok=True)
            data = {"score": round(total, 4), "max_score": most,
                    "execution_time": round(time.monotonic() - self.started, 2),
                    "output": f"Level {self.level} (public tests): {total:g}/{most:g}", "tests": tests}
            out.write_text(json.dumps(data, indent=2), encoding="utf-8")
            write(f"Wrote {out}")


def _stub(message: str) -> str | None:
    """The task whose stub stopped a test (``NotImplementedError: Task 1.8: toposort``), if one did."""
    match = re.search(r"NotImplementedError: Task (\d+\.\d+)", message)
    return match.group(1) if match else None


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return (text.strip().splitlines() or [""])[0][:300]
