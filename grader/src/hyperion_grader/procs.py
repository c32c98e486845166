"""Process hygiene for the judge: be a child subreaper, kill whole process trees, reap strays.

With ``PR_SET_CHILD_SUBREAPER`` every orphan below the judge (a grandchild that called ``setsid`` and
double-forked) is reparented to the judge instead of init, so the judge can find and kill it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
spawn_lock = threading.Lock()  # held while a sandbox child is forked and registered
live: set[int] = set()  # pids of sandbox children the judge is waiting on
foreign: set[int] = set()  # children the judge had before grading started: never touched
stray_tokens: set[str] = set()  # sandbox tokens (from the environment) of every stray killed
TOKEN_VAR = "HYPERION_SANDBOX_TOKEN"
stopping = threading.Event()  # set when grading must end now (a signal): every wait returns at once
_limits = {"deadline": float("inf"), "reason": ""}


def set_deadline(at: float) -> None:
    """The judge's overall time limit (``time.monotonic()`` value): no child runs past it."""
    _limits["deadline"] = at


def deadline() -> float:
    return _limits["deadline"]


def stop(reason: str) -> None:
    """End grading now: children are killed, unfinished tasks score 0 with ``reason``."""
    _limits["reason"] = _limits["reason"] or reason
    stopping.set()


def stop_reason() -> str:
    """Why grading is ending early ('' while it is not)."""
    if not _limits["reason"] and time.monotonic() >= _limits["deadline"]:
        return "the judge's overall time limit ran out"
    return _limits["reason"]


def reset() -> None:
    """Forget a previous grading's deadline and stop (one judge can grade several times in a process)."""
    stopping.clear()
    _limits.update(deadline=float("inf"), reason="")


def become_subreaper() -> bool:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parents() -> dict[int, int]:
    """pid -> ppid for every process (Linux /proc)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            out[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return out


def session_members(leader: int) -> list[int]:
    """Processes other than ``leader`` in its process group or session: what it left running."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == leader:
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # state ppid pgrp session ...
            if fields[0] != "Z" and leader in (int(fields[2]), int(fields[3])):
                out.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def children_of(pid: int) -> list[int]:
    return [p for p, pp in _parents().items() if pp == pid]


def subtree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    parents = _parents()
    out, frontier = [pid], [pid]
    while frontier:
        frontier = [p for p, pp in parents.items() if pp in frontier and p not in out]
        out += frontier
    return out


def signal_all(pids: list[int], sig: int) -> None:
    """Send ``sig`` to each of ``pids`` (gone ones ignored)."""
    _signal(pids, sig)


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants, read from each thread's ``children`` list (no scan of /proc; falls
    back to :func:`subtree` where the kernel does not provide the lists)."""
    if not os.path.exists(f"/proc/self/task/{os.getpid()}/children"):
        return subtree(pid)
    out, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        out.append(p)
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                frontier += [int(c) for c in Path(f"/proc/{p}/task/{tid}/children").read_text().split()]
            except (OSError, ValueError):  # the thread ended meanwhile
                continue
    return out


def _signal(pids: list[int], sig: int) -> None:
    for p in pids:
        try:
            os.kill(p, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _token(pid: int) -> str | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    prefix = TOKEN_VAR.encode() + b"="
    return next((e[len(prefix) :].decode() for e in env if e.startswith(prefix)), None)


def kill_tree(pid: int) -> None:
    """Freeze then kill ``pid``, its process group and every descendant."""
    pids = subtree(pid)
    _signal(pids, signal.SIGSTOP)
    pids = subtree(pid)
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _signal(pids, signal.SIGKILL)


def snapshot_foreign() -> None:
    """Remember the judge's pre-existing children so stray reaping never touches them."""
    foreign.update(children_of(os.getpid()))


def reap_strays(rounds: int = 200) -> int:
    """Kill and reap every child of the judge that is not a live sandbox child; returns how many."""
    me, total = os.getpid(), 0
    for _ in range(rounds):
        with spawn_lock:
            strays = [p for p in children_of(me) if p not in live and p not in foreign]
            for p in strays:
                for q in subtree(p):
                    if tok := _token(q):
                        stray_tokens.add(tok)
                kill_tree(p)
        for p in strays:
            try:
                os.waitpid(p, 0)
            except ChildProcessError:
                pass
        total += len(strays)
        if not strays:
            return total
        time.sleep(0.01)
    return total


def _status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peaks(pids: list[int]) -> dict[int, int] | None:
    """Reset the peak resident size of ``pids`` (``clear_refs``) and return their current sizes (bytes);
    None when a peak cannot be reset from here (then no peak is reported)."""
    sizes = {}
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            if Path(f"/proc/{pid}").exists():
                return None
            continue
        rss = _status_kb(pid, "VmRSS")
        if rss is not None:
            sizes[pid] = rss * 1024
    return sizes


def peak_growth(before: dict[int, int] | None, pids: list[int]) -> int | None:
    """How far the resident memory of ``pids`` rose above ``before`` at its peak (bytes), summed over the
    processes; a process that started and ended between the two readings is not seen."""
    if before is None:
        return None
    total = 0
    for pid in pids:
        hwm = _status_kb(pid, "VmHWM")
        if hwm is not None:
            total += max(0, hwm * 1024 - before.get(pid, 0))
    return total
