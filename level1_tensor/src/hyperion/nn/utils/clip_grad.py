"""Gradient clipping: rescale all gradients together when their joint norm is too large.

One exploding batch can throw a model far from where it was; clipping caps the size of the step's
direction while keeping that direction (every gradient is scaled by the same factor).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from hyperion.tensor import Tensor, no_grad, stack, tensor


def _norm(x: Tensor, norm_type: float) -> Tensor:
    if norm_type == math.inf:
        return x.abs().amax()
    if norm_type == 2.0:
        return (x * x).sum().sqrt()
    return (x.abs() ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the ``.grad`` of ``parameters`` in place so that their joint ``norm_type`` norm (the norm
    of all gradients concatenated) is at most ``max_norm``; return that norm *before* clipping.

    As PyTorch: ``coef = max_norm / (total + 1e-6)``, clamped to at most 1, multiplies every grad.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return tensor(0.0)
    with no_grad():
        total = _norm(stack([_norm(g.detach(), norm_type) for g in grads]), norm_type)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total.item()}, "
                               "so they cannot be clipped; set error_if_nonfinite=False to scale anyway")
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef)
    return total
