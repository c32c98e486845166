"""Collation: turning a list of samples into one batch.

A dataset hands out one sample at a time, e.g. ``(image, label)``; a model wants a batch, e.g.
``(images[B, 28, 28], labels[B])``. Collating stacks the samples field by field along a new first axis.
Tuples and dicts keep their structure; anything else is stacked directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["as_numpy", "collate"]


def as_numpy(x: Any) -> np.ndarray:
    """``x`` as a numpy array; objects with a ``.numpy()`` method (a Tensor) are asked for theirs."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)


def collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch: tuples field by field, dicts key by key, arrays directly."""
    if len(samples) == 0:
        raise ValueError("collate: cannot make a batch from zero samples")
    first = samples[0]
    if isinstance(first, Mapping):
        return {key: collate([s[key] for s in samples]) for key in first}
    if isinstance(first, tuple | list):
        width = len(first)
        if any(len(s) != width for s in samples):
            raise ValueError(f"collate: samples have different numbers of fields (first has {width})")
        return tuple(collate([s[i] for s in samples]) for i in range(width))
    return np.stack([as_numpy(s) for s in samples])
