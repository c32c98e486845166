"""Finite-difference gradient checking.

The one oracle that needs no other framework: perturb each input element by ``±eps``, watch a
scalar function move, and compare that slope with the gradient your autograd computed.

Central differences have error ``O(eps²)``; in float64 with ``eps = 1e-6`` that leaves roughly
``1e-9`` of truncation error and ``1e-10`` of rounding error, so ``atol = rtol = 1e-5`` catches any
real mistake while never flagging a correct gradient. Always check in float64: float32's rounding
error at ``eps = 1e-3`` is as large as the mistakes you are looking for.

This module knows nothing about Hyperion's Tensor: it works on numpy arrays and callables, so a
learner can use it from the first lesson, and level 1 wraps it for tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["GradcheckError", "numerical_gradient", "gradcheck"]


class GradcheckError(AssertionError):
    """An analytic gradient disagreed with its finite-difference estimate."""


def numerical_gradient(
    f: Callable[..., float], inputs: Sequence[np.ndarray], index: int, eps: float = 1e-6
) -> np.ndarray:
    """Central-difference gradient of scalar ``f(*inputs)`` with respect to ``inputs[index]``.

    ``inputs[index]`` is perturbed in place, one element at a time, and restored afterwards.
    """
    x = inputs[index]
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"numerical_gradient: input {index} has dtype {x.dtype}; it must be floating")
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writes reach x
    if flat.size and not np.shares_memory(flat, x):
        raise ValueError(f"numerical_gradient: input {index} must be contiguous to be perturbed in place")
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = float(f(*inputs))
        flat[i] = original - eps
        minus = float(f(*inputs))
        flat[i] = original
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(
    f: Callable[..., float],
    inputs: Sequence[np.ndarray],
    analytic: Sequence[np.ndarray | None],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-5,
) -> bool:
    """Check ``analytic[i]`` against finite differences of scalar ``f(*inputs)`` for each input.

    ``analytic[i]`` is the claimed gradient of ``f`` with respect to ``inputs[i]`` (``None`` skips
    that input). Raises :class:`GradcheckError` naming the input, the worst element and both
    values; returns ``True`` when every gradient agrees to ``atol + rtol * |numerical|``.
    """
    if len(analytic) != len(inputs):
        raise ValueError(f"gradcheck: {len(inputs)} inputs but {len(analytic)} analytic gradients")
    for i, (x, claimed) in enumerate(zip(inputs, analytic)):
        if claimed is None:
            continue
        claimed = np.asarray(claimed, dtype=np.float64)
        if claimed.shape != x.shape:
            raise GradcheckError(
                f"gradcheck: gradient of input {i} has shape {claimed.shape}, input has shape {x.shape}"
            )
        numeric = numerical_gradient(f, inputs, i, eps)
        error = np.abs(claimed - numeric)
        bound = atol + rtol * np.abs(numeric)
        if np.any(error > bound) or not np.all(np.isfinite(claimed)):
            worst = np.unravel_index(int(np.argmax(error - bound)), x.shape) if x.ndim else ()
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}) disagrees at index {tuple(int(j) for j in worst)}: "
                f"analytic {claimed[worst]!r} vs numerical {numeric[worst]!r} "
                f"(max abs error {float(error.max()):.3e}, atol={atol}, rtol={rtol})"
            )
    return True
