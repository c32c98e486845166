"""DataLoader: iterate over a dataset in (optionally shuffled) mini-batches.

Why shuffle, and why a new order every epoch? Stochastic gradient descent assumes each mini-batch is
a fair random sample of the data. A file is usually ordered (by class, by date, by writer), so batches
taken in file order are biased and the loss zig-zags. One fixed shuffle fixes the bias but then every
epoch replays the same sequence of batches, so the optimiser can settle into that particular order's
noise. Drawing a fresh permutation each epoch gives new batches every time.

Why a seed? So that a training run can be repeated exactly: the loader owns one random generator,
created from the seed, and each epoch draws the next permutation from it. Epoch 1 differs from epoch 0,
yet two loaders built with the same seed produce the same sequence of epochs.

Why ``drop_last``? With 60,000 samples and batch size 128 the last batch has only 96 samples. Usually
that is fine; but when a smaller batch would hurt (batch statistics, fixed-shape kernels) you drop it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from hyperion.data.collate import collate
from hyperion.data.convert import batch_to_tensors
from hyperion.data.transforms import Transform

__all__ = ["DataLoader"]


class DataLoader:
    """Mini-batches of ``dataset``, PyTorch-style: ``len(loader)`` is the number of batches per epoch.

    ``transform`` is applied to the inputs of each batch (its first field, or the whole batch when
    samples are not tuples); labels pass through. Batches are Tensors unless ``as_tensor=False``,
    which yields numpy arrays. ``seed`` (or a ``numpy.random.Generator``) makes shuffling reproducible.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        generator: np.random.Generator | None = None,
        transform: Transform | None = None,
        as_tensor: bool = True,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: pass either seed or generator, not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.as_tensor = as_tensor
        self._rng = generator if generator is not None else np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        """Task 1.16: yield one epoch of batches.

        Let ``n = len(self.dataset)`` and ``b = self.batch_size``.

        1. The order: ``np.arange(n)``, or, when ``self.shuffle``, a fresh permutation drawn from
           ``self._rng`` (``self._rng.permutation(n)``). Draw it here, once per call, so that every
           epoch gets a new order and the whole sequence of epochs follows from the seed.
        2. Cut the order into consecutive slices of ``b`` indices. The last slice may be shorter:
           keep it, unless ``self.drop_last``, then stop before it. Together the batches must cover
           every index exactly once (or all but the ``n % b`` dropped ones), and their count must
           equal ``len(self)``.
        3. For each slice ``idx`` (a numpy int array), ``yield self._fetch(idx)``, which gets the
           samples, applies the transform and makes Tensors. Pass the whole slice at once: one fancy
           index per array is what makes an MNIST epoch fast, one Python call per sample would not be.
        """
        # BEGIN SOLUTION
        n = len(self.dataset)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield self._fetch(order[start : start + self.batch_size])
        # END SOLUTION

    def _fetch(self, indices: np.ndarray) -> Any:
        """The batch at ``indices``: fetched (all at once when the dataset can), transformed, converted."""
        if hasattr(self.dataset, "get_batch"):
            batch = self.dataset.get_batch(indices)
        else:
            batch = collate([self.dataset[int(i)] for i in indices])
        if self.transform is not None:
            if isinstance(batch, tuple | list):
                batch = (self.transform(batch[0]), *batch[1:])
            else:
                batch = self.transform(batch)
        return batch_to_tensors(batch) if self.as_tensor else batch

    def __repr__(self) -> str:
        return (
            f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, {len(self)} batches)"
        )
