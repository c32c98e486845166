"""The first code a sandboxed child runs (one JSON line on its stdin, run by a one-line ``python -I -S -c``
stub; it is never imported from disk).

It reads the job from stdin, limits itself (memory, file size, processes, open files, no core dumps)
before any submission code runs, serves ``hyperion_grader`` modules from memory (so the child never
learns where the grader lives) and hands over to :mod:`hyperion_grader.childside`.
"""

import ctypes
import importlib.abc
import importlib.util
import json
import resource
import signal
import sys


class _MemoryFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, sources):
        self.sources = sources

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.sources:
            return None
        is_pkg = fullname + ".__init__" in self.sources or fullname == "hyperion_grader"
        return importlib.util.spec_from_loader(fullname, self, is_package=is_pkg)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        module.__file__ = "<grader>/" + name.replace(".", "/") + ".py"
        exec(compile(self.sources[name], module.__file__, "exec"), vars(module))


def _limit(job):
    if job.get("memory_mb"):
        limit = int(job["memory_mb"]) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    fsize = int(job.get("fsize_mb", 512)) * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    for which, value in ((resource.RLIMIT_NPROC, job.get("nproc")), (resource.RLIMIT_NOFILE, 1024)):
        if value:
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))
    try:  # die with the judge
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main():
    job = json.loads(sys.stdin.buffer.read())
    sys.stdin.close()
    _limit(job)
    sys.path.extend(job["site"])  # numpy for the wire format; childside then builds the full path
    sys.meta_path.insert(0, _MemoryFinder(job["grader_sources"]))
    from hyperion_grader.childside import run

    run(job)


if __name__ == "__main__":
    main()
