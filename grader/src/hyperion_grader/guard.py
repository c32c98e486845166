"""The child's audit hook (PEP 578): file access outside the sandbox, spawning programs and signalling
other sessions end the child at once.

Installed in practice mode only (no OS sandbox here, :mod:`hyperion_grader.box`), as a courtesy: code in
the same interpreter can rebind the names the hook uses, open files through directory fds, or make
system calls through ctypes, and ``tests/test_hostile_sealed.py`` does all three. In sealed mode the
walls are the kernel's and this hook is not installed.
"""

from __future__ import annotations

import os
import re
import sys

VIOLATION_EXIT = 86
_PATH_EVENTS: dict[str, tuple[int, ...]] = {
    "open": (0,),
    "os.listdir": (0,),
    "os.scandir": (0,),
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.symlink": (0, 1),
    "os.link": (0, 1),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.chdir": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "os.listxattr": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (0, 1),
    "shutil.copytree": (0, 1),
    "shutil.move": (0, 1),
    "glob.glob": (0,),
    "sqlite3.connect": (0,),
}
_EXEC_EVENTS = {"os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.startfile"}
_PROC = re.compile(r"^/proc/(\d+)(/|$)")


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def install(deny: list[str], deny_under: list[str], allow: list[str], allow_exec: bool = False) -> None:
    """Add the hook: ``deny`` always refused; ``deny_under`` refused unless under ``allow``."""
    me, my_sid = os.getpid(), os.getsid(0)
    realpath, fsdecode, write, exit_ = os.path.realpath, os.fsdecode, os.write, os._exit

    def refuse(event: str, detail: str) -> None:
        write(2, f"\nhyperion-sandbox: refused {event} {detail}\n".encode(errors="replace"))
        exit_(VIOLATION_EXIT)

    def path_denied(raw) -> str | None:
        if raw is None or isinstance(raw, int):
            return None
        try:
            path = realpath(fsdecode(raw))
        except (TypeError, ValueError):
            return None
        proc = _PROC.match(path)
        if proc and int(proc.group(1)) != os.getpid():
            return path
        if _under(path, deny) or (_under(path, deny_under) and not _under(path, allow)):
            return path
        return None

    def hook(event: str, args: tuple) -> None:
        slots = _PATH_EVENTS.get(event)
        if slots is not None:
            for i in slots:
                bad = path_denied(args[i]) if i < len(args) else None
                if bad:
                    refuse(event, bad)
        elif event in _EXEC_EVENTS and not allow_exec:
            refuse(event, repr(args[:2])[:200])
        elif event in ("os.kill", "os.killpg") and args:
            pid = args[0]
            if isinstance(pid, int) and pid not in (0, me, os.getpid()):
                try:
                    if pid <= 0 or os.getsid(pid) != my_sid:
                        refuse(event, f"pid {pid}")
                except OSError:
                    pass

    sys.addaudithook(hook)
