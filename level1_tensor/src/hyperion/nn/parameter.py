"""Parameter: a Tensor that a Module owns and an optimizer updates.

A Parameter is an ordinary leaf tensor with ``requires_grad=True``. What makes it special is its
*type*: when ``Module.__setattr__`` sees a Parameter it records it, so ``model.parameters()`` can
find every weight without the author listing them. A plain Tensor attribute (a constant, a cache)
is not registered.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.tensor import Tensor
from hyperion.tensor.errors import AutogradError


class Parameter(Tensor):
    """A leaf tensor registered by modules; shares storage with the ``data`` it wraps (as PyTorch)."""

    __slots__ = ()

    def __init__(self, data: Tensor | np.ndarray | Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = Tensor(np.empty((0,), dtype=np.float32))
        elif not isinstance(data, Tensor):
            data = Tensor(data)
        if requires_grad and not data.is_floating_point():
            raise AutogradError(f"a Parameter that requires grad must be floating point, got {data.dtype}")
        self.device = data.device
        self.data = data.detach()  # take over its storage, shape, strides and offset: no copy
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._ctx = None
        self._retains_grad = False

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: int) -> Any:
        return (_rebuild_parameter, (self.detach().numpy().copy(), self.device, self.requires_grad))


def _rebuild_parameter(array: np.ndarray, device: str, requires_grad: bool) -> Parameter:
    return Parameter(Tensor(array, dtype=array.dtype, device=device), requires_grad)
