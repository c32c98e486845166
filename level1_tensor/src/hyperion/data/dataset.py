"""Datasets: anything with a length that can be indexed to get one sample.

``Dataset`` is the interface: ``len(ds)`` samples, ``ds[i]`` the i-th one. ``get_batch(indices)`` gets
many at once; the default asks for them one by one and stacks them, and array-backed datasets
override it with a single fancy-index per array, which is what keeps a DataLoader fast.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from hyperion.data.collate import as_numpy, collate

__all__ = ["Dataset", "Subset", "TensorDataset"]


class Dataset(ABC):
    """A finite, indexable collection of samples."""

    @abstractmethod
    def __getitem__(self, index: int) -> Any:
        """The sample at ``index``."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of samples."""

    def get_batch(self, indices: np.ndarray) -> Any:
        """The samples at ``indices`` stacked into one batch (override for a faster path)."""
        return collate([self[int(i)] for i in indices])


class TensorDataset(Dataset):
    """Samples are the rows of several equally long arrays (or Tensors): ``ds[i] == (a[i], b[i], ...)``.

    Tensors are converted to numpy once, at construction, so batching is a numpy fancy-index.
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays: tuple[np.ndarray, ...] = tuple(as_numpy(a) for a in arrays)
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: array {i} is 0-dimensional; each array needs a sample axis")
        sizes = [a.shape[0] for a in self.arrays]
        if len(set(sizes)) > 1:
            shapes = ", ".join(f"array {i}: {a.shape}" for i, a in enumerate(self.arrays))
            raise ValueError(
                f"TensorDataset: arrays must have the same first dimension (samples); got {shapes}"
            )

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"TensorDataset({len(self)} samples; {shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (e.g. a small slice for a quick run)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [{-n}, {n}) for a dataset of {n} samples")

    def __len__(self) -> int:
        return self.indices.shape[0]

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> Any:
        inner = self.indices[np.asarray(indices, dtype=np.int64)]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(inner)
        return collate([self.dataset[int(i)] for i in inner])
