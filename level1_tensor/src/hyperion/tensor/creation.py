"""Factories: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``randn``, ``rand``, ``*_like``."""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.tensor import dtypes
from hyperion.tensor.backend import get_backend
from hyperion.tensor.random import Generator, default_generator
from hyperion.tensor.tensor import Tensor


def _shape(size: tuple) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def tensor(data: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, numpy arrays, tensors)."""
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor that shares memory with ``array`` (as ``torch.from_numpy``)."""
    array = np.asarray(array)
    dtypes.as_dtype(array.dtype)
    return Tensor._from_array(array, "cpu")


def _filled(shape: tuple[int, ...], value: Any, dtype: Any, device: str, requires_grad: bool) -> Tensor:
    dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float
    t = Tensor._from_array(get_backend(device).full(shape, value, dtype), device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def zeros(*size: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    return _filled(_shape(size), 0, dtype, device, requires_grad)


def ones(*size: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    return _filled(_shape(size), 1, dtype, device, requires_grad)


def empty(*size: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False) -> Tensor:
    return _filled(_shape(size), 0, dtype, device, requires_grad)


def full(
    size: Any, fill_value: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False
) -> Tensor:
    if dtype is None:
        dtype = (
            dtypes.bool_
            if isinstance(fill_value, bool)
            else (dtypes.int64 if isinstance(fill_value, int) else dtypes.default_float)
        )
    return _filled(_shape((size,)), fill_value, dtype, device, requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    device: str = "cpu",
    requires_grad: bool = False,
) -> Tensor:
    """``arange(5)``, ``arange(1, 5)``, ``arange(0, 1, 0.25)``: integers give int64, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        exact = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = dtypes.int64 if exact else dtypes.default_float
    t = Tensor._from_array(get_backend(device).arange(start, end, step, dtypes.as_dtype(dtype)), device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def _random(host: np.ndarray, device: str, requires_grad: bool) -> Tensor:
    t = Tensor._from_array(get_backend(device).from_host(host), device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def randn(
    *size: Any,
    dtype: Any = None,
    device: str = "cpu",
    requires_grad: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Standard normal samples from ``generator`` (default: the one ``manual_seed`` seeds)."""
    dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float
    return _random((generator or default_generator).normal(_shape(size), dtype), device, requires_grad)


def rand(
    *size: Any,
    dtype: Any = None,
    device: str = "cpu",
    requires_grad: bool = False,
    generator: Generator | None = None,
) -> Tensor:
    """Uniform samples in ``[0, 1)``."""
    dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float
    return _random(
        (generator or default_generator).uniform(_shape(size), 0.0, 1.0, dtype), device, requires_grad
    )


def randint(
    low: int, high: int, size: Any, device: str = "cpu", generator: Generator | None = None
) -> Tensor:
    host = (generator or default_generator).rng.integers(low, high, _shape((size,)), dtype=np.int64)
    return _random(host, device, False)


def _like(fn: Any, other: Tensor, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    return fn(
        other.shape, dtype=dtype or other.dtype, device=device or other.device, requires_grad=requires_grad
    )


def zeros_like(
    other: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    return _like(zeros, other, dtype, device, requires_grad)


def ones_like(
    other: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    return _like(ones, other, dtype, device, requires_grad)


def empty_like(
    other: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    return _like(empty, other, dtype, device, requires_grad)


def full_like(
    other: Tensor, fill_value: Any, dtype: Any = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    return full(
        other.shape,
        fill_value,
        dtype=dtype or other.dtype,
        device=device or other.device,
        requires_grad=requires_grad,
    )


def randn_like(
    other: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    return _like(randn, other, dtype, device, requires_grad)


def rand_like(
    other: Tensor, dtype: Any = None, device: str | None = None, requires_grad: bool = False
) -> Tensor:
    return _like(rand, other, dtype, device, requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: str = "cpu") -> Tensor:
    dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.default_float
    return Tensor._from_array(get_backend(device).from_host(np.eye(n, m, dtype=dtype)), device)
