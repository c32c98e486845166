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
        inputs = [
            t.detach().requires_grad_(t.requires_grad) if t.is_floating_point() else t.detach()
            for t in self.parents
        ]
        with enable_grad(), replay_rng(self.rng_state):
            out = self.fn(*inputs)
        out.backward(Tensor._from_array(grad, out.device))
        return tuple(None if t.grad is None else t.grad._array() for t in inputs)


def checkpoint(fn: Callable[..., Tensor], *args: Tensor, preserve_rng_state: bool = True) -> Tensor:
    """``fn(*args)`` whose intermediates are recomputed in backward instead of stored (same random draws)."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    if len(tensors) != len(args):
        raise TypeError("checkpoint: every argument must be a Tensor (bind other arguments with a lambda)")
    rng_state = get_rng_state() if preserve_rng_state else {}
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
