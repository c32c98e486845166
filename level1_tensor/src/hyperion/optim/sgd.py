"""SGD: step against the gradient, optionally with momentum (a running sum of past gradients)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hyperion.optim.optimizer import Optimizer
from hyperion.tensor import Tensor, no_grad


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Task 1.14: update each parameter ``param`` from its gradient ``grad`` (PyTorch's SGD).

        In order, with the group's options::

            g = -grad if maximize else grad
            g = g + weight_decay · param                     (if weight_decay != 0: L2 penalty)
            if momentum != 0:
                buf = clone of g                             (first step: no dampening yet)
                buf = momentum · buf + (1 - dampening) · g   (later steps; in place)
                g = g + momentum · buf  if nesterov  else  buf
            param = param - lr · g                           (in place)

        Keep the buffer in ``state["momentum_buffer"]`` (``state`` is this parameter's dict, kept
        between steps and saved in checkpoints). Change ``param`` and the buffer in place with
        ``add_(other, alpha=...)`` / ``mul_``: the model holds these very tensors. Never modify
        ``grad`` itself (``param.grad``): compute new tensors from it. We are inside ``no_grad()``.
        """
        loss = self._evaluate(closure)
        with no_grad():
            for group in self.param_groups:
                lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
                weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    grad: Tensor = param.grad
                    state = self.state.setdefault(param, {})
                    # BEGIN SOLUTION
                    g = -grad if maximize else grad
                    if weight_decay != 0:
                        g = g + weight_decay * param
                    if momentum != 0:
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = g.detach().clone()
                            state["momentum_buffer"] = buf
                        else:
                            buf.mul_(momentum).add_(g, alpha=1 - dampening)
                        g = g + momentum * buf if nesterov else buf
                    param.add_(g, alpha=-lr)
                    # END SOLUTION
        return loss
