"""Reverse-mode automatic differentiation: the graph, the Function, and the backward pass.

Every differentiable op is a :class:`Function` with ``forward`` and ``backward`` side by side.
``Function.apply`` runs ``forward`` on native arrays and, when a gradient may be needed, records
itself as the ``_ctx`` of its output: the graph *is* the chain of ``_ctx.parents``.

``backward`` visits that graph from the output to the leaves in reverse topological order (a node
only after every node that uses it), so each node's gradient is complete before it is passed on.
The walk is iterative: a chain of 100,000 ops must not hit Python's recursion limit.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from hyperion.tensor.backend import Array, Backend, get_backend
from hyperion.tensor.errors import AutogradError, DeviceError
from hyperion.tensor.strides import unbroadcast

if TYPE_CHECKING:
    from hyperion.tensor.tensor import Tensor


# ---- grad mode ---------------------------------------------------------------------------------
class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether ops currently record the graph."""
    return _grad_mode.enabled


@contextlib.contextmanager
def set_grad_enabled(mode: bool) -> Iterator[None]:
    """Record the graph (``True``) or not (``False``) inside the block."""
    previous, _grad_mode.enabled = _grad_mode.enabled, mode
    try:
        yield
    finally:
        _grad_mode.enabled = previous


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Inside this block ops record nothing: for evaluation and optimizer updates."""
    return set_grad_enabled(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Turn recording back on inside a ``no_grad`` block."""
    return set_grad_enabled(True)


# ---- the op hook (a profiler's way in) ----------------------------------------------------------
OpHook = Callable[["Function", str, list, dict, Callable[[Any], Any]], Any]
_op_hook: OpHook | None = None


def set_op_hook(hook: OpHook | None) -> OpHook | None:
    """Route every ``forward`` and ``backward`` through ``hook(ctx, phase, arrays, options, finish)``,
    which must run the call itself (``ctx.backward(*arrays)`` when ``phase == "backward"``, else
    ``ctx.forward(*arrays, **options)``) and return ``finish(result)``; ``None`` removes it. Returns
    the previous hook. ``finish`` is the engine's own work on the result -- wrapping it in a Tensor
    and recording the graph after a forward, handing the gradients to the parents and freeing what
    the op saved after a backward -- so a profiler's span holds all of an op's cost, as PyTorch's op
    spans hold its autograd recording. View ops (no kernel: a new stride view) come through with
    phase ``"view"``, their ``arrays`` the input Tensor. The backward pass's own array work (a leaf's
    gradient stored, two gradients of one tensor summed) comes through too, as
    :class:`AccumulateGrad` and :class:`AddGrads` with phase ``"engine"``, and so does ``zero_grad``
    (:class:`ZeroGrads`, the gradients freed or zeroed). Level 3's profiler is
    the user: with no hook, each op pays one ``is None`` test."""
    global _op_hook
    previous, _op_hook = _op_hook, hook
    return previous


def _unchanged(result: Any) -> Any:
    """``finish`` for calls whose result needs no more work (views, the engine's own array work)."""
    return result


# ---- Function ----------------------------------------------------------------------------------
class Function:
    """One differentiable op: ``forward`` on native arrays, and its ``backward``.

    Subclasses implement ``forward(self, *arrays, **options) -> array`` and
    ``backward(self, grad) -> array | tuple[array | None, ...]`` (one gradient per tensor input,
    ``None`` where an input needs none). ``forward`` saves on ``self`` what ``backward`` needs.
    Gradients may come back in the *broadcast* shape of the output: the engine sums them back to
    each input's shape (:func:`hyperion.tensor.strides.unbroadcast`).

    Use ``self.backend`` for math beyond arithmetic operators. A Function can be exercised
    directly on arrays, without tensors: ``f = Mul(); out = f.forward(a, b); ga, gb = f.backward(g)``.
    """

    differentiable = True
    saves_inputs = True  # backward reads the inputs' (or output's) values: guard them against in-place writes
    # a one-parent op whose backward can add its gradient into the parent's gradient so far: the engine
    # then sets ``grad_into`` (that sum, which it alone holds) before ``backward``, which returns None
    adds_into_pending = False

    def __init__(self, backend: Backend | None = None) -> None:
        self.backend = backend or get_backend("cpu")
        self.parents: tuple[Tensor, ...] = ()
        self.needs_input_grad: tuple[bool, ...] = ()
        self.released = False

    def forward(self, *arrays: Array, **options: Any) -> Array:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad: Array) -> Array | tuple[Array | None, ...]:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    @classmethod
    def apply(cls, *inputs: Tensor, **options: Any) -> Tensor:
        """Run the op on tensors: forward on their arrays, and record the graph if needed."""
        device = inputs[0].device
        for other in inputs[1:]:
            if other.device != device:
                raise DeviceError(
                    f"{cls.__name__}: expected all tensors on one device, got {device!r} and {other.device!r}"
                )
        backend = get_backend(device)
        ctx = backend.function(cls)(backend)  # cls itself, or the backend's fused-kernel subclass of it
        arrays = [t._array() for t in inputs]
        if _op_hook is not None:
            return _op_hook(ctx, "forward", arrays, options, functools.partial(ctx._record, inputs, device))
        return ctx._record(inputs, device, ctx.forward(*arrays, **options))

    def _record(self, inputs: tuple[Tensor, ...], device: str, out: Array) -> Tensor:
        """``out`` as a Tensor on ``device``; when a gradient may be needed, this op becomes its ``_ctx``."""
        requires_grad = self.differentiable and _grad_mode.enabled and any(t.requires_grad for t in inputs)
        requires_grad = requires_grad and out.dtype.kind == "f"  # integer results carry no gradient
        result = type(inputs[0])._from_array(out, device, requires_grad)  # a Tensor: no import of it here
        if requires_grad:
            self.parents = inputs
            self.needs_input_grad = tuple(t.requires_grad for t in inputs)
            if self.saves_inputs:
                self.saved_versions = tuple((t._version, t._version[0]) for t in (*inputs, result))
            result._ctx = self
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


class AccumulateGrad(Function):
    """The engine storing a leaf's gradient (a copy or the array itself, or a sum with the one there):
    seen by the op hook."""

    differentiable = False

    def forward(self, grad: Array, leaf: Tensor, steal: bool = False) -> Array:
        leaf._accumulate_grad(grad, steal)
        return leaf.grad._array()


class AddGrads(Function):
    """The engine summing two gradients of one tensor (it feeds two ops): seen by the op hook."""

    differentiable = False

    def forward(self, total: Array, grad: Array, in_place: bool = False) -> Array:
        if in_place:  # the engine holds the only reference to ``total``: add into it, no new array
            total += grad
            return total
        return total + grad


class ZeroGrads(Function):
    """The engine forgetting leaves' gradients (``zero_grad``; their memory freed): seen by the op hook."""

    differentiable = False

    def forward(self, params: Iterable[Any], set_to_none: bool = True) -> None:
        for param in params:
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = param.grad.detach()
                param.grad.zero_()


def zero_grads(params: Iterable[Any], set_to_none: bool = True, device: str = "cpu") -> None:
    """Forget the gradients of ``params`` (``None``, or zeros in place), through the op hook when one
    is set: a profiler sees the step's ``zero_grad`` as engine work on ``device``."""
    ctx = ZeroGrads(get_backend(device))
    if _op_hook is None:
        ctx.forward(params, set_to_none)
    else:
        _op_hook(ctx, "engine", [], {"params": params, "set_to_none": set_to_none}, _unchanged)


# ---- hooks ----------------------------------------------------------------------------------------
class RemovableHandle:
    """What registering a hook returns: ``handle.remove()`` unregisters it (again is a no-op)."""

    def __init__(self, hooks: list, hook: Any) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


# ---- the backward pass -------------------------------------------------------------------------
def _one_reference() -> int:
    """What ``sys.getrefcount`` reports for an object held by one local variable (2 on CPython 3.11-3.13,
    whose count includes getrefcount's own argument): measured, not assumed, as the count is an
    implementation detail."""
    probe = object()
    return sys.getrefcount(probe)


def _count(x: Any) -> int:
    return sys.getrefcount(x)


def _held_by_a_dict() -> int:
    """What ``sys.getrefcount`` reports, inside a helper, for an object held by one dict entry and the
    caller's local variable: how :func:`_sole_pending` sees a pending gradient nothing else refers to."""
    pending = {0: object()}
    probe = pending[0]
    return _count(probe)


_ONE_REFERENCE = _one_reference()
_PENDING_ONLY = _held_by_a_dict()


def _sole_pending(total: Array, grad: Array, backend: Backend) -> bool:
    """Whether the engine may add ``grad`` into ``total`` in place: ``total`` is a pending gradient
    (``grads[key]``) that nothing else refers to -- no op saved it, no other tensor's gradient or view is
    it -- over memory of its own, of ``grad``'s dtype (so the sum's dtype is ``total``'s)."""
    return (backend.in_place_grads and total.dtype == grad.dtype
            and sys.getrefcount(total) == _PENDING_ONLY and backend.owns_memory(total))


def toposort(root: Tensor) -> list[Tensor]:
    """Task 1.8: every tensor that ``root`` depends on, ``root`` first, each before its parents.

    Parents of a tensor ``t`` are ``t._ctx.parents`` (leaves have ``t._ctx is None``). Return a
    list in which every tensor comes *before* all tensors it was computed from — the order in which
    ``backward`` can process them, each one's gradient complete when visited. Visit each tensor
    once even if it is reached along many paths (compare with ``id`` or ``is``), and do it
    without recursion: a depth-first search with an explicit stack, appending a node after all its
    parents are done (post-order), then reversing the list.
    """
    # BEGIN SOLUTION
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            for parent in node._ctx.parents:
                if id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order
    # END SOLUTION


def run_backward(root: Tensor, grad: Array, retain_graph: bool = False) -> None:
    """Propagate ``grad`` (d output / d root) to every leaf that requires grad."""
    grads: dict[int, Array] = {id(root): grad}

    def deliver(ctx: Function, parent_grads: Array | tuple[Array | None, ...]) -> None:
        """Hand one op's input gradients to its parents (summing where a parent has one already), then
        free what the op saved, and its links to its parents: nothing of a finished op stays alive."""
        if not isinstance(parent_grads, tuple):
            parent_grads = (parent_grads,)
        for parent, pg in zip(ctx.parents, parent_grads):
            if pg is None or not parent.requires_grad:
                continue
            if pg.shape != parent.shape:
                pg = unbroadcast(pg, parent.shape)
            key = id(parent)
            total = grads.get(key)
            if total is None:
                grads[key] = pg
                continue
            # a sum of two gradients of one tensor (it fed two ops): written into the first when the
            # engine alone holds it (PyTorch's engine does the same), else a new array
            in_place = _sole_pending(total, pg, parent._backend)
            del total  # (the test above counted this reference)
            if _op_hook is None:
                if in_place:
                    grads[key] += pg
                else:
                    grads[key] = grads[key] + pg
            else:
                add = AddGrads(parent._backend)
                grads[key] = _op_hook(add, "engine", [grads.pop(key), pg], {"in_place": in_place}, _unchanged)
        if not retain_graph:
            ctx.released = True
            ctx.__dict__ = {k: v for k, v in ctx.__dict__.items()
                            if k in ("backend", "needs_input_grad", "released", "saved_versions")}
            ctx.parents = ()  # a second backward() stops here, at the error below

    order = toposort(root)
    order.reverse()  # popped from the end, root first: a tensor is let go as soon as it is done
    while order:
        node = order.pop()
        g = grads.pop(id(node), None)
        if g is None:
            continue
        ctx = node._ctx
        if ctx is None or node._retains_grad:
            if node.requires_grad:
                # a leaf's first gradient is kept without a copy when the engine holds the only reference
                # to it (not a view, not also another tensor's gradient, not saved by an op)
                steal = ctx is None and sys.getrefcount(g) == _ONE_REFERENCE and node._backend.owns_memory(g)
                if _op_hook is None:
                    node._accumulate_grad(g, steal)
                else:
                    _op_hook(AccumulateGrad(node._backend), "engine", [g], {"leaf": node, "steal": steal},
                             _unchanged)
                for hook in tuple(getattr(node, "_grad_hooks", None) or ()):
                    hook(node)  # this leaf's gradient is complete: e.g. start its all-reduce
            if ctx is None:
                continue
        if ctx.released:
            raise AutogradError(
                "backward through a graph whose intermediate values were freed by an earlier "
                "backward(); call backward(retain_graph=True) the first time to go through it twice"
            )
        for version, seen in getattr(ctx, "saved_versions", ()):
            if version[0] != seen:
                raise AutogradError(
                    f"a tensor that {ctx!r} saved for backward was modified in place after the forward "
                    f"pass (version {version[0]}, saved at {seen}); clone it before changing it, or "
                    "run backward before the in-place update"
                )
        if ctx.adds_into_pending:  # e.g. a slice's backward: into its parent's gradient so far, if sole
            parent = ctx.parents[0]
            total = grads.get(id(parent))
            if total is not None and _sole_pending(total, g, parent._backend):
                ctx.grad_into = total  # the op adds its gradient there and hands on None
            del total, parent
        if _op_hook is None:
            deliver(ctx, ctx.backward(g))
        else:
            _op_hook(ctx, "backward", [g], {}, functools.partial(deliver, ctx))
