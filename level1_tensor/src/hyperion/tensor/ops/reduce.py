"""Reductions: many elements in, one out, along the dimensions ``axis`` (None = all).

Backward sends each output gradient back to every input element that produced it: a reduced
dimension was collapsed, so the gradient is *expanded* along it again (with ``keepdim=False`` the
dimension must first be re-inserted as size 1).
"""

from __future__ import annotations

import numpy as np  # np.broadcast_to dispatches to CuPy for CuPy arrays (NEP 18)

from hyperion.tensor.autograd import Function
from hyperion.tensor.backend import Array

Axes = tuple[int, ...] | None


def expand_reduced(grad: Array, shape: tuple[int, ...], axis: Axes, keepdim: bool) -> Array:
    """Task 1.6: broadcast a reduced gradient back to the input ``shape``.

    ``grad`` has the reduced shape: ``shape`` with the ``axis`` dimensions removed, or set to 1 if
    ``keepdim``. Re-insert the removed dimensions as size 1 (reshape), then broadcast to ``shape``
    (``np.broadcast_to``: a view, no copy). ``axis=None`` means every dimension was reduced.
    """
    # BEGIN SOLUTION
    if not keepdim:
        axes = range(len(shape)) if axis is None else axis
        kept = [1 if i in axes else n for i, n in enumerate(shape)]
        grad = grad.reshape(kept)
    return np.broadcast_to(grad, shape)
    # END SOLUTION


class Sum(Function):
    saves_inputs = False

    def forward(self, x: Array, axis: Axes = None, keepdim: bool = False) -> Array:
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        return self.backend.sum(x, axis, keepdim)

    def backward(self, grad: Array) -> Array:
        """Task 1.6: every summed element gets the output's gradient unchanged."""
        # BEGIN SOLUTION
        return expand_reduced(grad, self.shape, self.axis, self.keepdim)
        # END SOLUTION


class Mean(Function):
    saves_inputs = False

    def forward(self, x: Array, axis: Axes = None, keepdim: bool = False) -> Array:
        self.shape, self.axis, self.keepdim = x.shape, axis, keepdim
        out = self.backend.sum(x, axis, keepdim)
        self.count = x.size // max(out.size, 1) if x.size else 0
        return out / x.dtype.type(self.count) if self.count else out * float("nan")

    def backward(self, grad: Array) -> Array:
        """Task 1.6: each of the ``count`` averaged elements gets ``grad / count``."""
        # BEGIN SOLUTION
        return expand_reduced(grad / grad.dtype.type(self.count), self.shape, self.axis, self.keepdim)
        # END SOLUTION


class Max(Function):
    """Largest value along ``axis``; the gradient is shared evenly among tied maxima."""

    pick = "max"

    def forward(self, x: Array, axis: Axes = None, keepdim: bool = False) -> Array:
        self.x, self.axis, self.keepdim = x, axis, keepdim
        self.out = getattr(self.backend, self.pick)(x, axis, True)
        return self.out if keepdim else self.out.reshape(_reduced_shape(x.shape, axis))

    def backward(self, grad: Array) -> Array:
        """Task 1.6: the gradient goes to the element(s) equal to the maximum, split among ties."""
        # BEGIN SOLUTION
        winners = self.x == self.out
        count = self.backend.sum(winners, self.axis, True).astype(grad.dtype)
        grad = expand_reduced(grad, self.x.shape, self.axis, self.keepdim)
        return grad * winners / count
        # END SOLUTION


class Min(Max):
    """Smallest value along ``axis``; the gradient is shared evenly among tied minima."""

    pick = "min"


def _reduced_shape(shape: tuple[int, ...], axis: Axes) -> tuple[int, ...]:
    if axis is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axis)
