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
            if a.ndim > 2 and b.ndim > 2:  # (a 1-D or 2-D operand broadcasts against anything)
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


SPLIT_ROWS = 4096  # reductions over more rows than twice this are split into row chunks (_chunks)


def _chunks(rows: int) -> int:
    """Equal row chunks to split a reduction over ``rows`` rows into: the largest divisor <= 64 that leaves
    chunks of at least 256 rows, or 1 (no split) for short reductions or when no divisor fits."""
    if rows < 2 * SPLIT_ROWS:
        return 1
    return max(c for c in range(1, 65) if rows % c == 0 and rows // c >= 256)


def _transposed_product(backend, a: Array, b: Array) -> Array:
    """``a.T @ b`` for tall ``a`` (K, M) and ``b`` (K, N), split along K into chunks whose products are summed.

    A (M, N) product with a long K (a weight gradient over every point of a batch) is one output
    tile for the GPU's GEMM: a few thread blocks walk all of K (measured on an H200 through CuPy: 1.9
    ms for M = N = 32, K = 144,500). Chunks make it a batched GEMM with ``chunks`` times the blocks.
    """
    k, chunks = a.shape[0], _chunks(a.shape[0])
    if chunks == 1:
        return backend.matmul(a.T, b)
    a3 = a.reshape(chunks, k // chunks, a.shape[1]).transpose(0, 2, 1)
    return backend.sum(backend.matmul(a3, b.reshape(chunks, k // chunks, b.shape[1])), (0,), False)


def _column_sum(backend, a: Array) -> Array:
    """``a.sum(0)`` for tall ``a`` (K, N), in two stages for a long K (as :func:`_transposed_product`)."""
    chunks = _chunks(a.shape[0])
    if chunks == 1:
        return backend.sum(a, (0,), False)
    partial = backend.sum(a.reshape(chunks, a.shape[0] // chunks, a.shape[1]), (1,), False)
    return backend.sum(partial, (0,), False)


class Linear(Function):
    """``x @ weightᵀ + bias`` in one Function (PyTorch's weight layout: (out, in)).

    Fused so the weight gradient is one (out, N)@(N, in) product over all leading dimensions of
    ``x`` at once, and no transposed copy of the weight is made. Every product is 2-D: the leading
    dimensions of ``x`` are folded into its rows (CuPy runs an N-d @ 2-d product as a batched GEMM
    over a pointer array, one small GEMM per leading index), and the reductions over all rows are
    split into chunks when long (:func:`_transposed_product`, :func:`_column_sum`).
    """

    def forward(self, x: Array, weight: Array, bias: Array | None = None) -> Array:
        if x.shape[-1] != weight.shape[1]:
            raise ShapeError(
                f"linear: input of shape {x.shape} has {x.shape[-1]} features but the "
                f"weight of shape {weight.shape} expects {weight.shape[1]}"
            )
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        out = self.backend.matmul(x.reshape(-1, x.shape[-1]), weight.T)
        if bias is not None:
            out += bias
        return out.reshape(*x.shape[:-1], weight.shape[0])

    def backward(self, grad: Array) -> tuple[Array | None, ...]:
        """``grad @ weight`` for ``x`` and ``gradᵀ @ x`` for the weight, each skipped (``None``) when its
        input needs no gradient — the input of a network's first layer: on the level-1 MLP that product
        is a third of the backward's FLOPs."""
        grad2 = grad.reshape(-1, grad.shape[-1])
        x2 = self.x.reshape(-1, self.x.shape[-1])
        needs = self.needs_input_grad or (True, True)
        grad_x = self.backend.matmul(grad2, self.weight).reshape(self.x.shape) if needs[0] else None
        grad_w = _transposed_product(self.backend, grad2, x2) if needs[1] else None
        if not self.has_bias:
            return grad_x, grad_w
        return grad_x, grad_w, _column_sum(self.backend, grad2)
