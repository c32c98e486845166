"""Matrix multiplication, and the fused ``linear`` layer built on it.

For ``C = A @ B`` with upstream gradient ``G = dL/dC``:  ``dL/dA = G @ Bᵀ`` and ``dL/dB = Aᵀ @ G``
(check the shapes: (m,n)@(n,k) -> (m,k); G is (m,k); G@Bᵀ is (m,n) like A).
"""

from __future__ import annotations

import numpy as np

from hyperion.tensor.autograd import Function
from hyperion.tensor.backend import Array
from hyperion.tensor.errors import ShapeError


class Matmul(Function):
    """``a @ b`` with numpy semantics: 1-D operands are promoted to a row/column and the added
    dimension removed again; leading (batch) dimensions broadcast."""

    def forward(self, a: Array, b: Array) -> Array:
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(
                f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}"
            )
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(
                f"matmul: shapes {a.shape} and {b.shape} do not align "
                f"({a.shape[-1]} vs {b.shape[-2 if b.ndim > 1 else 0]})"
            )
        try:  # numpy's shape rule, not the learner's Task 1.3, so tasks are graded independently
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ShapeError(
                f"matmul: the batch dimensions of shapes {a.shape} and {b.shape} cannot be broadcast"
            ) from None
        self.a, self.b = a, b
        return self.backend.matmul(a, b)

    def backward(self, grad: Array) -> tuple[Array, Array]:
        """Task 1.7: gradients of ``a @ b``: ``grad @ bᵀ`` and ``aᵀ @ grad``.

        Promote 1-D operands first (``a`` of shape (n,) acts as (1, n), ``b`` of shape (n,) as
        (n, 1)) and give ``grad`` back the dimension that the 1-D operand removed; after the two
        products, drop the promoted dimension again. Transpose only the last two axes
        (``swapaxes(-1, -2)``). Batch dimensions may come back broadcast: the engine sums them
        to each input's shape.
        """
        # BEGIN SOLUTION
        a, b, backend = self.a, self.b, self.backend
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:  # first: a 0-d grad (1-D @ 1-D) becomes (1,), then (1, 1)
            grad = grad[..., None]
        if a.ndim == 1:
            grad = grad[..., None, :]
        grad_a = backend.matmul(grad, b2.swapaxes(-1, -2))
        grad_b = backend.matmul(a2.swapaxes(-1, -2), grad)
        if a.ndim == 1:
            grad_a = grad_a[..., 0, :]
        if b.ndim == 1:
            grad_b = grad_b[..., :, 0]
        return grad_a, grad_b
        # END SOLUTION


class Linear(Function):
    """``x @ weightᵀ + bias`` in one Function (PyTorch's weight layout: (out, in)).

    Fused so the weight gradient is one (out, N)@(N, in) product over all leading dimensions of
    ``x`` at once, and no transposed copy of the weight is made.
    """

    def forward(self, x: Array, weight: Array, bias: Array | None = None) -> Array:
        if x.shape[-1] != weight.shape[1]:
            raise ShapeError(
                f"linear: input of shape {x.shape} has {x.shape[-1]} features but the "
                f"weight of shape {weight.shape} expects {weight.shape[1]}"
            )
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        out = self.backend.matmul(x, weight.T)
        if bias is not None:
            out += bias
        return out

    def backward(self, grad: Array) -> tuple[Array, ...]:
        grad2 = grad.reshape(-1, grad.shape[-1])
        x2 = self.x.reshape(-1, self.x.shape[-1])
        grad_x = self.backend.matmul(grad, self.weight)
        grad_w = self.backend.matmul(grad2.T, x2)
        if not self.has_bias:
            return grad_x, grad_w
        return grad_x, grad_w, self.backend.sum(grad2, (0,), False)
