"""Data-parallel training on existing engines (MPI on CPUs, NCCL on GPUs), with PyTorch's names.

    group.py       init_process_group, all_reduce, broadcast, all_gather, reduce_scatter, barrier
    backends.py    the engines: MPI (mpi4py), NCCL (CuPy), loopback (a world of one)
    ddp.py         DistributedDataParallel: naive, flat, overlap (gradient-ready hooks), bucketed
    zero.py        ZeroRedundancyOptimizer: ZeRO-1, optimizer state sharded across ranks
    sampler.py     DistributedSampler: each rank's shard of a dataset
    checkpoint.py  save_on_rank0
    run.py         the launcher: python -m hyperion.distributed.run -n N script.py
    bench.py       all-reduce bandwidth; DDP variants, overlap and the bucket sweep
"""

from hyperion.distributed.backends import ProcessGroup, ReduceOp, Work
from hyperion.distributed.checkpoint import save_on_rank0
from hyperion.distributed.ddp import DistributedDataParallel
from hyperion.distributed.group import (
    BACKENDS,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_initialized,
    reduce_scatter,
)
from hyperion.distributed.sampler import DistributedSampler
from hyperion.distributed.zero import ZeroRedundancyOptimizer

__all__ = [
    "BACKENDS", "DistributedDataParallel", "DistributedSampler", "ProcessGroup", "ReduceOp", "Work",
    "ZeroRedundancyOptimizer", "all_gather", "all_reduce", "barrier", "broadcast", "destroy_process_group",
    "get_backend", "get_rank", "get_world_size", "init_process_group", "is_initialized", "reduce_scatter",
    "save_on_rank0",
]
