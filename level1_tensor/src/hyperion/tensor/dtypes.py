"""The dtypes a Tensor may hold, as numpy dtype objects (CuPy uses the same ones)."""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.tensor.errors import DTypeError

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

SUPPORTED = {float16, float32, float64, int64, bool_}
default_float = float32


def as_dtype(dtype: Any) -> np.dtype:
    """Accept ``"float32"``, ``np.float32``, ``hyperion.tensor.float32``...; refuse the others."""
    if dtype is bool or dtype == "bool":
        return bool_
    if dtype is float:
        return default_float
    if dtype is int:
        return int64
    try:
        result = np.dtype(dtype)
    except TypeError as error:
        raise DTypeError(f"unknown dtype {dtype!r}") from error
    if result not in SUPPORTED:
        raise DTypeError(
            f"dtype {result} is not supported; use one of float16, float32, float64, int64, bool"
        )
    return result


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def infer_dtype(array: np.ndarray) -> np.dtype:
    """The Tensor dtype for data given as numpy: floats keep float16/32 and float64 stays float64
    only when asked; Python floats become float32 as in PyTorch."""
    kind = array.dtype.kind
    if kind == "f":
        return array.dtype if array.dtype in SUPPORTED else float32
    if kind in "iu":
        return int64
    if kind == "b":
        return bool_
    raise DTypeError(f"cannot make a tensor from data of dtype {array.dtype}")


def host_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Data (lists, numbers, numpy arrays) as a new C-ordered numpy array of a supported dtype:
    Python floats become float32, numpy keeps its own (a Tensor is converted by ``Tensor`` first)."""
    if isinstance(data, np.ndarray) or np.isscalar(data) and isinstance(data, np.generic):
        array = np.asarray(data)
        target = as_dtype(dtype) if dtype is not None else infer_dtype(array)
    else:
        array = np.asarray(data)
        if dtype is not None:
            target = as_dtype(dtype)
        elif array.dtype.kind == "f":
            target = default_float
        else:
            target = infer_dtype(array)
    return np.array(array, dtype=target, copy=True, order="C")
