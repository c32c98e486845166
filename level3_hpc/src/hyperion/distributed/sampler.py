"""Which samples each rank sees: disjoint shards that together cover the dataset, reshuffled per epoch."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from hyperion.distributed.group import get_rank, get_world_size, is_initialized


class DistributedSampler:
    """Indices of this rank's shard (PyTorch's semantics).

    Every epoch, one permutation of ``range(len(dataset))`` (seeded by ``seed + epoch``, the same on
    every rank) is padded by repeating its start until it divides evenly (or cut, with
    ``drop_last``), and rank r takes every N-th index from position r. Call ``set_epoch(e)`` before
    each epoch, or every epoch repeats the same order. Use with ``hyperion.data.Subset``::

        sampler.set_epoch(epoch)
        loader = DataLoader(Subset(dataset, list(sampler)), batch_size=B // N)
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = get_world_size() if is_initialized() else 1
        if rank is None:
            rank = get_rank() if is_initialized() else 0
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank {rank} is not in [0, {num_replicas})")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        self.num_samples = n // num_replicas if drop_last else math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        order = (np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle
                 else np.arange(n))
        if self.total_size > n:
            order = np.concatenate([order, np.resize(order, self.total_size - n)])
        order = order[: self.total_size]
        return iter(order[self.rank::self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples
