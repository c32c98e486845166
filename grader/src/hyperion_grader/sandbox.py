"""Run one job in a sandboxed child (:mod:`hyperion_grader.box`): own session, rlimits, timeout, result pipe.

The judge keeps each child's log (and, in practice mode, its code copies) in a private folder (0700)
removed when the child ends."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from hyperion_grader import box, procs, wire
from hyperion_grader.guard import VIOLATION_EXIT

MAX_RESULT_BYTES = 1 << 30
_PKG = Path(__file__).resolve().parent
# the child's argv: it reads the bootstrap (one JSON line) from stdin, so nothing of the grader is in
# its command line (which other processes can read)
_STUB = "import json, sys; exec(json.loads(sys.stdin.buffer.readline()))"
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.so", "*.pyd", ".*")
_ENV_PASS = (
    "PATH",
    "LANG",
    "LC_ALL",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "CUDA_PATH",
    "CUDA_HOME",
    "LD_LIBRARY_PATH",
)


def grader_sources() -> dict[str, str]:
    """Source of every ``hyperion_grader`` module, for the child's in-memory importer."""
    out = {}
    for path in sorted(_PKG.glob("*.py")):
        name = "hyperion_grader" if path.stem == "__init__" else f"hyperion_grader.{path.stem}"
        out[name] = path.read_text(encoding="utf-8")
    return out


@dataclass
class ChildOutcome:
    """What came back from one child: a status, the decoded payload if any, and diagnostics."""

    status: str  # ok | timeout | crashed | violation | lingering | no_result | bad_result
    message: str
    wall_s: float
    payload: dict | None
    output: str
    code_roots: list[str]


def _drain(fd: int, sink: bytearray, overflow: list[bool]) -> None:
    while chunk := os.read(fd, 1 << 20):
        if len(sink) + len(chunk) > MAX_RESULT_BYTES:
            overflow.append(True)
        else:
            sink += chunk
    os.close(fd)


def _tail(path: Path, limit: int = 6000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - limit))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _verdict(rc: int | None, timed_out: bool, timeout: float, output: str) -> tuple[str, str]:
    if timed_out:
        return "timeout", f"timed out after {timeout:g}s"
    if rc == VIOLATION_EXIT and "hyperion-sandbox:" in output:
        line = output[output.rindex("hyperion-sandbox:") :].splitlines()[0]
        return "violation", f"sandbox violation: {line.removeprefix('hyperion-sandbox: ')}"
    if rc is not None and rc < 0:
        name = signal.Signals(-rc).name if -rc in signal.valid_signals() else str(-rc)
        return "crashed", f"crashed with signal {name}"
    return "ok", ""


def _wait_exit(pid: int, deadline: float) -> bool:
    """Wait until ``pid`` exits, without reaping it; False on timeout or when grading is being stopped."""
    delay = 0.002
    while time.monotonic() < deadline and not procs.stopping.is_set():
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None:
            return True
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
    return False


def _private_tmp(private: Path | None) -> Path:
    return Path(tempfile.mkdtemp(prefix="task-", dir=private)).resolve()


class _Spawned:
    """One started child: its process, private folder, log and (practice) code copies."""

    def __init__(self, job: dict, roots: list[Path], guard: dict, private: Path | None, devices: list[str],
                 fds: tuple[int, ...]) -> None:
        self.sealed = box.mode() == "sealed"
        self.uid: int | None = None
        self.tmp = _private_tmp(private)
        self.log_path = self.tmp / "output.log"
        env = {k: os.environ[k] for k in _ENV_PASS if k in os.environ}
        self.token = uuid.uuid4().hex
        env[procs.TOKEN_VAR] = self.token
        env.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        # where the level-2 corpus archive lives (read-only in the box; the child's HOME is not the judge's)
        data = os.environ.get("HYPERION_DATA") or str(Path.home() / ".cache" / "hyperion")
        env["HYPERION_DATA"] = data
        if self.sealed:  # the code is mounted read-only in the box: nothing to copy, nothing left behind
            readable = [*job["site"], *([data] if os.path.isdir(data) else [])]  # mounted at their own paths
            view = box.View(code=[str(Path(r).resolve()) for r in roots], site=readable, devices=devices)
            self.code_roots = view.code_roots
            env.update(HOME="/tmp", TMPDIR="/tmp")
            job = dict(job, roots=self.code_roots, guard=None)
            self.uid = box.take_uid()
            argv = box.bwrap_argv(view, [box.python(), "-I", "-S", "-c", _STUB], self.uid, env)
            cwd, child_env = self.tmp, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        else:  # practice: copies in a private temp dir, the in-process guard
            workdir = self.tmp / "box"
            workdir.mkdir()
            self.code_roots = []
            for i, root in enumerate(roots):
                dest = self.tmp / "code" / f"root{i}"
                shutil.copytree(root, dest, symlinks=True, ignore=_COPY_IGNORE)
                self.code_roots.append(str(dest))
            env.update(HOME=str(workdir), TMPDIR=str(workdir))
            job = dict(job, roots=self.code_roots, guard=dict(guard, allow=[*guard["allow"], str(self.tmp)]))
            argv, cwd, child_env = [sys.executable, "-I", "-S", "-c", _STUB], workdir, env
        boot = json.dumps((_PKG / "_bootstrap.py").read_text(encoding="utf-8")).encode() + b"\n"
        self.data = boot + json.dumps(job).encode()
        self.t0 = time.monotonic()
        with open(self.log_path, "wb") as log, procs.spawn_lock:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=child_env,
                start_new_session=True, pass_fds=fds, close_fds=True,
            )
            procs.live.add(self.proc.pid)
        try:
            self.proc.stdin.write(self.data)
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def end(self, deadline: float) -> tuple[int | None, bool, bool, str, float]:
        """Wait for the child until ``deadline``, then kill its tree: (rc, timed_out, lingered, output, wall)."""
        timed_out = not _wait_exit(self.proc.pid, deadline)
        wall = time.monotonic() - self.t0
        # practice: children still in its group or session outlive it (those that left the session are
        # reparented to the judge and caught by reap_strays below); sealed: the kernel kills the whole
        # PID namespace with its first process, so nothing can outlive the box
        lingered = not self.sealed and not timed_out and bool(procs.session_members(self.proc.pid))
        procs.kill_tree(self.proc.pid)  # still a zombie (not reaped): its pid and group cannot be reused yet
        rc = self.proc.wait()
        with procs.spawn_lock:
            procs.live.discard(self.proc.pid)
        procs.reap_strays()
        output = _tail(self.log_path)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.uid is not None:  # every process of the box is gone with its PID namespace
            box.give_uid(self.uid)
            self.uid = None
        lingered = lingered or self.token in procs.stray_tokens
        return (None if timed_out else rc), timed_out, lingered, output, wall


def _state(pid: int) -> str:
    """The one-letter state of ``pid`` from /proc ("X" when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "X"
    return stat[stat.rindex(")") + 2]


def run_child(job: dict, roots: list[Path], timeout: float, guard: dict, private: Path | None = None,
              devices: list[str] | None = None) -> ChildOutcome:
    """Run the job in a fresh sandbox that sees ``roots`` (read-only) and return its outcome."""
    r, w = os.pipe()
    child = _Spawned(dict(job, result_fd=w), roots, guard, private, devices or [], (w,))
    os.close(w)
    sink, overflow = bytearray(), []
    reader = threading.Thread(target=_drain, args=(r, sink, overflow), daemon=True)
    reader.start()
    rc, timed_out, lingered, output, wall = child.end(min(child.t0 + timeout, procs.deadline()))
    reader.join(timeout=10)
    status, message = _verdict(rc, timed_out, timeout, output)
    if timed_out and procs.stop_reason():
        message = f"not finished: {procs.stop_reason()}"
    if status == "ok" and lingered:
        status, message = "lingering", "left processes running after it finished (they were killed)"
    payload = None
    if status == "ok":
        if reader.is_alive() or overflow:
            status, message = "bad_result", "result channel did not close or was too large"
        elif rc != 0:
            status, message = (
                "no_result",
                f"child exited with status {rc} (results are only accepted "
                "from a child that finishes its probes normally)",
            )
        elif not sink:
            status, message = "no_result", "child exited without reporting results"
        else:
            try:
                payload = _validate(wire.decode(bytes(sink)))
            except (wire.WireError, ValueError) as exc:
                status, message = "bad_result", f"malformed result: {exc}"
    return ChildOutcome(status, message, wall, payload, output, child.code_roots)


def _validate(payload) -> dict:
    """Check the frame's shape: ``{"probes": [{name, ok, seconds, kind, error, value}], "modules": {}}``."""
    if type(payload) is not dict or set(payload) != {"probes", "modules"}:
        raise ValueError("payload must be {'probes', 'modules'}")
    types_ = {"name": str, "ok": bool, "seconds": float, "kind": str, "error": str}
    for p in payload["probes"] if type(payload["probes"]) is list else [None]:
        if type(p) is not dict or set(p) != {*types_, "value"}:
            raise ValueError("bad probe record")
        if any(type(p[k]) is not t for k, t in types_.items()) or type(p["value"]) not in (bytes, type(None)):
            raise ValueError("bad probe record types")
    mods = payload["modules"]
    if type(mods) is not dict or any(type(v) not in (str, type(None)) for v in mods.values()):
        raise ValueError("bad module list")
    return payload


class ServerError(RuntimeError):
    """A timed call that did not come back as one well-formed answer in time."""


class Server:
    """A sandboxed child that answers timed calls of one function of a hidden file (see :mod:`.perf`).

    Requests and answers are length-prefixed wire frames on two private pipes; :meth:`call` returns the
    round trip's wall time measured here, the box's peak memory growth during the call (from /proc, or
    None when it cannot be read) and the decoded answer.
    """

    def __init__(self, job: dict, name: str, roots: list[Path], timeout: float, guard: dict,
                 private: Path | None = None, devices: list[str] | None = None) -> None:
        req_r, self.req = os.pipe()
        self.resp, resp_w = os.pipe()
        serve = {"name": name, "request_fd": req_r, "response_fd": resp_w}
        self.child = _Spawned(dict(job, result_fd=-1, serve=serve), roots, guard, private, devices or [],
                              (req_r, resp_w))
        os.close(req_r)
        os.close(resp_w)
        os.set_blocking(self.req, False)
        os.set_blocking(self.resp, False)
        self.timeout = timeout
        self.deadline = min(self.child.t0 + timeout, procs.deadline())

    def _wait(self, fd: int, write: bool) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0 or procs.stopping.is_set():
            raise ServerError(f"timed out after {self.timeout:g}s" if not procs.stop_reason()
                              else f"not finished: {procs.stop_reason()}")
        select.select([] if write else [fd], [fd] if write else [], [], min(left, 0.5))

    def _read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            try:
                chunk = os.read(self.resp, n - len(out))
            except BlockingIOError:
                self._wait(self.resp, False)
                continue
            if not chunk:
                raise ServerError("the child ended without answering")
            out += chunk
        return bytes(out)

    def call(self, frame: bytes) -> tuple[float, int | None, dict]:
        pids = procs.tree(self.child.proc.pid)
        before = procs.reset_peaks(pids)
        view = memoryview(struct.pack(">Q", len(frame)) + frame)
        t0 = time.perf_counter()
        while view:
            try:
                view = view[os.write(self.req, view) :]
            except BlockingIOError:
                self._wait(self.req, True)
        (size,) = struct.unpack(">Q", self._read(8))
        if size > MAX_RESULT_BYTES:
            raise ServerError("answer too large")
        body = self._read(size)
        seconds = time.perf_counter() - t0
        peak = procs.peak_growth(before, procs.tree(self.child.proc.pid))
        try:
            reply = wire.decode(body)
        except wire.WireError as exc:
            raise ServerError(f"malformed answer: {exc}") from exc
        if type(reply) is not dict or set(reply) != {"ok", "value", "error"}:
            raise ServerError("malformed answer")
        return seconds, peak, reply

    def pause(self) -> None:
        """Stop every process of the box (SIGSTOP) while the other side of a race is timed: CPU it
        burns in the background then cannot slow the other side down."""
        for _ in range(3):  # again, for processes started while the first pass ran
            procs.signal_all(procs.tree(self.child.proc.pid), signal.SIGSTOP)
        # SIGSTOP lands asynchronously: wait (up to 1 s) until every process has actually stopped
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and any(_state(pid) not in "TtZX" for pid in procs.tree(self.child.proc.pid)):
            time.sleep(0.001)

    def resume(self) -> None:
        procs.signal_all(procs.tree(self.child.proc.pid), signal.SIGCONT)

    def close(self) -> str:
        """End the child (its whole box); returns the tail of its output."""
        try:
            os.write(self.req, struct.pack(">Q", 0))
        except OSError:
            pass
        for fd in (self.req, self.resp):
            os.close(fd)
        return self.child.end(min(time.monotonic() + 5, self.deadline + 5))[3]
