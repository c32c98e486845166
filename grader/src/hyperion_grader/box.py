"""The OS sandbox a probe child runs in (bubblewrap), and the grading mode it gives: sealed or practice.

Sealed: every child runs under ``bwrap`` in new PID, mount, IPC, network and UTS namespaces, as an
unprivileged uid that is not the judge's, and sees only: ``/usr`` (and the ``/lib``, ``/bin`` links
into it), a few ``/etc`` files the dynamic loader reads, the Python runtime, the judge's site-packages
folders, its code roots (``/box/code/rootN``) and, for CUDA tasks, the ``/dev/nvidia*`` nodes, all
read-only, plus a private ``/tmp`` (tmpfs, 256 MB) and its own ``/proc`` and minimal ``/dev``. When
the judge runs as root, ``bwrap`` builds the box as root and ``setpriv`` drops to a uid/gid of the
box's own (from an unused range, so that the per-user process limit of one box never starves another)
with no capabilities before Python starts; otherwise ``bwrap`` makes an unprivileged user namespace
and maps the child to uid 65534 inside it (the judge's uid outside, but in its own PID namespace).
The box dies with the judge (``--die-with-parent``); when its first process ends, the kernel kills
every other process of its PID namespace.

Practice: no working sandbox here (no ``bwrap``, or user namespaces refused); children run as plain
processes with the in-process guard (:mod:`hyperion_grader.guard`), which code in the same interpreter
can switch off. The mode is found by starting a sandbox once; ``HYPERION_SANDBOX=practice`` forces
practice (for tests of that mode).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_UID = 65534  # the uid inside a user namespace (unprivileged judge)
BOX_UID_BASE = 1_990_000_000  # root judge: box k runs as BOX_UID_BASE + k on the host
BOX_UIDS = 4096
_free_uids = list(range(BOX_UID_BASE, BOX_UID_BASE + BOX_UIDS))
_uid_lock = threading.Lock()
TMP_BYTES = 256 * 2**20
CODE = "/box/code"
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
_detected: dict[str, str] = {}


@dataclass
class View:
    """What a child sees besides the runtime: host folders (read-only) and device nodes."""

    code: list[str]  # host source roots, mounted at /box/code/root0, root1, ...
    site: list[str]  # site-packages folders, at their own paths
    devices: list[str] = field(default_factory=list)

    @property
    def code_roots(self) -> list[str]:
        return [f"{CODE}/root{i}" for i in range(len(self.code))]


def take_uid() -> int:
    """A uid for one box (root judge: distinct per live box; otherwise the in-namespace 65534)."""
    if os.geteuid() != 0:
        return SANDBOX_UID
    with _uid_lock:
        return _free_uids.pop(0)


def give_uid(uid: int) -> None:
    if uid != SANDBOX_UID:
        with _uid_lock:
            _free_uids.append(uid)


def use_uid_block(block: int, blocks: int) -> None:
    """Take box uids only from block ``block`` of ``blocks`` equal blocks of the range: graders running
    side by side on one machine (``batch``'s workers) then never share a box uid, whose process limit
    (``nproc`` counts every process of the uid) one hand-in could otherwise exhaust for another's box."""
    size = BOX_UIDS // blocks if blocks > 0 else 0
    if not 0 <= block < blocks or size < 16:
        raise ValueError(f"uid block {block} of {blocks}: need 0 <= block < blocks <= {BOX_UIDS // 16}")
    with _uid_lock:
        _free_uids[:] = list(range(BOX_UID_BASE + block * size, BOX_UID_BASE + (block + 1) * size))


def is_box_uid(uid: int) -> bool:
    """Whether a host process owned by ``uid`` is a box's (root judge)."""
    return BOX_UID_BASE <= uid < BOX_UID_BASE + BOX_UIDS


def python() -> str:
    """The real interpreter binary (a venv's ``bin/python`` is a link to it)."""
    return os.path.realpath(sys.executable)


def cuda_devices() -> list[str]:
    """The GPU's device nodes, for tasks that run CUDA code; nothing else of /dev is added."""
    return sorted(glob.glob("/dev/nvidia*"))


def _ancestors(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        parts = Path(p).parts[1:-1]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            if d not in out:
                out.append(d)
    return out


def _under_usr(path: str) -> bool:
    return path == "/usr" or path.startswith("/usr/")


def bwrap_argv(view: View, inside: list[str], uid: int = SANDBOX_UID, env: dict[str, str] | None = None) -> list[str]:
    """The ``bwrap`` command line that runs ``inside`` (argv) as ``uid`` in a box showing ``view``, with exactly
    the environment ``env`` (bwrap applies its options in order: ``--setenv`` before ``--clearenv`` would be
    wiped, as it was until 2026-12-07 — every sealed child then ran with no environment at all)."""
    root = os.geteuid() == 0
    argv = ["bwrap", "--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
    argv += sandbox_env(env or {})
    if root:  # root builds the box without a user namespace; setpriv drops to nobody below
        argv += ["--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        argv += ["--unshare-all", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--cap-drop", "ALL"]
    argv += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for path in _ETC:
        argv += ["--ro-bind-try", path, path]
    runtime = os.path.dirname(os.path.dirname(python()))  # <prefix>/bin/python3.x -> <prefix>
    host = [p for p in dict.fromkeys([runtime, *view.site]) if not _under_usr(p) and os.path.isdir(p)]
    for d in _ancestors([*host, *view.code_roots]):
        if not _under_usr(d) and not os.path.islink(d):
            argv += ["--perms", "0755", "--dir", d]
    for p in host:
        argv += ["--ro-bind", p, p]
        if os.path.isdir(os.path.join(p, "hyperion")):  # an installed copy of some level: hidden
            argv += ["--tmpfs", os.path.join(p, "hyperion")]
    for src, dest in zip(view.code, view.code_roots, strict=True):
        argv += ["--ro-bind", src, dest]
    for dev in view.devices:
        argv += ["--dev-bind", dev, dev]
    argv += ["--chdir", "/tmp"]
    if root:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        inside = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                  "--inh-caps=-all", "--", *inside]
    return [*argv, "--", *inside]


def sandbox_env(env: dict[str, str]) -> list[str]:
    """``--setenv`` arguments for ``env`` (``bwrap --clearenv`` starts from nothing)."""
    out: list[str] = []
    for k, v in env.items():
        out += ["--setenv", k, v]
    return out


def _probe() -> str:
    """'' when a sandbox starts and runs Python as an unprivileged uid, else why not."""
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed"
    view = View(code=[], site=[])
    code = "import os; print(os.getuid(), len(os.listdir('/proc')) < 80)"
    uid = take_uid()
    argv = bwrap_argv(view, [python(), "-I", "-S", "-c", code], uid)
    give_uid(uid)
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start: {exc}"
    if out.returncode != 0 or out.stdout.split() != [str(uid), "True"]:
        why = (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
        return f"bwrap could not make a sandbox here: {why}"
    return ""


def mode() -> str:
    """``"sealed"`` when the OS sandbox works here (tried once per process), else ``"practice"``."""
    if "mode" not in _detected:
        forced = os.environ.get("HYPERION_SANDBOX", "")
        why = "HYPERION_SANDBOX=practice" if forced == "practice" else _probe()
        _detected.update(mode="practice" if why else "sealed", why=why)
    return _detected["mode"]


def found(mode_: str, why: str) -> None:
    """Take the mode another grader process found here (``batch`` tries the box once for the class)."""
    if mode_ not in ("sealed", "practice"):
        raise ValueError(f"sandbox mode {mode_!r}: 'sealed' or 'practice'")
    _detected.update(mode=mode_, why=why)


def why_practice() -> str:
    """Why grading is in practice mode ('' when sealed)."""
    mode()
    return _detected["why"]
