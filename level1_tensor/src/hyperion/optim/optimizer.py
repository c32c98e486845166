"""Optimizer: the base class that holds parameters, their options, and their per-parameter state.

An optimizer sees parameters in *groups*, each a dict with ``"params"`` and its own options
(``{"params": backbone, "lr": 1e-4}, {"params": head}``, options missing from a group come from
the defaults). ``self.state[param]`` holds what the algorithm remembers between steps (a momentum
buffer, Adam's moments, a step count). That state is as much part of training as the weights: a
checkpoint without it resumes with a different optimizer, hence ``state_dict()``.

Updates happen in place on the parameters' storage, inside ``no_grad()``: the step itself must
not become part of the next step's graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from hyperion.tensor import Tensor, autograd, enable_grad


class Optimizer:
    """Subclasses call ``super().__init__(params, defaults)`` and implement ``step``."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params should be an iterable of Tensors or dicts, got a Tensor; "
                            "use [tensor] or model.parameters()")
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. a new layer while fine-tuning)."""
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed from others)")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError("some parameters appear in more than one parameter group (or twice in one)")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``None`` (the default, which saves memory) or zeros."""
        params = [p for group in self.param_groups for p in group["params"]]
        if params:  # (through the op hook: a profiler sees it as the engine's work)
            autograd.zero_grads(params, set_to_none, params[0].device)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.step")

    def _evaluate(self, closure: Callable[[], Any] | None) -> Any:
        """Run ``closure`` (which recomputes the loss and calls backward) with gradients on."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ---- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{options, "params": [index, ...]}]}`` as PyTorch:
        parameters are named by their position across groups. Tensors are copies."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: {k: _copy(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore options and per-parameter state saved by :meth:`state_dict` (possibly read from a
        file); state tensors are copied onto each parameter's device (floating ones in its dtype)."""
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, this optimizer "
                             f"has {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"parameter group {i}: loaded state dict has {len(saved['params'])} "
                                 f"parameters, this optimizer has {len(group['params'])}")
            for idx, p in zip(saved["params"], group["params"]):
                by_index[int(idx)] = p
        self.state = {}
        for idx, values in state_dict["state"].items():
            p = by_index.get(int(idx))
            if p is not None:
                self.state[p] = {k: _restore(v, p) for k, v in values.items()}
        self.param_groups = [{**{k: v for k, v in saved.items() if k != "params"}, "params": group["params"]}
                             for saved, group in zip(saved_groups, self.param_groups)]

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def _copy(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, Tensor) else value


def _restore(value: Any, param: Tensor) -> Any:
    """A saved state value made ready for ``param``: tensors on its device, floats in its dtype."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu":
        return int(value)
    if isinstance(value, np.ndarray):
        value = Tensor(value, dtype=value.dtype)
    if not isinstance(value, Tensor):
        return value
    value = value.detach()
    if value.is_floating_point() and value.dtype != param.dtype:
        value = value.to(param.dtype)
    if value.device != param.device:
        value = value.to(param.device)
    return value.clone()
