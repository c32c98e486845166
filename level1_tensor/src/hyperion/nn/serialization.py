"""Saving weights and checkpoints to real, framework-neutral files: ``.npz`` or ``.safetensors``.

A ``state_dict`` (name -> tensor) is written as one array per name, nothing else: numpy, PyTorch
or any safetensors reader can open it, and weights exported from PyTorch load here. Neither
format runs code when read (``.npz`` is read with ``allow_pickle=False``), unlike pickle files.

A nested checkpoint (``{"model": ..., "optimizer": ..., "epoch": 3}``) is stored the same way:
its arrays under ``/``-joined paths (``"optimizer/state/0/exp_avg"``) and its structure and plain
values (ints, floats, strings) as a JSON description beside them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from hyperion.nn.module import Module, _host_values
from hyperion.tensor import Tensor, dtypes

_META = "__hyperion_meta__"


def save(obj: Module | Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write a module's ``state_dict``, a state_dict, or a nested checkpoint dict to ``path``.

    The suffix picks the format: ``.safetensors`` (needs the ``safetensors`` package) or ``.npz``.
    """
    if isinstance(obj, Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise TypeError(f"save expects a Module or a dict, got {type(obj).__name__}")
    arrays: dict[str, np.ndarray] = {}
    flat = all(isinstance(k, str) and _is_array(v) for k, v in obj.items())
    if flat:
        arrays = {k: np.ascontiguousarray(_host_values(v)) for k, v in obj.items()}
        meta = None
    else:
        meta = json.dumps(_describe(obj, "", arrays))
    path = os.fspath(path)
    if path.endswith(".safetensors"):
        try:
            from safetensors.numpy import save_file
        except ImportError as error:
            raise ImportError("saving .safetensors needs the safetensors package (pip install safetensors); "
                              "or save to .npz") from error
        save_file(arrays, path, metadata=None if meta is None else {_META: meta})
    elif path.endswith(".npz"):
        extra = {} if meta is None else {_META: np.array(meta)}
        with open(path, "wb") as f:  # an open file keeps numpy from appending a second ".npz"
            np.savez(f, **arrays, **extra)
    else:
        raise ValueError(f"unknown weights format for {path!r}: use a .npz or .safetensors suffix")


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read what :func:`save` wrote (or any ``.npz`` / ``.safetensors`` of named arrays).

    Arrays come back as hyperion Tensors on the CPU (dtypes Hyperion lacks stay numpy arrays).
    """
    path = os.fspath(path)
    if path.endswith(".safetensors"):
        try:
            from safetensors import safe_open
            from safetensors.numpy import load_file
        except ImportError as error:
            raise ImportError("reading .safetensors needs the safetensors package "
                              "(pip install safetensors)") from error
        arrays = load_file(path)
        with safe_open(path, framework="np") as f:
            meta = (f.metadata() or {}).get(_META)
    elif path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = arrays.pop(_META, None)
        meta = None if meta is None else str(meta)
    else:
        raise ValueError(f"unknown weights format for {path!r}: use a .npz or .safetensors suffix")
    if meta is None:
        return {name: _as_tensor(a) for name, a in arrays.items()}
    return _rebuild(json.loads(meta), arrays)


def _is_array(value: Any) -> bool:
    return isinstance(value, (Tensor, np.ndarray)) or (hasattr(value, "detach") and hasattr(value, "numpy"))


def _as_tensor(array: np.ndarray) -> Tensor | np.ndarray:
    if array.dtype in dtypes.SUPPORTED:
        return Tensor(array, dtype=array.dtype)
    return array


def _describe(value: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON-able description of ``value``; its arrays are moved into ``arrays`` under their path."""
    if _is_array(value):
        arrays[path] = np.ascontiguousarray(_host_values(value))
        return {"__array__": path}
    if isinstance(value, Mapping):
        pairs = [[k, _describe(v, f"{path}/{k}" if path else str(k), arrays)] for k, v in value.items()]
        return {"__dict__": pairs}
    if isinstance(value, (list, tuple)):
        items = [_describe(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot save {type(value).__name__} at {path!r}: use tensors, arrays, numbers, strings, "
                    "lists and dicts")


def _rebuild(desc: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(desc, list):
        return [_rebuild(d, arrays) for d in desc]
    if isinstance(desc, dict):
        if "__array__" in desc:
            return _as_tensor(arrays[desc["__array__"]])
        if "__tuple__" in desc:
            return tuple(_rebuild(d, arrays) for d in desc["__tuple__"])
        return {k: _rebuild(v, arrays) for k, v in desc["__dict__"]}
    return desc
