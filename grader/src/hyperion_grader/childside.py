"""Inside the sandboxed child: build the import world, arm the guard, run one task's probes, send data.

Everything here may be undone by the submission (it runs in this process); that is fine, because the
judge trusts nothing from here beyond one well-formed frame of plain data for this task.
"""

from __future__ import annotations

import faulthandler
import importlib.machinery
import linecache
import os
import random
import struct
import sys
import time
import traceback
import types

from hyperion_grader import guard, wire

_clock = time.perf_counter  # bound before submission code runs (the seconds are shown, never scored)


def _import_world(job: dict) -> None:
    """``sys.path`` = code roots + stdlib + site dirs; ``hyperion`` = a namespace over the code roots only."""
    roots = job["roots"]
    stdlib = [p for p in sys.path if p and not p.endswith("site-packages")]
    sys.path[:] = roots + stdlib + [p for p in job["site"] if p not in stdlib]
    ns = types.ModuleType("hyperion")
    path = [os.path.join(r, "hyperion") for r in roots if os.path.isdir(os.path.join(r, "hyperion"))]
    spec = importlib.machinery.ModuleSpec("hyperion", None, is_package=True)
    spec.submodule_search_locations = path
    ns.__spec__, ns.__path__, ns.__package__ = spec, path, "hyperion"
    sys.modules["hyperion"] = ns


def _load_hidden(job: dict) -> types.ModuleType:
    name, source = job["hidden_name"], job["hidden_source"]
    filename = f"<hidden>/{name}.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    exec(compile(source, filename, "exec"), vars(module))
    return module


def _error(exc: BaseException) -> tuple[str, str]:
    try:
        kind = "not_implemented" if isinstance(exc, NotImplementedError) else "exception"
        lines = traceback.format_exception(exc, limit=-6)
        return kind, "".join(lines)[-4000:]
    except BaseException:  # noqa: BLE001 - a hostile exception may fail to format
        return "exception", f"{type(exc).__name__} (unprintable)"


def _run_probe(module: types.ModuleType, name: str) -> dict:
    random.seed(0)
    try:
        import numpy as np

        np.random.seed(0)
    except BaseException:  # noqa: BLE001
        pass
    t0 = _clock()
    try:
        value = vars(module)[name]()
        frame = wire.encode(value)
        return {"name": name, "ok": True, "seconds": _clock() - t0, "kind": "", "error": "", "value": frame}
    except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt... all mean "failed"
        kind, text = _error(exc)
        return {
            "name": name,
            "ok": False,
            "seconds": _clock() - t0,
            "kind": kind,
            "error": text,
            "value": None,
        }


def _read_exactly(fd: int, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out


def _send(fd: int, frame: bytes) -> None:
    view = memoryview(struct.pack(">Q", len(frame)) + frame)
    while view:
        view = view[os.write(fd, view) :]


def serve(job: dict) -> None:
    """Timed calls (:mod:`hyperion_grader.perf`): call one function of the hidden file on each request's
    keyword arguments and answer with its value, until an empty request; the judge times each round
    trip from outside and checks every answer."""
    spec = job["serve"]
    module = _load_hidden(job)
    fn = vars(module)[spec["name"]]
    inp, out = spec["request_fd"], spec["response_fd"]
    while True:
        try:
            (size,) = struct.unpack(">Q", _read_exactly(inp, 8))
            if size == 0:
                break
            kwargs = wire.decode(_read_exactly(inp, size))
            reply = {"ok": True, "value": wire.encode(fn(**kwargs)), "error": ""}
        except EOFError:
            break
        except BaseException as exc:  # noqa: BLE001 - a failing call is an answer, not the end
            reply = {"ok": False, "value": None, "error": _error(exc)[1]}
        _send(out, wire.encode(reply))
    os._exit(0)


def _loaded_modules() -> dict:
    out = {}
    for name, mod in list(sys.modules.items()):
        if name == "hyperion" or name.startswith("hyperion."):
            file = getattr(mod, "__file__", None)
            out[name] = file if type(file) is str else None
    return out


def run(job: dict) -> None:
    """Run the job's probes in order and write one frame to the result fd, then exit."""
    faulthandler.enable()
    fd = job["result_fd"]
    _import_world(job)
    g = job["guard"]
    if g is not None:  # practice mode only: in a sealed box the walls are the OS's
        guard.install(g["deny"], g["deny_under"], g["allow"], g["allow_exec"])
    if job.get("serve"):
        serve(job)
    try:
        module = _load_hidden(job)
        results = [_run_probe(module, name) for name in job["probes"]]
    except BaseException as exc:  # noqa: BLE001
        kind, text = _error(exc)
        results = [
            {"name": n, "ok": False, "seconds": 0.0, "kind": kind, "error": text, "value": None}
            for n in job["probes"]
        ]
    frame = wire.encode({"probes": results, "modules": _loaded_modules()})
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)
