"""Testing helpers: finite-difference gradient checks for tensor functions.

``gradcheck(fn, *inputs)`` runs ``fn`` on float64 tensors, backpropagates a fixed random
projection of the output (so every output element matters), and compares each input's ``.grad``
with central differences from :mod:`hyperion.foundations.gradcheck`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hyperion.foundations import gradcheck as numpy_gradcheck
from hyperion.tensor.autograd import no_grad
from hyperion.tensor.tensor import Tensor


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Tensor | np.ndarray,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    seed: int = 0,
) -> bool:
    """Check the autograd gradients of ``fn`` at ``inputs`` (float64) against finite differences.

    Inputs given as numpy arrays or tensors of floating dtype are differentiated; integer inputs
    (indices, targets) are passed through unchanged.
    """
    arrays = [np.array(x.detach().numpy() if isinstance(x, Tensor) else x) for x in inputs]
    floating = [a.dtype.kind == "f" for a in arrays]
    arrays = [a.astype(np.float64) if f else a for a, f in zip(arrays, floating)]
    tensors = [Tensor(a, dtype=a.dtype, requires_grad=f) for a, f in zip(arrays, floating)]
    out = fn(*tensors)
    projection = np.random.default_rng(seed).standard_normal(out.shape)
    (out * Tensor(projection, dtype=np.float64)).sum().backward()
    analytic = [
        t.grad.numpy() if f and t.grad is not None else (np.zeros(a.shape) if f else None)
        for t, a, f in zip(tensors, arrays, floating)
    ]

    def scalar(*values: np.ndarray) -> float:
        with no_grad():
            result = fn(*(Tensor(v, dtype=v.dtype) for v in values))
            return float((result.numpy() * projection).sum())

    return numpy_gradcheck(scalar, arrays, analytic, eps=eps, atol=atol, rtol=rtol)
