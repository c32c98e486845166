"""Experiment 3, gradient instability: how the gradient's size changes on its way back through depth.

A plain MLP of ``L`` square layers, written out in numpy, forward (:func:`mlp_forward`) and
backward (:func:`mlp_backward`, task 0.4). Block ``l`` maps its input ``h`` to

    u = LN(h) if norm else h;     z = u Wᵀ;     a = φ(z);     h' = h + α a if residual else a

with ``φ`` = ReLU or tanh, weights drawn ``N(0, gain² / width)``, and ``α`` the residual branch
scale. Backward multiplies the gradient by ``W_lᵀ`` and ``φ'`` once per layer, so its norm changes
by a roughly constant factor per layer: for ReLU ``gain / √2`` (half the units pass, ``E|Wᵀv|² =
gain² |v|²``). Over ``L`` layers that is ``(gain/√2)^L``: vanishing below ``√2``, exploding above,
preserved at He's ``gain = √2``. :func:`init_sweep`, :func:`depth_sweep` and :func:`fixes` measure
it; the notebook ``site/docs/notebooks/l0_gradient_flow.py`` draws it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "init_mlp",
    "mlp_forward",
    "mlp_backward",
    "gradient_norms",
    "init_sweep",
    "depth_sweep",
    "fixes",
    "HE_GAIN",
    "XAVIER_GAIN",
]

HE_GAIN = math.sqrt(2.0)  # He et al. 2015: keeps E|h|² (and E|∂L/∂h|²) constant through ReLU layers
XAVIER_GAIN = 1.0  # Glorot & Bengio 2010 for square layers: std 1/√width, right for tanh near 0
LN_EPS = 1e-5


def init_mlp(depth: int, width: int, gain: float, seed: int = 0) -> list[np.ndarray]:
    """``depth`` weight matrices ``(width, width)`` with entries ``N(0, gain² / width)``."""
    if depth < 1 or width < 1:
        raise ValueError(f"init_mlp: depth and width must be >= 1, got depth={depth}, width={width}")
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((width, width)) * (gain / math.sqrt(width)) for _ in range(depth)]


def _activate(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "tanh":
        return np.tanh(z)
    raise ValueError(f"activation must be 'relu' or 'tanh', not {activation!r}")


def mlp_forward(
    weights: Sequence[np.ndarray], x: np.ndarray, activation: str = "relu", residual: bool = False,
    norm: bool = False, branch_scale: float = 1.0,
) -> tuple[np.ndarray, dict]:
    """Run the MLP on a batch ``x`` of shape ``(batch, width)``; return the output and a cache.

    The cache holds the settings and, per layer, a dict with the block input ``h``, the linear
    layer's input ``u`` (``LN(h)`` or ``h``), ``sigma`` (layer norm's ``sqrt(var + eps)`` per row,
    shape ``(batch, 1)``; only when ``norm``), the pre-activation ``z`` and the activation ``a``.
    """
    if x.ndim != 2 or x.shape[1] != weights[0].shape[1]:
        raise ValueError(f"mlp_forward: x must be (batch, {weights[0].shape[1]}), got {x.shape}")
    layers = []
    h = x
    for W in weights:
        record = {"h": h}
        if norm:
            centred = h - h.mean(axis=1, keepdims=True)
            sigma = np.sqrt((centred**2).mean(axis=1, keepdims=True) + LN_EPS)
            u = centred / sigma
            record["sigma"] = sigma
        else:
            u = h
        z = u @ W.T
        a = _activate(z, activation)
        record.update(u=u, z=z, a=a)
        layers.append(record)
        h = h + branch_scale * a if residual else a
    settings = {"activation": activation, "residual": residual, "norm": norm, "branch_scale": branch_scale}
    return h, {"layers": layers, **settings}


def mlp_backward(weights: Sequence[np.ndarray], cache: dict, grad_out: np.ndarray) -> dict:
    """Task 0.4: the backward pass of :func:`mlp_forward`, layer by layer from the top.

    ``grad_out`` is ``∂L/∂h_L`` (shape ``(batch, width)``). For each layer, last first, with ``g``
    the gradient at the block's output:

    - residual: ``∂L/∂a = α g`` and the skip passes ``g`` straight to the block input; plain: ``∂L/∂a = g``;
    - ``∂L/∂z = ∂L/∂a ⊙ φ'(z)`` (ReLU: ``z > 0``; tanh: ``1 - a²``);
    - ``∂L/∂W = (∂L/∂z)ᵀ u`` and ``∂L/∂u = (∂L/∂z) W``;
    - with layer norm, ``y = u``: ``∂L/∂h = (∂L/∂u - mean(∂L/∂u) - y · mean(∂L/∂u ⊙ y)) / σ`` (means
      over the row; this is ``J_LNᵀ`` applied to the gradient); without, ``∂L/∂h = ∂L/∂u``.

    Return ``{"weights": [∂L/∂W_1, ..., ∂L/∂W_L], "activations": [∂L/∂h_0, ..., ∂L/∂h_L]}``
    (``h_0 = x``, ``h_L`` the output, so ``activations[-1]`` is ``grad_out``). Why: the norms of these
    arrays, layer by layer, are what vanish or explode.
    """
    # BEGIN SOLUTION
    act, residual, alpha = cache["activation"], cache["residual"], cache["branch_scale"]
    g = grad_out
    grads_w: list[np.ndarray] = []
    grads_h = [g]
    for W, layer in zip(reversed(weights), reversed(cache["layers"])):
        g_a = alpha * g if residual else g
        slope = (layer["z"] > 0).astype(g.dtype) if act == "relu" else 1 - layer["a"] ** 2
        g_z = g_a * slope
        grads_w.append(g_z.T @ layer["u"])
        g_u = g_z @ W
        if cache["norm"]:
            y = layer["u"]
            g_u = (g_u - g_u.mean(axis=1, keepdims=True) - y * (g_u * y).mean(axis=1, keepdims=True))
            g_u = g_u / layer["sigma"]
        g = g + g_u if residual else g_u
        grads_h.append(g)
    return {"weights": grads_w[::-1], "activations": grads_h[::-1]}
    # END SOLUTION


def gradient_norms(
    depth: int, width: int = 256, batch: int = 64, gain: float = HE_GAIN, activation: str = "relu",
    residual: bool = False, norm: bool = False, branch_scale: float = 1.0, seed: int = 0,
) -> dict:
    """Per-layer gradient norms of one freshly initialised network on Gaussian inputs.

    The loss is ``L = Σ h_L ⊙ G / batch`` for a fixed Gaussian ``G``, so the gradient arriving at the
    top is the same whatever the network does. Returns arrays over layers: ``activations``
    (``‖∂L/∂h_l‖`` for ``l = 0..L``), ``weights`` (``‖∂L/∂W_l‖``, ``l = 1..L``), ``relative``
    (``‖∂L/∂W_l‖ / ‖W_l‖``) and ``forward`` (``rms(h_l)``), all Frobenius norms.
    """
    rng = np.random.default_rng(seed)
    weights = init_mlp(depth, width, gain, seed=seed + 1)
    x = rng.standard_normal((batch, width))
    G = rng.standard_normal((batch, width)) / batch
    with np.errstate(over="ignore", invalid="ignore"):
        out, cache = mlp_forward(weights, x, activation, residual, norm, branch_scale)
        grads = mlp_backward(weights, cache, G)
    hs = [layer["h"] for layer in cache["layers"]] + [out]
    return {
        "activations": np.array([np.linalg.norm(g) for g in grads["activations"]]),
        "weights": np.array([np.linalg.norm(g) for g in grads["weights"]]),
        "relative": np.array([np.linalg.norm(g) / np.linalg.norm(W) for g, W in zip(grads["weights"], weights)]),
        "forward": np.array([float(np.sqrt(np.mean(h**2))) for h in hs]),
    }


def init_sweep(
    depth: int = 50, width: int = 256, batch: int = 64, gains: Sequence[float] = (0.5, 1.0, HE_GAIN, 2.0),
    activation: str = "relu", seed: int = 0,
) -> dict:
    """Per-layer ``‖∂L/∂h_l‖ / ‖∂L/∂h_L‖`` of a plain network for each init ``gain``, and for ReLU
    the mean-field prediction ``(gain/√2)^(L-l)``."""
    out = {"depth": depth, "layer": np.arange(depth + 1), "gains": list(gains), "measured": [], "theory": []}
    for gain in gains:
        norms = gradient_norms(depth, width, batch, gain, activation, seed=seed)["activations"]
        out["measured"].append(norms / norms[-1])
        steps = depth - np.arange(depth + 1)
        out["theory"].append((gain / math.sqrt(2)) ** steps if activation == "relu" else np.full(depth + 1, np.nan))
    return out


def depth_sweep(
    depths: Sequence[int] = (2, 5, 10, 20, 40, 80), gains: Sequence[float] = (1.0, HE_GAIN, 2.0),
    width: int = 256, batch: int = 64, seed: int = 0,
) -> dict:
    """``‖∂L/∂x‖ / ‖∂L/∂h_L‖`` (input gradient over output gradient) of plain ReLU nets, against
    depth, for each gain, with the prediction ``(gain/√2)^L``."""
    out = {"depths": np.asarray(depths), "gains": list(gains), "measured": [], "theory": []}
    for gain in gains:
        ratios = []
        for L in depths:
            a = gradient_norms(L, width, batch, gain, seed=seed)["activations"]
            ratios.append(a[0] / a[-1])
        out["measured"].append(np.array(ratios))
        out["theory"].append((gain / math.sqrt(2)) ** np.asarray(depths, dtype=float))
    return out


FIXES = {  # name -> settings of gradient_norms (depth is filled in; "alpha=1/sqrtL" scales the branch)
    "plain ReLU, gain 1 (std 1/sqrt(n))": {"gain": 1.0},
    "plain ReLU, gain 2": {"gain": 2.0},
    "plain ReLU, He (gain sqrt 2)": {"gain": HE_GAIN},
    "plain tanh, gain 0.5": {"gain": 0.5, "activation": "tanh"},
    "plain tanh, Xavier (gain 1)": {"gain": XAVIER_GAIN, "activation": "tanh"},
    "plain ReLU + layer norm, gain 1": {"gain": 1.0, "norm": True},
    "residual ReLU, gain 1, branch 1": {"gain": 1.0, "residual": True},
    "residual ReLU, gain 1, branch 1/sqrt(L)": {"gain": 1.0, "residual": True, "branch_scale": "1/sqrtL"},
    "residual ReLU + pre-layer-norm, gain 1": {"gain": 1.0, "residual": True, "norm": True},
}


def fixes(depth: int = 50, width: int = 256, batch: int = 64, seed: int = 0) -> dict:
    """Per-layer gradient norms (normalised by the top layer's) of each configuration in :data:`FIXES`.

    Returns ``{name: {"activations": ‖∂L/∂h_l‖/‖∂L/∂h_L‖, "relative": ‖∂L/∂W_l‖/‖W_l‖,
    "spread": max/min of the activation gradient norms over layers, "forward": rms(h_l)}}``.
    """
    out = {}
    for name, settings in FIXES.items():
        kwargs = dict(settings)
        if kwargs.get("branch_scale") == "1/sqrtL":
            kwargs["branch_scale"] = 1 / math.sqrt(depth)
        norms = gradient_norms(depth, width, batch, seed=seed, **kwargs)
        a = norms["activations"]
        out[name] = {
            "activations": a / a[-1],
            "relative": norms["relative"],
            "spread": float(a.max() / a.min()),
            "forward": norms["forward"],
        }
    return out
