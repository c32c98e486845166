"""Adam and AdamW: per-coordinate step sizes from running averages of the gradient and its square.

``m`` (the first moment) smooths the gradient; ``v`` (the second moment) measures its typical
size, so ``m / √v`` is a step of about ``lr`` in every coordinate however the gradient is scaled.
Both averages start at zero and are therefore biased towards zero early on; dividing by
``1 - βᵗ`` corrects that. AdamW applies weight decay to the parameter directly ("decoupled"),
instead of adding it to the gradient where Adam's rescaling would weaken it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hyperion.optim.optimizer import Optimizer
from hyperion.tensor import Tensor, maximum, no_grad, zeros_like


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with optional AMSGrad, maximize and decoupled weight decay."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"invalid epsilon value: {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"invalid betas {betas}: each must be in [0, 1)")
        if weight_decay < 0.0:
            raise ValueError(f"invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Task 1.15: the Adam update of each parameter (PyTorch's formulas, in this order).

        With ``t = state["step"]`` counted from 1, ``m = state["exp_avg"]``, ``v =
        state["exp_avg_sq"]`` (zeros at first) and the group's options::

            g = -grad if maximize else grad
            t = t + 1                                    (store it back in state["step"])
            if weight_decay != 0:
                decoupled (AdamW):  param = param · (1 - lr · weight_decay)     (in place)
                else (Adam, L2):    g = g + weight_decay · param
            m = m + (1 - β1) · (g - m)                   (in place: a lerp towards g)
            v = β2 · v + (1 - β2) · g · g                (in place)
            step_size = lr / (1 - β1ᵗ)
            if amsgrad: vmax = max(vmax, v) elementwise (in place, state["max_exp_avg_sq"]); use vmax
            denom = √v / √(1 - β2ᵗ) + eps
            param = param - step_size · m / denom        (in place)

        The bias corrections are Python floats. Write ``(1 - β2) * g * g`` and
        ``-step_size * m / denom`` in that order to round exactly as PyTorch does.
        """
        loss = self._evaluate(closure)
        with no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
                weight_decay, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
                decoupled = group["decoupled_weight_decay"]
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    grad: Tensor = param.grad
                    state = self.state.setdefault(param, {})
                    if not state:
                        state["step"] = 0
                        state["exp_avg"] = zeros_like(param)
                        state["exp_avg_sq"] = zeros_like(param)
                        if amsgrad:
                            state["max_exp_avg_sq"] = zeros_like(param)
                    # BEGIN SOLUTION
                    g = -grad if maximize else grad
                    state["step"] += 1
                    t = state["step"]
                    if weight_decay != 0:
                        if decoupled:
                            param.mul_(1 - lr * weight_decay)
                        else:
                            g = g + weight_decay * param
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    exp_avg.add_(g - exp_avg, alpha=1 - beta1)
                    exp_avg_sq.mul_(beta2).add_((1 - beta2) * g * g)
                    step_size = lr / (1 - beta1**t)
                    bias_correction2_sqrt = (1 - beta2**t) ** 0.5
                    if amsgrad:
                        max_sq = state["max_exp_avg_sq"]
                        max_sq.copy_(maximum(max_sq, exp_avg_sq))
                        denom = max_sq.sqrt().div_(bias_correction2_sqrt).add_(eps)
                    else:  # in place on the fresh temporaries: same arithmetic, fewer arrays
                        denom = exp_avg_sq.sqrt().div_(bias_correction2_sqrt).add_(eps)
                    param.add_((exp_avg * -step_size).div_(denom))
                    # END SOLUTION
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``param *= 1 - lr·wd`` each step."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
