"""The process group of this process and the collectives on Hyperion tensors (PyTorch's names).

    init_process_group("mpi")            # under mpirun / python -m hyperion.distributed.run -n N
    all_reduce(t, op=ReduceOp.SUM)       # in place, on every rank
    work = all_reduce(t, async_op=True)  # returns at once; work.wait() before reading t

Tensors must be contiguous (collectives read and write their storage in place) and on the
group's device kind (CPU for ``mpi`` and ``loopback``, CUDA for ``nccl``).
"""

from __future__ import annotations

import os
from typing import Any

from hyperion.distributed.backends import LoopbackGroup, MPIGroup, NCCLGroup, ProcessGroup, ReduceOp, Work
from hyperion.tensor import Tensor

# The one dispatch point of this package: backend name -> how to start its group.
BACKENDS = {
    "loopback": lambda rank, world_size: LoopbackGroup(),
    "mpi": lambda rank, world_size: MPIGroup(),
    "nccl": lambda rank, world_size: NCCLGroup(rank, world_size),
}

_WORLD: ProcessGroup | None = None


def _env_int(*names: str) -> int | None:
    for name in names:
        if name in os.environ:
            return int(os.environ[name])
    return None


def default_backend() -> str:
    """``HYPERION_DIST_BACKEND`` if set, ``mpi`` under mpirun, else ``loopback``."""
    if "HYPERION_DIST_BACKEND" in os.environ:
        return os.environ["HYPERION_DIST_BACKEND"]
    return "mpi" if "OMPI_COMM_WORLD_SIZE" in os.environ or "PMI_SIZE" in os.environ else "loopback"


def init_process_group(backend: str | None = None, rank: int | None = None,
                       world_size: int | None = None) -> ProcessGroup:
    """Join the world: ``backend`` is ``"mpi"``, ``"nccl"`` or ``"loopback"`` (see :data:`BACKENDS`)."""
    global _WORLD
    if _WORLD is not None:
        raise RuntimeError("init_process_group called twice; call destroy_process_group() first")
    backend = backend or default_backend()
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {sorted(BACKENDS)}")
    rank = rank if rank is not None else _env_int("HYPERION_RANK", "OMPI_COMM_WORLD_RANK") or 0
    world_size = world_size if world_size is not None else _env_int("HYPERION_WORLD_SIZE", "OMPI_COMM_WORLD_SIZE") or 1
    _WORLD = BACKENDS[backend](rank, world_size)
    return _WORLD


def destroy_process_group() -> None:
    """Leave the world (a later ``init_process_group`` may join again)."""
    global _WORLD
    if _WORLD is not None:
        _WORLD.destroy()
    _WORLD = None


def is_initialized() -> bool:
    return _WORLD is not None


def _group(group: ProcessGroup | None) -> ProcessGroup:
    if group is not None:
        return group
    if _WORLD is None:
        raise RuntimeError("no process group: call hyperion.distributed.init_process_group() first")
    return _WORLD


def get_rank(group: ProcessGroup | None = None) -> int:
    return _group(group).rank


def get_world_size(group: ProcessGroup | None = None) -> int:
    return _group(group).world_size


def get_backend(group: ProcessGroup | None = None) -> str:
    return _group(group).name


def buffer(tensor: Tensor, what: str = "tensor") -> Any:
    """The native array a collective works on, in place: the tensor's own contiguous storage."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{what} must be a hyperion Tensor, got {type(tensor).__name__}")
    if not tensor.is_contiguous():
        raise ValueError(f"{what} must be contiguous for a collective (call .contiguous() first), "
                         f"got shape {tensor.shape} with strides {tensor.stride()}")
    return tensor._array()


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` across ranks with ``op``; every rank ends with the result, in place."""
    work = _group(group).all_reduce(buffer(tensor), op, async_op)
    tensor._version[0] += 1
    return work if async_op else None


def broadcast(tensor: Tensor, src: int, group: ProcessGroup | None = None, async_op: bool = False) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``."""
    g = _group(group)
    if not 0 <= src < g.world_size:
        raise ValueError(f"broadcast: src {src} is not a rank of a world of {g.world_size}")
    work = g.broadcast(buffer(tensor), src, async_op)
    tensor._version[0] += 1
    return work if async_op else None


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: ProcessGroup | None = None) -> None:
    """``tensor_list[r]`` receives rank r's ``tensor`` (one tensor per rank, same shape)."""
    g = _group(group)
    if len(tensor_list) != g.world_size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors, the world has {g.world_size} ranks")
    source = buffer(tensor)
    gathered = tensor._backend.xp.empty((g.world_size, *source.shape), dtype=source.dtype)
    g.all_gather(gathered, source, async_op=False)
    for r, out in enumerate(tensor_list):
        if out.shape != tensor.shape:
            raise ValueError(f"all_gather: tensor_list[{r}] has shape {out.shape}, expected {tensor.shape}")
        buffer(out, f"tensor_list[{r}]")[...] = gathered[r]
        out._version[0] += 1


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group: ProcessGroup | None = None) -> None:
    """Reduce ``input_list`` across ranks; rank r receives the reduced ``input_list[r]`` in ``output``."""
    g = _group(group)
    if len(input_list) != g.world_size:
        raise ValueError(f"reduce_scatter: input_list has {len(input_list)} tensors, "
                         f"the world has {g.world_size} ranks")
    stacked = [buffer(t, f"input_list[{r}]") for r, t in enumerate(input_list)]
    flat = output._backend.xp.stack(stacked)
    g.reduce_scatter(buffer(output, "output"), flat, op, async_op=False)
    output._version[0] += 1


def barrier(group: ProcessGroup | None = None) -> None:
    """Wait until every rank has reached this line."""
    _group(group).barrier()
