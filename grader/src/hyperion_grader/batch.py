"""Grade a class: every hand-in in a folder, each in its own grader process, W at a time.

    python -m hyperion_grader batch --level 1 --submissions hand-ins/ --workers 2 [--out DIR]

``hand-ins/<student>/`` is laid out like the skeleton (``src/...``). Each is graded by the same
``grade`` command a learner runs, in a process of its own (its own sandboxes, its own time
limits): one hand-in cannot change another's score. The processes are forked from one server that
imported the grader once (``multiprocessing``'s forkserver), so a class does not pay the grader's
start-up (about a third of a small grading) once per hand-in. Results: ``<out>/<student>/results.json``
(Gradescope's schema) and ``<out>/grades.csv``; a rerun grades only the hand-ins without a finished
``results.json`` (resumable). Timed (EXCLUSIVE) tasks take a machine-wide lock, so no other hand-in
runs while a performance threshold is measured. All W workers start at once: the first grading that
needs a task's reference result computes it, the others wait for its cache file (the judge's per-key
lock), so a slow first hand-in no longer holds the rest of the class. Worker k's gradings run their
sandboxes as uids of their own (block k of the box uid range), so a box at its process limit cannot
starve another hand-in's box.

Called from a script (not ``python -m``), each forked grading first re-runs the script's top level as
``__mp_main__`` (``multiprocessing``'s rule): keep its imports light and its work under
``if __name__ == "__main__":`` (``grader/bench/batch_class.py`` does; importing pytest there cost
0.1 s of CPU per hand-in).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import multiprocessing.connection
import os
import queue
import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from hyperion_grader import box

SEALED = ["--require-sealed"]  # class grading refuses to run without the OS sandbox (--allow-practice: opt out)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass
class Outcome:
    name: str
    results: dict | None
    seconds: float
    error: str = ""
    started: float = 0.0  # time.monotonic() when its grading began (0.0: finished by an earlier run)
    worker: int = -1  # the batch worker that graded it


def hand_ins(folder: Path) -> list[Path]:
    """The hand-in folders under ``folder`` (sorted); a name that is not a plain file name is refused."""
    if not folder.is_dir():
        raise FileNotFoundError(f"--submissions {folder} is not a folder")
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_dir() or path.name.startswith("."):
            continue
        if not _NAME.match(path.name):
            raise ValueError(f"hand-in folder name {path.name!r}: use letters, digits, '.', '_' and '-' only")
        found.append(path)
    return found


def finished(results_file: Path) -> dict | None:
    """The results of an earlier run, if it completed (a valid Gradescope file with a score)."""
    try:
        data = json.loads(results_file.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "score" in data and "tests" in data else None


# Process.start() polls every other live child (multiprocessing's _cleanup); a poll racing another thread's
# join on the same child reads the forkserver's exit status once, and the loser reports exit 255
# (measured: 30 of 600 children of 4 threads). Starts and joins take turns; the waiting does not.
_polling = threading.Lock()
_PRELOAD = ["hyperion_grader.cli", "hyperion_grader.judge", "hyperion_grader.report", "numpy", "rich.console"]
_context = None


def _forkserver():
    """The forkserver context, its server preloaded with the grader (started once, on first use)."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(_PRELOAD)
    return _context


def _grade_in_child(argv: list[str], log: str, lock: str, uid_block: tuple[int, int],
                    sandbox: tuple[str, str]) -> None:
    """In a fresh forked process: stdout and stderr to ``log``, then the CLI, exactly as a learner runs it
    (the sandbox mode as the batch found it once, the boxes' uids from the worker's block)."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ["HYPERION_GRADER_LOCK"] = lock
    from hyperion_grader.cli import main

    box.found(*sandbox)
    box.use_uid_block(*uid_block)
    sys.exit(main(argv))


def run_in_forkserver(target, args: tuple, timeout: float) -> int | None:
    """``target(*args)`` in a process forked from the preloaded server: its exit code, None if it ran past
    ``timeout`` seconds (then it is killed). Safe to call from several threads at once."""
    child = _forkserver().Process(target=target, args=args, daemon=True)
    with _polling:
        child.start()
    in_time = bool(multiprocessing.connection.wait([child.sentinel], timeout))
    with _polling:
        if not in_time:
            child.kill()
        child.join()
    return child.exitcode if in_time else None


def grade_one(root: Path, level: int, hand_in: Path, out: Path, lock: Path, extra: list[str],
              timeout: float, worker: int = 0, workers: int = 1) -> Outcome:
    """One hand-in through the ``grade`` command in its own process (its boxes: uid block ``worker``)."""
    folder = out / hand_in.name
    folder.mkdir(parents=True, exist_ok=True)
    results_file, log = folder / "results.json", folder / "grader.log"
    argv = ["--root", str(root), "grade", "--level", str(level), "--submission", str(hand_in),
            "--json", str(results_file), *extra]
    start = time.monotonic()
    sandbox = (box.mode(), box.why_practice())  # tried once per process (a box started and ended)
    exitcode = run_in_forkserver(_grade_in_child, (argv, str(log), str(lock), (worker, workers), sandbox), timeout)
    error = ""
    if exitcode is None:
        error = f"grading took longer than {timeout:.0f} s"
    elif exitcode not in (0, 1):
        tail = log.read_text(errors="replace").strip()[-500:] if log.exists() else ""
        error = f"grader exit {exitcode}: {tail}"
    return Outcome(hand_in.name, finished(results_file), time.monotonic() - start, error, start, worker)


def grade_index(root: Path, level: int, submissions: Path, out: Path, index: int, extra: list[str]) -> Outcome:
    """The hand-in at ``index`` in sorted order (a Kubernetes Indexed Job's pod grades one)."""
    found = hand_ins(submissions)
    if not 0 <= index < len(found):
        raise ValueError(f"index {index} is out of range: {submissions} holds {len(found)} hand-ins")
    return grade_one(root, level, found[index], out, out / ".machine.lock", extra, timeout=3600.0)


def write_csv(path: Path, outcomes: list[Outcome]) -> None:
    """One row per hand-in: total, then each task's score (columns in task order)."""
    tasks: list[str] = []
    for o in outcomes:
        for t in (o.results or {}).get("tests", []):
            if t["number"] not in tasks:
                tasks.append(t["number"])
    tasks.sort(key=lambda t: tuple(int(x) for x in t.split(".")))
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "score", "max_score", *tasks, "error"])
        for o in sorted(outcomes, key=lambda o: o.name):
            r = o.results or {}
            by_task = {t["number"]: t["score"] for t in r.get("tests", [])}
            writer.writerow([o.name, r.get("score", 0), r.get("max_score", ""),
                             *[by_task.get(t, "") for t in tasks], _one_line(o.error)])
    tmp.replace(path)


def _one_line(text: str) -> str:
    """A log tail as one CSV cell on one line (a spreadsheet row per hand-in)."""
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())


def failures_by_task(outcomes: list[Outcome]) -> Counter:
    """How many hand-ins lost points on each task."""
    lost: Counter = Counter()
    for o in outcomes:
        for t in (o.results or {}).get("tests", []):
            if t["score"] < t["max_score"]:
                lost[f"{t['number']} {t['name']}"] += 1
    return lost


def run_batch(root: Path, level: int, submissions: Path, out: Path, workers: int, extra: list[str],
              timeout: float = 3600.0, console: Console | None = None) -> list[Outcome]:
    """Grade every unfinished hand-in, ``workers`` at a time; ``grades.csv`` covers the whole class."""
    console = console or Console()
    if not 1 <= workers <= box.BOX_UIDS // 16:
        raise ValueError(f"--workers must be from 1 to {box.BOX_UIDS // 16}, got {workers}")
    box.mode()  # the sandbox is tried here, once for the class (each grading is told the answer)
    out.mkdir(parents=True, exist_ok=True)
    lock = out / ".machine.lock"
    todo, outcomes = [], []
    for hand_in in hand_ins(submissions):
        earlier = finished(out / hand_in.name / "results.json")
        if earlier is not None:
            outcomes.append(Outcome(hand_in.name, earlier, 0.0))
        else:
            todo.append(hand_in)
    console.print(f"{len(outcomes)} already graded, {len(todo)} to grade with {workers} workers")
    with Progress(console=console, transient=False) as progress:
        bar = progress.add_task(f"level {level}", total=len(todo))

        idle: queue.SimpleQueue[int] = queue.SimpleQueue()  # the workers free now; each its own uid block
        for worker in range(workers):
            idle.put(worker)

        def one(hand_in: Path) -> Outcome:
            worker = idle.get()
            try:
                return grade_one(root, level, hand_in, out, lock, extra, timeout, worker, workers)
            finally:
                idle.put(worker)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in as_completed([pool.submit(one, h) for h in todo]):
                outcomes.append(future.result())
                progress.advance(bar)
    write_csv(out / "grades.csv", outcomes)
    errors = [o for o in outcomes if o.error or o.results is None]
    console.print(f"Wrote {out / 'grades.csv'} ({len(outcomes)} hand-ins)")
    for task, count in failures_by_task(outcomes).most_common():
        console.print(f"  {count:4d} lost points on {task}")
    for o in errors:
        console.print(f"[red]not graded[/red] {o.name}: {o.error or 'no results.json'}")
    return outcomes
