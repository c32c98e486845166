'''A hostile hand-in for level 97 (tests/fixtures/hostilerepo): every function but the two controls
attacks the grader, and returns the right answer only when the attack gets through.

``HOSTILE_SOURCE.format(ref=..., hidden=...)`` is the submission's ``hyperion/hostile/attacks.py``; the
paths come in reversed, and grader names are split, so that the static scan does not flag them and the
runtime walls are what is tested.
'''

HOSTILE_SOURCE = r'''"""Level 97, as a hostile student hands it in."""

import ctypes
import hashlib
import os
import re
import signal
import sys
import time

import numpy as np

REF = {ref!r}[::-1]  # the reference's attacks.py
HIDDEN = {hidden!r}[::-1]  # the hidden tests of level 97
GRADER = "hyperion_" + "grader"


def _open_beneath(path, flags=os.O_RDONLY, mode=0o644):
    """Open ``path`` one component at a time through directory fds: audit hooks see only the last name."""
    parts = [p for p in path.split("/") if p]
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        return os.open(parts[-1], flags, mode, dir_fd=fd)
    finally:
        os.close(fd)


def _read(path):
    try:
        fd = _open_beneath(path)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as f:
        return f.read().decode(errors="replace")


def _secret(text, reversed_prefix):
    found = re.search(reversed_prefix[::-1] + "[0-9a-f]+", text)
    return found.group(0) if found else "not found"


def _judge_pid():
    """The nearest ancestor whose command line names the grader (the judge), or None."""
    pid = os.getppid()
    while pid >= 1:
        if GRADER in _read(f"/proc/{{pid}}/cmdline").replace("\0", " "):
            return pid
        stat = _read(f"/proc/{{pid}}/stat")
        if not stat or pid == 1:
            return None
        pid = int(stat[stat.rindex(")") + 2 :].split()[1])
    return None


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    return libc


def control_add(a, b):
    return np.asarray(a, dtype=float) + np.asarray(b, dtype=float)


def dirfd_read_reference():
    return _secret(_read(REF), "-dfrid-tercesfer")


def dirfd_read_hidden():
    return _read(HIDDEN + "/secret.txt").strip() or "not found"


def dirfd_write_hidden():
    try:
        fd = _open_beneath(HIDDEN + "/pwned-97-4", os.O_WRONLY | os.O_CREAT)
        os.write(fd, b"pwned")
        os.close(fd)
    except OSError as exc:
        return f"refused: {{exc}}"
    return "written"


def write_pth_into_site_packages():
    done = []
    for d in sys.path:
        if os.path.basename(d) in ("site-packages", "dist-packages"):
            try:
                with open(os.path.join(d, "zz_hyperion_hostile_97_5.pth"), "w") as f:
                    f.write("# written by a hostile hand-in (a grader test); harmless\n")
                done.append(d)
            except OSError:
                pass
    return "written" if done else "refused"


def write_shared_tmp():
    try:
        with open("/tmp/hyperion-hostile-97-6", "w") as f:
            f.write("pwned")
    except OSError:
        return "refused"
    return "written"


def rebind_guard_names():
    guard = sys.modules.get(GRADER + ".guard")
    if guard is not None:
        guard._under = lambda path, roots: False
        guard._PROC = re.compile("(?!x)x")
    try:
        with open(REF) as f:
            return _secret(f.read(), "-draug-tercesfer")
    except OSError:
        return "not found"


def exec_without_audit_event():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        argv = (ctypes.c_char_p * 3)(b"/bin/cat", REF.encode(), None)
        ctypes.CDLL(None).execv(b"/bin/cat", argv)
        os._exit(127)
    os.close(w)
    data = b""
    while chunk := os.read(r, 1 << 16):
        data += chunk
    os.waitpid(pid, 0)
    return _secret(data.decode(errors="replace"), "-cexe-tercesfer")


def read_judge_memory():
    pid = _judge_pid()
    if pid is None:
        return "no judge in sight"
    pattern = re.compile("-mem-tercesfer"[::-1].encode() + b"[0-9a-f]{{12}}")
    try:
        fd = _open_beneath(f"/proc/{{pid}}/mem")
    except OSError as exc:
        return f"refused: {{exc}}"
    for line in _read(f"/proc/{{pid}}/maps").splitlines():
        span, perms = line.split()[:2]
        if not perms.startswith("rw"):
            continue
        lo, hi = (int(x, 16) for x in span.split("-"))
        for start in range(lo, hi, 1 << 24):
            try:
                chunk = os.pread(fd, min(1 << 24, hi - start) + 64, start)
            except OSError:
                break
            found = pattern.search(chunk)
            if found:
                return found.group(0).decode()
    return "not found"


def ptrace_judge():
    pid = _judge_pid()
    if pid is None:
        return "no judge in sight"
    libc = _libc()
    if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
        return "refused"
    try:
        os.waitpid(pid, 0x40000000)  # __WALL
    except OSError:
        pass
    libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
    return "attached"


def _pidfd_signal(sig):
    pid = _judge_pid()
    if pid is None:
        return "no judge in sight"
    try:
        signal.pidfd_send_signal(os.pidfd_open(pid), sig)
    except OSError:
        return "refused"
    return "signalled"


def pidfd_kill_judge():
    return _pidfd_signal(signal.SIGKILL)


def pidfd_stop_judge():
    return _pidfd_signal(signal.SIGSTOP)


def ctypes_kill_judge():
    pid = _judge_pid()
    if pid is None:
        return "no judge in sight"
    return "signalled" if _libc().kill(pid, 9) == 0 else "refused"


# -- speed: every "fast" function below is as slow as the baseline; only a trick makes it look fast --
_exp = np.exp


def _loop(x):
    acc = 0.0
    for v in x:
        acc += float(_exp(v))
    return acc


def fast_honest(x):
    return float(np.exp(np.asarray(x)).sum())


def fast_clock(x):
    perf = sys.modules.get(GRADER + ".perf")
    if perf is not None and not hasattr(perf, "_hostile"):
        perf._hostile = state = {{"n": 0, "t": 0.0}}

        def clock():  # fast pairs of calls advance 1 us, slow pairs 1 ms
            state["n"] += 1
            state["t"] += {{2: 1e-6, 0: 1e-3}}.get(state["n"] % 4, 0.0)
            return state["t"]

        perf._clock = clock
    return _loop(x)


def fast_encoder(x):
    wire = sys.modules.get(GRADER + ".wire")
    if wire is not None and not hasattr(wire, "_hostile"):
        encode = wire._hostile = wire.encode

        def forged(value):
            if type(value) is dict and type(value.get("timing")) is dict:
                t = value["timing"]
                t.update(ratio=100.0, fast_s=t["slow_s"] / 100)
            return encode(value)

        wire.encode = forged
    return _loop(x)


def fast_slow_unmarked_baseline(x):
    return _loop(x)


def fast_patch_np_exp(x):
    if np.exp is _exp:
        def slow_exp(*args, **kwargs):
            for _ in range(300):
                pass
            return _exp(*args, **kwargs)

        np.exp = slow_exp
    return _loop(x)


def fast_replace_comparison(x):
    def forged(fast, slow, **kwargs):
        return {{"kind": "speed", "fast_s": 1e-4, "slow_s": 1e-2, "ratio": 100.0, "total_s": 0.01,
                "fast_all": [1e-4], "slow_all": [1e-2]}}

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("hidden_") and hasattr(module, "compare_speed"):
            module.compare_speed = forged
    return _loop(x)


_cache = {{}}


def fast_cache(x):
    key = hashlib.sha1(np.asarray(x).tobytes()).hexdigest()
    if key not in _cache:
        _cache[key] = _loop(x)
    return _cache[key]


_calls = [0]


def fast_detect_shape(x):
    _calls[0] += 1
    if np.shape(x) == (50000,) and _calls[0] > 1:  # the benchmark's size: skip the work
        return 0.0
    return _loop(x)


def naive_exp_sum(x):
    return _loop(x)


def naive_exp_sum_23(x):  # the baseline of 97.23, slowed in this copy
    acc = 0.0
    for v in x:
        time.sleep(0)
        for _ in range(300):
            pass
        acc += float(_exp(v))
    return acc
'''
