"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hyperion.optim.optimizer import Optimizer
from hyperion.tensor import Tensor, no_grad, zeros_like


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e) as PyTorch: ``v = α·v + (1-α)·g²``, ``param -= lr·g / (√v + eps)``.

    ``centered`` subtracts the squared running mean of ``g`` (an estimate of the variance instead
    of the raw second moment); ``momentum`` accumulates the normalised steps in a buffer.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        for name, value in (("learning rate", lr), ("epsilon", eps), ("momentum", momentum),
                            ("weight_decay", weight_decay), ("alpha", alpha)):
            if value < 0.0:
                raise ValueError(f"invalid {name} value: {value}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Task 1.21: one RMSprop step on every parameter with a gradient, in place, as PyTorch.

        Per parameter (state created on its first step: ``step`` 0, ``square_avg`` zeros, and
        ``momentum_buffer`` / ``grad_avg`` zeros when ``momentum > 0`` / ``centered``):
        ``g = -grad if maximize else grad``; ``g += weight_decay·param``;
        ``square_avg = α·square_avg + (1-α)·g²``; ``avg = √square_avg + eps`` (centered:
        ``grad_avg += (1-α)(g - grad_avg)`` and ``avg = √(square_avg - grad_avg²) + eps``); then
        ``buf = momentum·buf + g/avg; param -= lr·buf`` with momentum, else ``param -= lr·g/avg``.
        Dividing by a running RMS gives every weight its own step size: large for rarely-moving
        weights, small for noisy ones. Never modify ``param.grad``.
        """
        loss = self._evaluate(closure)
        # BEGIN SOLUTION
        with no_grad():
            for group in self.param_groups:
                lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
                weight_decay, centered, maximize = group["weight_decay"], group["centered"], group["maximize"]
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    grad: Tensor = param.grad
                    state = self.state.setdefault(param, {})
                    if not state:
                        state["step"] = 0
                        state["square_avg"] = zeros_like(param)
                        if momentum > 0:
                            state["momentum_buffer"] = zeros_like(param)
                        if centered:
                            state["grad_avg"] = zeros_like(param)
                    g = -grad if maximize else grad
                    state["step"] += 1
                    if weight_decay != 0:
                        g = g + weight_decay * param
                    square_avg = state["square_avg"]
                    square_avg.mul_(alpha).add_((1 - alpha) * g * g)
                    if centered:
                        grad_avg = state["grad_avg"]
                        grad_avg.add_(g - grad_avg, alpha=1 - alpha)
                        avg = (square_avg - grad_avg * grad_avg).sqrt() + eps
                    else:
                        avg = square_avg.sqrt() + eps
                    if momentum > 0:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).add_(g / avg)
                        param.add_(buf, alpha=-lr)
                    else:
                        param.add_(-lr * g / avg)
        # END SOLUTION
        return loss
