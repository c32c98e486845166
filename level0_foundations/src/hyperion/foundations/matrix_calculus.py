"""Experiment 1, matrix calculus: closed-form gradients and Jacobians, checked against finite differences.

The identities every backward pass in this course is built from, each written as a function:

| function | value | derivative |
|---|---|---|
| :func:`trace_ax` | ``tr(A X)`` | ``d/dX = Aᵀ`` |
| :func:`least_squares` | ``‖A x - b‖²`` | ``d/dx = 2 Aᵀ r``, ``d/dA = 2 r xᵀ`` |
| :func:`logdet` | ``log abs(det X)`` | ``d/dX = X⁻ᵀ`` |
| :func:`softmax_jacobian` | ``s = softmax(x)`` | ``J = diag(s) - s sᵀ`` |
| :func:`layer_norm_jacobian` | ``y = (x - μ) / σ`` | ``J = (I - 11ᵀ/n - y yᵀ/n) / σ`` |

(``r = A x - b``.) :func:`check_identities` measures each against central differences from
:mod:`hyperion.foundations.gradcheck`. The second half is about *products* with Jacobians, which is
what autodiff actually computes: a Jacobian-vector product (forward mode, :func:`chain_jvp`) is a
directional derivative, a vector-Jacobian product (reverse mode, :func:`chain_vjp`) is one row
combination; :func:`mode_costs` times building a full Jacobian both ways, to show why the gradient
of a scalar loss costs one reverse pass but ``n`` forward ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from hyperion.foundations.gradcheck import numerical_gradient

__all__ = [
    "trace_ax",
    "trace_ax_grad",
    "least_squares",
    "least_squares_grad",
    "logdet",
    "logdet_grad",
    "softmax_jacobian",
    "softmax_vjp",
    "layer_norm",
    "layer_norm_jacobian",
    "numerical_jacobian",
    "directional_derivative",
    "check_identities",
    "init_chain",
    "chain_forward",
    "chain_jvp",
    "chain_vjp",
    "jacobian_by_jvp",
    "jacobian_by_vjp",
    "mode_costs",
]


# ---- scalar functions of matrices and their gradients ------------------------------------------


def trace_ax(A: np.ndarray, X: np.ndarray) -> float:
    """``tr(A X) = Σ_ij A_ij X_ji``."""
    return float(np.trace(A @ X))


def trace_ax_grad(A: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``d tr(AX) / dX = Aᵀ`` (``X_ji`` is multiplied by ``A_ij``)."""
    return A.T.copy()


def least_squares(A: np.ndarray, x: np.ndarray, b: np.ndarray) -> float:
    """``‖A x - b‖²``."""
    r = A @ x - b
    return float(r @ r)


def least_squares_grad(A: np.ndarray, x: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(d/dx, d/dA) = (2 Aᵀ r, 2 r xᵀ)`` with the residual ``r = A x - b``."""
    r = A @ x - b
    return 2 * A.T @ r, 2 * np.outer(r, x)


def logdet(X: np.ndarray) -> float:
    """``log |det X|``, through the LU factorisation of ``slogdet`` (``det`` itself over/underflows)."""
    sign, value = np.linalg.slogdet(X)
    if sign == 0:
        raise ValueError("logdet: X is singular")
    return float(value)


def logdet_grad(X: np.ndarray) -> np.ndarray:
    """``d log|det X| / dX = X⁻ᵀ`` (Jacobi's formula: ``d det X = det X · tr(X⁻¹ dX)``)."""
    return np.linalg.inv(X).T


# ---- Jacobians of vector functions --------------------------------------------------------------


def softmax_jacobian(x: np.ndarray) -> np.ndarray:
    """Task 0.1: the Jacobian of ``s = softmax(x)`` over the last axis: ``J = diag(s) - s sᵀ``.

    ``x`` has shape ``(..., n)``; return shape ``(..., n, n)`` with ``J[..., i, j] = ∂s_i/∂x_j``, in
    ``x``'s dtype. Compute ``s`` stably (subtract the max) so logits of 1e3 still give a finite
    Jacobian. Why it matters: this matrix is symmetric, its rows sum to 0 (adding a constant to every
    logit changes nothing) and it is the whole backward pass of softmax; :func:`softmax_vjp` uses
    its structure.
    """
    x = np.asarray(x)
    # BEGIN SOLUTION
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    s = e / np.sum(e, axis=-1, keepdims=True)
    eye = np.eye(x.shape[-1], dtype=s.dtype)
    return s[..., :, None] * eye - s[..., :, None] * s[..., None, :]
    # END SOLUTION


def softmax_vjp(x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Task 0.1: the vector-Jacobian product ``uᵀ J`` of softmax, without building ``J``.

    With ``J = diag(s) - s sᵀ``: ``uᵀ J = s ⊙ (u - ⟨u, s⟩)``, ``O(n)`` work and memory instead of
    ``O(n²)``. This is exactly softmax's backward: ``u`` is the gradient arriving from above. Both
    arrays have shape ``(..., n)`` and one float dtype, kept; the product is over the last axis.
    """
    x, u = np.asarray(x), np.asarray(u)
    if x.shape != u.shape:
        raise ValueError(f"softmax_vjp: x has shape {x.shape} but u has shape {u.shape}")
    # BEGIN SOLUTION
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    s = e / np.sum(e, axis=-1, keepdims=True)
    return s * (u - np.sum(u * s, axis=-1, keepdims=True))
    # END SOLUTION


def layer_norm(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """``(x - μ) / σ`` over the last axis, ``σ = sqrt(var + eps)`` (no scale or shift)."""
    x = np.asarray(x)
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + eps)


def layer_norm_jacobian(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Jacobian of :func:`layer_norm` over the last axis: ``J = (I - 11ᵀ/n - y yᵀ/n) / σ``.

    Derivation: ``x̂ = x - μ`` has ``dx̂ = (I - 11ᵀ/n) dx``; ``σ² = |x̂|²/n + eps`` has
    ``dσ = x̂ᵀdx / (nσ)``; and ``y = x̂/σ`` gives ``dy = dx̂/σ - x̂ dσ/σ²``. ``J`` kills the two
    directions layer norm cannot see: ``1`` (a shift) and ``x̂`` (a rescale, when eps = 0).
    """
    x = np.asarray(x)
    n = x.shape[-1]
    y = layer_norm(x, eps)
    centred = x - x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt((centred**2).mean(axis=-1, keepdims=True) + eps)[..., None]
    eye = np.eye(n, dtype=y.dtype)
    return (eye - 1.0 / n - y[..., :, None] * y[..., None, :] / n) / sigma


def numerical_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of ``f: R^n -> R^m`` (1-D ``x``): ``J[i, j] ≈ ∂f_i/∂x_j``.

    Row ``i`` is the gradient of the scalar ``f(x)[i]``, from :func:`gradcheck.numerical_gradient`;
    ``x`` must be float64 (see the gradcheck page for why).
    """
    x = np.array(x, dtype=np.float64)
    m = np.asarray(f(x)).size
    return np.stack([numerical_gradient(lambda z, i=i: np.asarray(f(z)).reshape(-1)[i], [x], 0, eps)
                     for i in range(m)])


def directional_derivative(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, v: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """``(f(x + εv) - f(x - εv)) / 2ε ≈ J v``: one Jacobian-vector product for two evaluations of ``f``."""
    x, v = np.asarray(x, dtype=np.float64), np.asarray(v, dtype=np.float64)
    return (np.asarray(f(x + eps * v)) - np.asarray(f(x - eps * v))) / (2 * eps)


def check_identities(seed: int = 0, n: int = 5) -> dict[str, float]:
    """Max |analytic - finite difference| of every identity of this module, on random inputs.

    Keys: ``trace``, ``least_squares_x``, ``least_squares_A``, ``logdet``, ``softmax``,
    ``layer_norm``, ``softmax_vjp`` (against the explicit ``uᵀJ``) and ``jvp`` (the chain's forward
    mode against a directional finite difference).
    """
    rng = np.random.default_rng(seed)
    A, X = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    x, b, u = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
    logits = 3 * rng.standard_normal(n)
    M = rng.standard_normal((n, n)) + n * np.eye(n)  # well conditioned, log|det| smooth near it

    def err(a, b):
        return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))

    gx, gA = least_squares_grad(A, x, b)
    weights = init_chain([n, 7, 4], seed=seed)
    v = rng.standard_normal(n)
    return {
        "trace": err(trace_ax_grad(A, X), numerical_gradient(trace_ax, [A, X], 1)),
        "least_squares_x": err(gx, numerical_gradient(least_squares, [A, x, b], 1)),
        "least_squares_A": err(gA, numerical_gradient(least_squares, [A, x, b], 0)),
        "logdet": err(logdet_grad(M), numerical_gradient(logdet, [M], 0)),
        "softmax": err(softmax_jacobian(logits), numerical_jacobian(_stable_softmax, logits)),
        "layer_norm": err(layer_norm_jacobian(x), numerical_jacobian(layer_norm, x)),
        "softmax_vjp": err(softmax_vjp(logits, u), u @ softmax_jacobian(logits)),
        "jvp": err(chain_jvp(weights, x, v)[1],
                   directional_derivative(lambda z: chain_forward(weights, z)[0], x, v)),
    }


def _stable_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x))
    return e / e.sum()


# ---- forward mode vs reverse mode on a chain of layers -----------------------------------------


def init_chain(sizes: Sequence[int], seed: int = 0) -> list[np.ndarray]:
    """Weights of ``f(x) = W_L tanh(... tanh(W_1 x))`` for layer sizes ``[n_in, ..., n_out]``."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((m, n)) / np.sqrt(n) for n, m in zip(sizes[:-1], sizes[1:])]


def chain_forward(weights: Sequence[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """``f(x)`` and the pre-activations of every hidden layer (kept for the reverse pass)."""
    pre = []
    h = x
    for i, W in enumerate(weights):
        z = W @ h
        if i == len(weights) - 1:
            return z, pre
        pre.append(z)
        h = np.tanh(z)
    raise ValueError("chain_forward: no weights")


def chain_jvp(weights: Sequence[np.ndarray], x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward mode: ``(f(x), J v)`` in one pass, carrying the tangent ``ḣ`` beside ``h``.

    Each layer maps ``(h, ḣ) -> (tanh(W h), tanh'(W h) ⊙ W ḣ)``: the chain rule applied from the
    input side. One pass gives one *column combination* ``J v`` (a directional derivative).
    """
    h, dh = x, v
    for i, W in enumerate(weights):
        z, dz = W @ h, W @ dh
        if i == len(weights) - 1:
            return z, dz
        h = np.tanh(z)
        dh = (1 - h**2) * dz
    raise ValueError("chain_jvp: no weights")


def chain_vjp(
    weights: Sequence[np.ndarray], x: np.ndarray, u: np.ndarray, pre: list[np.ndarray] | None = None
) -> np.ndarray:
    """Reverse mode: ``uᵀ J`` by one backward pass over stored pre-activations ``pre``.

    Each layer maps the cotangent ``ḡ -> Wᵀ (tanh'(z) ⊙ ḡ)``: the chain rule applied from the output
    side. One pass gives one *row combination*; for a scalar output (``u = 1``) that is the whole
    gradient. ``pre`` (from :func:`chain_forward`) is recomputed when not given.
    """
    if pre is None:
        pre = chain_forward(weights, x)[1]
    g = weights[-1].T @ u
    for W, z in zip(reversed(weights[:-1]), reversed(pre)):
        g = W.T @ ((1 - np.tanh(z) ** 2) * g)
    return g


def jacobian_by_jvp(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The full ``m × n`` Jacobian from ``n`` forward-mode passes, one per input direction ``e_j``."""
    eye = np.eye(x.size)
    return np.stack([chain_jvp(weights, x, eye[j])[1] for j in range(x.size)], axis=1)


def jacobian_by_vjp(weights: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """The full ``m × n`` Jacobian from one forward pass and ``m`` reverse passes, one per output ``e_i``."""
    out, pre = chain_forward(weights, x)
    eye = np.eye(out.size)
    return np.stack([chain_vjp(weights, x, eye[i], pre) for i in range(out.size)])


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def mode_costs(
    n_in: int = 128, n_outs: Sequence[int] = (1, 4, 16, 64, 128), width: int = 128, depth: int = 3,
    repeats: int = 3, seed: int = 0,
) -> dict:
    """Time the full Jacobian of a chain ``R^n_in -> R^m`` by forward mode and by reverse mode.

    Forward mode needs ``n_in`` passes whatever ``m`` is; reverse mode one forward plus ``m``
    backward passes. Returns the pass counts, the best-of-``repeats`` seconds of each (CPU wall
    time: compare the two columns of one run, not across machines) and the max difference
    between the two Jacobians.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n_in)
    rows = []
    for m in n_outs:
        weights = init_chain([n_in] + [width] * (depth - 1) + [m], seed=seed)
        jf, jr = jacobian_by_jvp(weights, x), jacobian_by_vjp(weights, x)
        rows.append({
            "n_out": int(m),
            "forward_passes": n_in,
            "reverse_passes": int(m),
            "forward_s": _best_time(lambda w=weights: jacobian_by_jvp(w, x), repeats),
            "reverse_s": _best_time(lambda w=weights: jacobian_by_vjp(w, x), repeats),
            "max_difference": float(np.max(np.abs(jf - jr))),
        })
    return {"n_in": n_in, "width": width, "depth": depth, "rows": rows}
