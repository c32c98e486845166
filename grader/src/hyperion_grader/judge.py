"""The judge: runs each task's probes in sandboxed children (reference and submission) and decides.

The judge never imports the submission. It loads the hidden tests (for their checks), computes or
fetches the reference's data, and compares decoded plain data only. Its state lives in memory until
every child is done; the report is written afterwards by the caller.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import site
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hyperion_grader import box, procs, wire
from hyperion_grader.levels import Level, Registry
from hyperion_grader.perf import RaceError, run_race
from hyperion_grader.sandbox import ChildOutcome, Server, grader_sources, run_child
from hyperion_grader.scan import Finding, scan_tree
from hyperion_grader.skeleton import level_regions
from hyperion_grader.tasks import Task, load_tasks


@dataclass
class GradeConfig:
    """What to grade and how."""

    registry: Registry
    level: int
    submission: Path | None = None  # a level folder laid out like the skeleton (with src/)
    use_own_lower: bool = False
    jobs: int = max(1, os.cpu_count() or 1)
    timeout_scale: float = 1.0
    cache_dir: Path | None = None
    only: list[str] | None = None  # task numbers to grade (all when None)
    time_limit: float = 3600.0  # seconds for the whole grading; tasks not finished by then score 0


@dataclass
class ProbeResult:
    name: str
    passed: bool
    message: str
    seconds: float


@dataclass
class TaskResult:
    task: Task
    score: float
    seconds: float
    probes: list[ProbeResult] = field(default_factory=list)
    message: str = ""  # task-level failure (timeout, crash, violation...)
    grader_error: str = ""
    output: str = ""

    @property
    def first_failure(self) -> str:
        text = (self.grader_error or self.message).strip()
        if text:
            return text.splitlines()[-1]
        # a probe's message leads with its summary line (then the traceback, if any)
        probe = next((p.message.strip() for p in self.probes if not p.passed and p.message.strip()), "")
        return probe.splitlines()[0] if probe else ""


@dataclass
class GradeReport:
    level: Level
    submission: Path
    results: list[TaskResult]
    seconds: float
    mode: str = "practice"  # "sealed": every child in an OS sandbox (box.py); "practice": not tamper-proof
    why_practice: str = ""

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.task.points for r in self.results)

    @property
    def grader_errors(self) -> list[str]:
        return [f"Task {r.task.task}: {r.grader_error}" for r in self.results if r.grader_error]


def _site_dirs() -> list[str]:
    """The judge's site-packages folders, including those a ``.pth`` file chains in (a venv built on
    another venv's packages): the child runs ``python -I -S`` and gets them on ``sys.path`` explicitly."""
    chained = [p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages")]
    dirs = [*site.getsitepackages(), site.getusersitepackages(), *chained]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def _tree_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for root in paths:
        for p in sorted(root.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


class Judge:
    """Grades one level for one configuration; create, then call :meth:`grade`."""

    def __init__(self, config: GradeConfig) -> None:
        self.cfg = config
        reg = config.registry
        self.level = reg.get(config.level)
        self.below = reg.below(config.level)
        self.submission = (config.submission or self.level.path).resolve()
        self.is_reference = self.submission == self.level.path.resolve()
        self.ref_roots = [self.level.src, *(lvl.src for lvl in self.below)]
        self.sub_roots = [self.submission / "src", *self._lower_roots()]
        self.sources = grader_sources()
        self.site = _site_dirs()
        self._ref_cache: dict[str, dict] = {}
        self.private: Path | None = None  # the judge's own temp folder (0700), removed when grading ends
        self._ref_digest = _tree_digest(self.ref_roots)
        self._grader_digest = hashlib.sha256(repr(sorted(self.sources.items())).encode()).hexdigest()

    def _lower_roots(self) -> list[Path]:
        if not self.cfg.use_own_lower:
            return [lvl.src for lvl in self.below]
        roots = []
        for lvl in self.below:
            own = self.submission.parent / lvl.folder / "src"
            if not own.is_dir():
                raise FileNotFoundError(f"--use-own-lower-levels: {own} does not exist")
            roots.append(own)
        return roots

    def _guard(self) -> dict:
        root = self.cfg.registry.root
        deny = [self.level.path, root / "grader", root / "grades", self.submission]
        deny += [Path(d) / "hyperion" for d in self.site]
        if self.cfg.cache_dir:
            deny.append(self.cfg.cache_dir)
        allow = [*self.site, sys.prefix, sys.base_prefix]
        return {
            "deny": [str(Path(p).resolve()) for p in deny],
            "deny_under": [str(root)],
            "allow": [str(Path(p).resolve()) for p in allow],
            "allow_exec": False,
        }

    def _job(self, task: Task, probes: list[str]) -> dict:
        return {
            "grader_sources": self.sources,
            "site": self.site,
            "hidden_source": task.source,
            "hidden_name": f"hidden_{task.path.stem}",
            "probes": probes,
            "memory_mb": task.memory_mb,
            "nproc": 256 if box.mode() == "sealed" else None,  # processes + threads of the box's uid
        }

    def _devices(self, task: Task) -> list[str]:
        """CUDA tasks (their hidden file uses ``hyperion_grader.cuda``) get the GPU's device nodes."""
        return box.cuda_devices() if "hyperion_grader.cuda" in task.source else []

    def _run(self, task: Task, probes: list[str], roots: list[Path]) -> ChildOutcome:
        timeout = task.timeout * self.cfg.timeout_scale
        return run_child(self._job(task, probes), roots, timeout, self._guard(), self.private, self._devices(task))

    def _server(self, task: Task, name: str, roots: list[Path]) -> Server:
        timeout = task.timeout * self.cfg.timeout_scale
        return Server(self._job(task, []), name, roots, timeout, self._guard(), self.private, self._devices(task))

    # -- reference data ---------------------------------------------------------------------------
    def _ref_key(self, task: Task) -> str:
        return hashlib.sha256(
            f"{self._ref_digest}{self._grader_digest}{task.digest}{sys.version}".encode()
        ).hexdigest()[:32]

    def _reference(self, task: Task) -> tuple[dict | None, str]:
        """Reference payload for ``task`` (cached in memory and on disk), or (None, why not)."""
        names = [p.name for p in task.probes if p.options.reference]
        if not names:
            return {"probes": [], "modules": {}}, ""
        key = self._ref_key(task)
        if key in self._ref_cache:
            return self._ref_cache[key], ""
        if not self.cfg.cache_dir:
            return self._reference_run(task, names, key, None)
        cached = self.cfg.cache_dir / f"{key}.bin"
        if payload := self._read_cached(key, cached):
            return payload, ""
        self.cfg.cache_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.cfg.cache_dir, 0o700)  # reference results: the judge's only
        # graders side by side (batch) compute each reference once: the first takes the key's lock, the
        # others wait for it and read its file
        with _key_lock(self.cfg.cache_dir / f"{key}.lock") as held:
            if not held:
                return None, f"not graded: {procs.stop_reason() or 'stopped'}"
            if payload := self._read_cached(key, cached):
                return payload, ""
            return self._reference_run(task, names, key, cached)

    def _read_cached(self, key: str, cached: Path) -> dict | None:
        try:
            payload = wire.decode(cached.read_bytes())
        except (OSError, wire.WireError):
            return None
        self._ref_cache[key] = payload
        return payload

    def _reference_run(self, task: Task, names: list[str], key: str, cached: Path | None) -> tuple[dict | None, str]:
        out = self._run(task, names, self.ref_roots)
        if out.status != "ok":
            return None, f"reference run failed: {out.message}\n{out.output[-2000:]}"
        bad = [p for p in out.payload["probes"] if not p["ok"]]
        if bad:
            return None, f"reference probe {bad[0]['name']} failed:\n{bad[0]['error']}"
        self._ref_cache[key] = out.payload
        if cached:  # whole or not at all: a reader never sees half a file
            tmp = cached.with_name(f".{cached.name}.{os.getpid()}.{threading.get_ident()}")
            tmp.write_bytes(wire.encode(out.payload))
            tmp.replace(cached)
        return out.payload, ""

    # -- judging ------------------------------------------------------------------------------------
    def _provenance(self, out: ChildOutcome) -> str:
        """Every ``hyperion.*`` module the child reports must come from the code it was given."""
        own = out.code_roots[0]
        for name, file in out.payload["modules"].items():
            graded = any(name == p or name.startswith(p + ".") for p in self.level.packages)
            roots = [own] if graded else out.code_roots
            if file is None:
                if graded and name in self.level.packages:
                    return f"module {name} has no source file (not loaded from the submission)"
                continue
            if not any(file.startswith(r + os.sep) for r in roots):
                return f"module {name} was loaded from outside the submission: {file}"
        return ""

    def _check_probe(self, task: Task, probe, rec: dict, ref: dict | None, wall: float) -> ProbeResult:
        if not rec["ok"]:
            err = rec["error"].strip()
            last = err.splitlines()[-1] if err else "failed"
            if rec["kind"] == "not_implemented":
                msg = last.removeprefix("NotImplementedError: ")
                return ProbeResult(probe.name, False, f"not implemented: {msg}", rec["seconds"])
            return ProbeResult(probe.name, False, f"{last}{_where(err)}\n{err}", rec["seconds"])
        try:
            value = wire.decode(rec["value"])
        except wire.WireError as exc:
            return ProbeResult(probe.name, False, f"malformed data: {exc}", rec["seconds"])
        if type(value) is dict and value.get("kind") == "speed":
            total = value.get("total_s")
            if type(total) is not float or not 0 <= total <= wall + 0.5:
                return ProbeResult(
                    probe.name, False, "timings inconsistent with the child's wall time", rec["seconds"]
                )
        ref_value = None
        if probe.options.reference:
            ref_value = wire.decode(ref[probe.name]["value"])
        try:
            probe.check(value, ref_value)
        except AssertionError as exc:
            return ProbeResult(probe.name, False, str(exc) or "check failed", rec["seconds"])
        except Exception as exc:  # noqa: BLE001 - data of the wrong structure makes checks raise
            return ProbeResult(probe.name, False, f"check raised {type(exc).__name__}: {exc}", rec["seconds"])
        return ProbeResult(probe.name, True, "", rec["seconds"])

    def _race(self, task: Task, probe) -> ProbeResult:
        """A performance threshold, timed by the judge (perf.py): submission vs baseline on the reference."""
        t0 = time.monotonic()
        options = probe.options.race
        try:
            value = run_race(
                options,
                lambda: self._server(task, probe.name, self.sub_roots),
                lambda: self._server(task, options.baseline, self.ref_roots),
            )
        except RaceError as exc:
            return ProbeResult(probe.name, False, str(exc), time.monotonic() - t0)
        try:
            probe.check(value, None)
        except AssertionError as exc:
            return ProbeResult(probe.name, False, str(exc) or "check failed", time.monotonic() - t0)
        except Exception as exc:  # noqa: BLE001
            return ProbeResult(probe.name, False, f"check raised {type(exc).__name__}: {exc}", time.monotonic() - t0)
        return ProbeResult(probe.name, True, "", time.monotonic() - t0)

    def grade_task(self, task: Task, findings: list[Finding]) -> TaskResult:
        """One task's score; never raises (a task the judge could not finish scores 0 with the reason)."""
        t0 = time.monotonic()
        if why := procs.stop_reason():
            return TaskResult(task, 0.0, 0.0, message=f"not graded: {why}")
        try:
            return self._grade_task(task, findings)
        except Exception as exc:  # noqa: BLE001 - a grader bug costs this task, not the whole report
            return TaskResult(task, 0.0, time.monotonic() - t0, grader_error=f"{type(exc).__name__}: {exc}")

    def _grade_task(self, task: Task, findings: list[Finding]) -> TaskResult:
        t0 = time.monotonic()
        ref_payload, ref_error = self._reference(task)
        if ref_payload is None:
            if why := procs.stop_reason():
                return TaskResult(task, 0.0, time.monotonic() - t0, message=f"not graded: {why}")
            return TaskResult(task, 0.0, time.monotonic() - t0, grader_error=ref_error)
        ref = {p["name"]: p for p in ref_payload["probes"]}
        if findings:
            f = findings[0]
            msg = f"integrity: {f.path}:{f.line} mentions {f.pattern!r} (reference, grader or grades paths)"
            return TaskResult(task, 0.0, time.monotonic() - t0, message=msg)
        plain = [p for p in task.probes if p.options.race is None]
        result = TaskResult(task, 0.0, 0.0)
        if plain:
            out = self._run(task, [p.name for p in plain], self.sub_roots)
            result.seconds, result.output = out.wall_s, out.output
            if out.status != "ok":
                result.message = out.message
                return result
            if why := self._provenance(out):
                result.message = f"integrity: {why}"
                return result
            records = {p["name"]: p for p in out.payload["probes"]}
            for probe in plain:
                rec = records.get(probe.name)
                if rec is None:
                    result.probes.append(ProbeResult(probe.name, False, "probe did not report", 0.0))
                else:
                    result.probes.append(self._check_probe(task, probe, rec, ref, out.wall_s))
        for probe in task.probes:
            if probe.options.race is not None:
                result.probes.append(self._race(task, probe))
        result.seconds = time.monotonic() - t0
        passed = sum(p.passed for p in result.probes)
        if passed == len(task.probes):
            result.score = task.points
        elif task.partial:
            result.score = task.points * passed / len(task.probes)
        return result

    def _findings_by_task(self, tasks: list[Task]) -> dict[str, list[Finding]]:
        root = self.cfg.registry.root
        patterns = [
            str(self.level.path.resolve()),
            str(root / "grader"),
            str(root / "grades"),
            f"{self.level.folder}/src",
            "hyperion_grader",
            "grader/hidden",
        ]
        if self.is_reference:
            return {}
        owner = {
            (str(Path(r.path).relative_to(self.level.src)), r.function): r.task
            for r in level_regions(self.level.src)
        }
        by_task: dict[str, list[Finding]] = {}
        for f in scan_tree(self.submission / "src", patterns):
            task = next(
                (
                    t
                    for (file, fn), t in owner.items()
                    if file == f.path and f.function and (f.function == fn or f.function.startswith(fn + "."))
                ),
                None,
            )
            for t in tasks if task is None else [x for x in tasks if x.task == task]:
                by_task.setdefault(t.task, []).append(f)
        return by_task

    def grade(self) -> GradeReport:
        """Grade every task (parallel, then EXCLUSIVE ones alone); children are all gone on return.

        Always returns a report with every selected task: on SIGTERM/SIGINT/SIGHUP or when the overall
        time limit runs out, running children are killed and unfinished tasks score 0 with the reason.
        The judge's temp folder is removed whatever happens."""
        t0 = time.monotonic()
        procs.reset()
        procs.set_deadline(t0 + self.cfg.time_limit)
        procs.become_subreaper()
        procs.snapshot_foreign()
        mode = box.mode()
        tasks = load_tasks(self.level.hidden_dir)
        if self.cfg.only:
            tasks = [t for t in tasks if t.task in self.cfg.only]
        findings = self._findings_by_task(tasks)
        shared = [t for t in tasks if not t.exclusive]
        previous = _catch_stop_signals()
        self.private = Path(tempfile.mkdtemp(prefix="hyperion-judge-"))  # 0700
        try:
            with machine_lock(exclusive=False), ThreadPoolExecutor(max_workers=self.cfg.jobs) as pool:
                results = list(pool.map(lambda t: self.grade_task(t, findings.get(t.task, [])), shared))
            for t in (t for t in tasks if t.exclusive):
                with machine_lock(exclusive=True):
                    results.append(self.grade_task(t, findings.get(t.task, [])))
        finally:
            procs.reap_strays()
            shutil.rmtree(self.private, ignore_errors=True)
            _restore_signals(previous)
        results.sort(key=lambda r: r.task.sort_key)
        return GradeReport(self.level, self.submission, results, time.monotonic() - t0, mode, box.why_practice())


def _catch_stop_signals() -> dict:
    """SIGTERM, SIGINT and SIGHUP end grading cleanly (children killed, report written)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        previous[sig] = signal.signal(sig, lambda n, _f: procs.stop(f"grading was stopped ({signal.Signals(n).name})"))
    return previous


def _restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@contextlib.contextmanager
def machine_lock(exclusive: bool):
    """Across grader processes that share a machine (``batch`` sets ``HYPERION_GRADER_LOCK``): an
    EXCLUSIVE task (a timing) holds the lock alone, other tasks share it, so no other submission's
    work runs while a performance threshold is measured. Without the variable: no lock."""
    path = os.environ.get("HYPERION_GRADER_LOCK")
    if not path:
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _key_lock(path: Path):
    """An exclusive lock on ``path`` across processes and threads; yields False (not held) when grading
    is stopped or runs out of time while waiting."""
    with open(path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if procs.stop_reason():
                    yield False
                    return
                time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def grade(config: GradeConfig) -> GradeReport:
    return Judge(config).grade()


_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+)', re.M)
_PACKAGE_PATH = re.compile(r"/(?:code/root\d+|src)/(?P<rel>.+)$")  # the sandbox copy, or a source tree


def _where(traceback_text: str) -> str:
    """`` (at hyperion/tensor/ops/conv.py:313)``: the innermost traceback frame in package code (for a
    SyntaxError, the file that failed to parse), so the one-line message names the file and line at
    fault; empty when no frame is in package code."""
    for match in reversed(list(_FRAME.finditer(traceback_text))):
        inside = _PACKAGE_PATH.search(match["path"])
        if inside:
            return f" (at {inside['rel']}:{match['line']})"
    return ""
