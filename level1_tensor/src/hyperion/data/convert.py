"""The one place where numpy batches become Hyperion Tensors.

The rule is small and predictable: floating arrays keep their precision (float16 is widened to
float32), booleans stay boolean, and every integer type becomes int64, the dtype labels and indices use.
That means raw ``uint8`` images would become int64: scale them with ``transforms.ToFloat`` first (the
MNIST dataset does so by default).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["batch_to_tensors", "to_tensor"]


def _tensor_dtype(dtype: np.dtype) -> np.dtype:
    if dtype == np.float16:
        return np.dtype(np.float32)
    if np.issubdtype(dtype, np.floating) or dtype == np.bool_:
        return dtype
    if np.issubdtype(dtype, np.integer):
        return np.dtype(np.int64)
    raise TypeError(f"to_tensor: cannot make a Tensor from dtype {dtype}")


def to_tensor(array: np.ndarray) -> Any:
    """Wrap a numpy array as a CPU ``hyperion.tensor.Tensor`` (dtype rule in the module docstring)."""
    from hyperion.tensor import tensor  # imported here so that data works (with numpy) on its own

    if isinstance(tensor, ModuleType):  # a namespace package without __init__ exposes the submodule
        raise ImportError("hyperion.tensor does not export tensor() yet; use as_tensor=False")  # noqa: TRY004
    array = np.asarray(array)
    return tensor(np.ascontiguousarray(array, dtype=_tensor_dtype(array.dtype)))


def batch_to_tensors(batch: Any) -> Any:
    """Apply :func:`to_tensor` to every array in a batch, keeping tuples and dicts."""
    if isinstance(batch, dict):
        return {k: batch_to_tensors(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return tuple(batch_to_tensors(b) for b in batch)
    return to_tensor(batch)
