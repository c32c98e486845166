"""Advanced indexing: integer tensors and boolean masks pick arbitrary elements.

Unlike slicing, the picked elements cannot be described by strides, so forward *gathers* them
into a new array. Backward *scatters-adds* the gradient back: an element picked twice receives
both gradients (``index_add``, not assignment, which would keep only one).
"""

from __future__ import annotations

from typing import Any

from hyperion.tensor.autograd import Function
from hyperion.tensor.backend import Array


class Gather(Function):
    saves_inputs = False

    def forward(self, x: Array, key: Any) -> Array:
        self.input_shape, self.key = x.shape, key
        return self.backend.take(x, key)

    def backward(self, grad: Array) -> Array:
        full = self.backend.zeros(self.input_shape, grad.dtype)
        self.backend.index_add(full, self.key, grad)
        return full
