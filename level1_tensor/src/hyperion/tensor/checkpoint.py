"""Gradient checkpointing: trade compute for memory.

``checkpoint(fn, *args)`` runs ``fn`` under ``no_grad`` — none of its intermediate arrays are kept
— and records a single node. In backward it runs ``fn`` again with grad enabled, backpropagates
through that fresh sub-graph, and hands the inputs their gradients. Activation memory for the
segment drops from all its intermediates to just its inputs, at the cost of a second forward.
Randomness is replayed: the generators' state is kept at the forward and restored for the
recomputation (as ``torch.utils.checkpoint``'s ``preserve_rng_state``), so dropout inside ``fn`` draws
the same masks twice; ``preserve_rng_state=False`` skips that for a ``fn`` that draws nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from hyperion.tensor.autograd import Function, enable_grad, is_grad_enabled, no_grad
from hyperion.tensor.backend import Array, get_backend
from hyperion.tensor.random import get_rng_state, replay_rng
from hyperion.tensor.tensor import Tensor


class _Checkpoint(Function):
    def backward(self, grad: Array) -> tuple[Array | None, ...]:
        """Task 1.23: recompute the segment and backpropagate through it.

        Make fresh leaves from ``self.parents`` (``t.detach().requires_grad_(t.requires_grad)`` for
        floating-point tensors, ``t.detach()`` otherwise), run ``self.fn`` on them under
        ``enable_grad()`` (backward runs with grad disabled) and ``replay_rng(self.rng_state)`` (the
        forward's random draws again), call ``out.backward`` with ``grad``
        wrapped as a Tensor (``Tensor._from_array(grad, out.device)``), and return each leaf's
        ``.grad`` as an array (``None`` where it has none), one per parent.
        """
        # BEGIN SOLUTION
        inputs = [
            t.detach().requires_grad_(t.requires_grad) if t.is_floating_point() else t.detach()
            for t in self.parents
        ]
        with enable_grad(), replay_rng(self.rng_state):
            out = self.fn(*inputs)
        out.backward(Tensor._from_array(grad, out.device))
        return tuple(None if t.grad is None else t.grad._array() for t in inputs)
        # END SOLUTION


def checkpoint(fn: Callable[..., Tensor], *args: Tensor, preserve_rng_state: bool = True) -> Tensor:
    """Task 1.23: ``fn(*args)`` whose intermediates are recomputed in backward instead of stored.

    Run ``fn`` under ``no_grad()`` (nothing of its graph is kept). If grad is enabled and an input
    requires grad, record one node: a ``_Checkpoint(get_backend(out.device))`` with ``fn``,
    ``parents`` (the input tensors), ``needs_input_grad`` and ``rng_state`` (taken below, before
    ``fn`` ran: backward replays it so dropout draws the same masks), and return a new tensor holding
    ``out``'s array with ``requires_grad=True`` and ``_ctx`` that node; otherwise return ``out``.
    Activation memory for the segment falls to its inputs, at the cost of a second forward.
    """
    tensors = [a for a in args if isinstance(a, Tensor)]
    if len(tensors) != len(args):
        raise TypeError("checkpoint: every argument must be a Tensor (bind other arguments with a lambda)")
    rng_state = get_rng_state() if preserve_rng_state else {}
    # BEGIN SOLUTION
    with no_grad():
        out = fn(*args)
    if not (is_grad_enabled() and any(t.requires_grad for t in tensors)):
        return out
    ctx = _Checkpoint(get_backend(out.device))
    ctx.fn, ctx.parents, ctx.needs_input_grad = fn, tuple(tensors), tuple(t.requires_grad for t in tensors)
    ctx.rng_state = rng_state
    result = Tensor._from_array(out._array(), out.device, requires_grad=True)
    result._ctx = ctx
    return result
    # END SOLUTION
