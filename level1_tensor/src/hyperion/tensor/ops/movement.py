"""Movement ops: views that only re-describe the same storage, and the copies between them.

A view op computes a new ``(shape, strides, offset)`` with the pure functions of
:mod:`hyperion.tensor.strides` and shares the input's storage (no bytes move). Its backward moves
the gradient back the other way: permute by the inverse permutation, reshape to the old shape,
sum over expanded dimensions (the engine's unbroadcast), scatter a slice into zeros.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperion.tensor import autograd
from hyperion.tensor.autograd import Function, is_grad_enabled
from hyperion.tensor.backend import Array, get_backend
from hyperion.tensor.strides import expand_strides, index_view, permute_strides, view_strides

if TYPE_CHECKING:
    from hyperion.tensor.tensor import Tensor

# The stride rules are pure functions of tuples, and a model asks the same few questions every step:
# their answers are remembered, so a view op costs its Tensor, not its arithmetic (a GPT block's
# split-and-reshape of q, k, v took 24 us of Python on the CPU, most of it here).
cached_permute_strides = functools.lru_cache(maxsize=4096)(permute_strides)
cached_expand_strides = functools.lru_cache(maxsize=4096)(expand_strides)
cached_view_strides = functools.lru_cache(maxsize=4096)(view_strides)


class ViewFunction(Function):
    """A Function whose output shares the input's storage.

    Subclasses implement ``view(x, **options) -> (shape, strides, offset)`` instead of
    ``forward``, and ``backward`` as usual.
    """

    @classmethod
    def apply(cls, x: Tensor, **options: Any) -> Tensor:  # type: ignore[override]
        ctx = cls(get_backend(x.device))
        hook = autograd._op_hook  # a profiler sees views too, with phase "view"
        out = ctx.forward(x, **options) if hook is None else hook(ctx, "view", [x], options, autograd._unchanged)
        if x.requires_grad and is_grad_enabled():
            out.requires_grad, out._ctx = True, ctx
            ctx.parents, ctx.needs_input_grad = (x,), (True,)
        return out

    def forward(self, x: Tensor, **options: Any) -> Tensor:  # type: ignore[override]
        """The view of ``x`` (a Tensor sharing its storage): what ``apply`` runs."""
        shape, strides, offset = self.view(x, **options)
        return x._view(shape, strides, offset)

    def view(self, x: Tensor, **options: Any) -> tuple[tuple[int, ...], tuple[int, ...], int]:
        raise NotImplementedError


class Permute(ViewFunction):
    def view(self, x: Tensor, dims: tuple[int, ...]):
        shape, strides = cached_permute_strides(x.shape, x.strides, tuple(dims))
        self.dims = tuple(d % x.ndim for d in dims)
        return shape, strides, x.offset

    def backward(self, grad: Array) -> Array:
        return grad.transpose(np.argsort(self.dims))


class Expand(ViewFunction):
    """Stride-0 view; backward is the sum over expanded dimensions, done by the engine."""

    def view(self, x: Tensor, shape: tuple[int, ...]):
        strides = cached_expand_strides(x.shape, x.strides, tuple(shape))
        shape = tuple(
            old if new == -1 else new for new, old in zip(shape, (None,) * (len(shape) - x.ndim) + x.shape)
        )
        return shape, strides, x.offset

    def backward(self, grad: Array) -> Array:
        return grad  # the engine sums it back to the input's shape (unbroadcast)


class View(ViewFunction):
    """Same elements, new shape; only possible when the strides allow it (see ``view_strides``)."""

    def view(self, x: Tensor, shape: tuple[int, ...]):
        strides = cached_view_strides(x.shape, x.strides, tuple(shape))
        if strides is None:
            from hyperion.tensor.errors import ShapeError

            raise ShapeError(
                f"view: shape {shape} is not compatible with the input's shape {x.shape} "
                f"and strides {x.strides}; use reshape() (which copies) or contiguous()"
            )
        self.input_shape = x.shape
        return shape, strides, x.offset

    def backward(self, grad: Array) -> Array:
        return grad.reshape(self.input_shape)


class BasicIndex(ViewFunction):
    """``x[key]`` for ints, slices, None and ``...``: a view; backward scatters into zeros."""

    def view(self, x: Tensor, key: tuple):
        self.input_shape, self.native_key = x.shape, key
        return index_view(x.shape, x.strides, x.offset, key)

    adds_into_pending = True  # q, k, v = split(qkv): one zeros array for the three slices, not three and two sums

    def backward(self, grad: Array) -> Array | None:
        into = self.__dict__.pop("grad_into", None)
        if into is not None:  # the parent's gradient so far (the engine's alone): add this slice into it
            key = self.native_key if Ellipsis in self.native_key else (*self.native_key, ...)
            part = into[key]  # a view (the trailing ``...`` keeps an all-integer key from giving a scalar)
            part += grad
            return None
        full = self.backend.zeros(self.input_shape, grad.dtype)
        full[self.native_key] = grad
        return full


class Clone(Function):
    """A contiguous copy; the gradient passes through unchanged."""

    saves_inputs = False

    def forward(self, x: Array) -> Array:
        return self.backend.copy(x)

    def backward(self, grad: Array) -> Array:
        return grad


class Reshape(Function):
    """Reshape that needs a copy (the view was impossible)."""

    saves_inputs = False

    def forward(self, x: Array, shape: tuple[int, ...]) -> Array:
        self.input_shape = x.shape
        return self.backend.contiguous(x).reshape(shape)

    def backward(self, grad: Array) -> Array:
        return grad.reshape(self.input_shape)


class Cat(Function):
    """Concatenate along ``dim``; backward hands each input its slice of the gradient."""

    saves_inputs = False

    def forward(self, *arrays: Array, dim: int = 0) -> Array:
        self.dim, self.sizes = dim, [a.shape[dim] for a in arrays]
        return self.backend.concatenate(list(arrays), dim)

    def backward(self, grad: Array) -> tuple[Array, ...]:
        pieces, start = [], 0
        for size in self.sizes:
            index = [slice(None)] * grad.ndim
            index[self.dim] = slice(start, start + size)
            pieces.append(grad[tuple(index)])
            start += size
        return tuple(pieces)


class ToDevice(Function):
    """Move between devices; the gradient moves back."""

    @classmethod
    def apply(cls, x: Tensor, device: str) -> Tensor:  # type: ignore[override]
        """Task 1.24: move ``x`` to ``device`` through the two backends: a differentiable copy.

        Bring ``x``'s array to the host with its backend's ``to_numpy``, make it C-contiguous, hand it
        to the target backend's ``from_host`` and wrap it (``type(x)._from_array(array, device)``).
        When ``x`` requires grad (and grad is enabled) the copy is a graph node: ``ctx =
        cls(get_backend(device))``, ``ctx.source = x.device``, ``parents``/``needs_input_grad`` set,
        ``out.requires_grad``/``out._ctx`` set. Every device speaks through its backend only, which
        is how level 3 can swap in its own kernels without touching this code.
        """
        # BEGIN SOLUTION
        ctx = cls(get_backend(device))
        ctx.source = x.device
        host = get_backend(x.device).to_numpy(x._array())
        out = type(x)._from_array(get_backend(device).from_host(np.ascontiguousarray(host)), device)
        if x.requires_grad and is_grad_enabled():
            out.requires_grad, out._ctx = True, ctx
            ctx.parents, ctx.needs_input_grad = (x,), (True,)
        return out
        # END SOLUTION

    def backward(self, grad: Array) -> Array:
        """Task 1.24: the gradient goes back to the source device (``self.source``) the same way."""
        # BEGIN SOLUTION
        return get_backend(self.source).from_host(self.backend.to_numpy(grad))
        # END SOLUTION
