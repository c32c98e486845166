"""Run one job in a sandboxed child: fresh temp dir, own session, rlimits, timeout, result pipe."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from hyperion_grader import procs, wire
from hyperion_grader.guard import VIOLATION_EXIT

MAX_RESULT_BYTES = 1 << 30
_PKG = Path(__file__).resolve().parent
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
    """Wait until ``pid`` exits, without reaping it; False on timeout."""
    delay = 0.002
    while time.monotonic() < deadline:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None:
            return True
        time.sleep(delay)
        delay = min(delay * 1.5, 0.05)
    return False


def run_child(job: dict, roots: list[Path], timeout: float, guard: dict) -> ChildOutcome:
    """Copy ``roots`` into a fresh sandbox, run the job there and return its outcome."""
    tmp = Path(tempfile.mkdtemp(prefix="hyperion-task-")).resolve()
    box, log_path = tmp / "box", tmp / "output.log"
    box.mkdir()
    code_roots = []
    for i, root in enumerate(roots):
        dest = tmp / "code" / f"root{i}"
        shutil.copytree(root, dest, symlinks=True, ignore=_COPY_IGNORE)
        code_roots.append(str(dest))
    env = {k: os.environ[k] for k in _ENV_PASS if k in os.environ}
    token = uuid.uuid4().hex
    env[procs.TOKEN_VAR] = token
    env.update(HOME=str(box), TMPDIR=str(box), PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    # where the level-2 corpus archive lives (the child's HOME is the box, so name the judge's default)
    env["HYPERION_DATA"] = os.environ.get("HYPERION_DATA") or str(Path.home() / ".cache" / "hyperion")
    guard = dict(guard, allow=[*guard["allow"], str(tmp)])
    r, w = os.pipe()
    full = dict(job, roots=code_roots, result_fd=w, guard=guard)
    data = json.dumps(full).encode()
    sink, overflow = bytearray(), []
    boot = (_PKG / "_bootstrap.py").read_text(encoding="utf-8")
    t0 = time.monotonic()
    with open(log_path, "wb") as log, procs.spawn_lock:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", boot],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=box,
            env=env,
            start_new_session=True,
            pass_fds=(w,),
            close_fds=True,
        )
        procs.live.add(proc.pid)
    os.close(w)
    reader = threading.Thread(target=_drain, args=(r, sink, overflow), daemon=True)
    reader.start()
    try:
        proc.stdin.write(data)
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    timed_out = not _wait_exit(proc.pid, t0 + timeout)
    wall = time.monotonic() - t0
    # children still in its group or session outlive it too (those that left the session are
    # reparented to the judge and caught by reap_strays below)
    left_running = not timed_out and bool(procs.session_members(proc.pid))
    procs.kill_tree(proc.pid)  # still a zombie (not reaped): its pid and group cannot be reused yet
    rc = proc.wait()
    rc = None if timed_out else rc
    with procs.spawn_lock:
        procs.live.discard(proc.pid)
    procs.reap_strays()
    reader.join(timeout=10)
    output = _tail(log_path)
    shutil.rmtree(tmp, ignore_errors=True)
    status, message = _verdict(rc, timed_out, timeout, output)
    if status == "ok" and (left_running or token in procs.stray_tokens):
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
    return ChildOutcome(status, message, wall, payload, output, code_roots)


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
