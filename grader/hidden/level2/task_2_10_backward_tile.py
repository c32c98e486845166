"""Task 2.10: one tile of the FlashAttention backward pass (numpy): P from the saved log-sum-exp,
dS = P ∘ (dP − delta), and the tile's contributions to dQ, dK, dV.

Two probes. ``tile``: ``backward_tile`` called directly (masked entries, a row with lse = -inf);
``backward``: the unmarked driver ``flash_backward_numpy`` (which calls the tile once per tile pair),
given the output and log-sum-exp of the unmarked naive forward, against gradients computed here in
the judge from the N×N matrices (dV = Pᵀ dO, dS = P ∘ (dP − rowsum(dP ∘ P)), dQ = s dS K, dK = s dSᵀ Q).
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "2.10"
TITLE = "FlashAttention: the backward tile"
POINTS = 10
TIMEOUT = 60

CASES = [  # B, H, N_q, N_k, d, causal, padded, block_q, block_k, dtype
    (2, 2, 37, 29, 5, False, False, 16, 8, "f8"),
    (1, 3, 40, 40, 8, True, False, 16, 16, "f8"),
    (2, 2, 21, 50, 4, False, True, 8, 16, "f8"),
    (2, 1, 33, 33, 6, True, True, 16, 8, "f8"),
    (1, 2, 70, 45, 20, True, True, 64, 64, "f4"),
]


def _grads(q, k, v, do, causal, pad):
    n_q, n_k = q.shape[2], k.shape[2]
    allowed = np.ones((q.shape[0], 1, n_q, n_k), dtype=bool)
    if causal:
        allowed &= np.tril(np.ones((n_q, n_k), dtype=bool))
    if pad is not None:
        allowed &= ~pad[:, None, None, :]
    scale = 1 / np.sqrt(q.shape[-1])
    s = np.where(allowed, q @ k.swapaxes(-1, -2) * scale, -np.inf)
    m = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0.0))
    z = e.sum(-1, keepdims=True)
    p = e / np.where(z > 0, z, 1.0)
    dp = do @ v.swapaxes(-1, -2)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True))
    return ds @ k * scale, ds.swapaxes(-1, -2) @ q * scale, p.swapaxes(-1, -2) @ do


def _inputs(rng, case):
    b, h, n_q, n_k, d, causal, padded, _, _, dtype = case
    q, do = (rng.standard_normal((b, h, n_q, d)).astype(dtype) for _ in range(2))
    k, v = (rng.standard_normal((b, h, n_k, d)).astype(dtype) for _ in range(2))
    pad = None
    if padded:
        pad = rng.random((b, n_k)) < 0.4
        pad[-1] = True
    return q, k, v, do, pad


@probe
def tile():
    from hyperion.transformer.flash.tiled_numpy import backward_tile

    rng = np.random.default_rng(100)
    br, bc, d, scale = 6, 5, 4, 0.5
    q, do = rng.standard_normal((2, br, d)), rng.standard_normal((2, br, d))
    k, v = rng.standard_normal((2, bc, d)), rng.standard_normal((2, bc, d))
    s = q @ k.swapaxes(-1, -2) * scale
    s[0, 1, :2] = -np.inf
    s[1, 4, :] = -np.inf
    lse = np.log(np.exp(s).sum(-1)) + rng.random((2, br))  # as if other tiles had contributed
    lse[1, 4] = -np.inf  # a row that sees no key anywhere
    delta = rng.standard_normal((2, br))
    got = backward_tile(q, k, v, do, lse, delta, s, scale)
    return {"q": q, "k": k, "v": v, "do": do, "lse": lse, "delta": delta, "s": s, "scale": scale,
            "n": len(got), "grads": [np.asarray(g) for g in got]}


def check_tile(sub, ref):
    for key in ("q", "k", "v", "do", "lse", "delta", "s"):
        assert_close(sub[key], ref[key], rtol=0, atol=0, name="the probe's input")
    q, k, v, do, lse, delta, s, scale = (ref[key] for key in ("q", "k", "v", "do", "lse", "delta", "s", "scale"))
    p = np.where(np.isneginf(lse)[..., None], 0.0, np.exp(s - np.where(np.isneginf(lse), 0.0, lse)[..., None]))
    ds = p * (do @ v.swapaxes(-1, -2) - delta[..., None]) * scale
    want = (ds @ k, ds.swapaxes(-1, -2) @ q, p.swapaxes(-1, -2) @ do)
    assert_true(sub["n"] == 3, f"backward_tile must return (dQ_i, dK_j, dV_j), got {sub['n']} values")
    for name, got, w in zip(("dQ_i", "dK_j", "dV_j"), sub["grads"], want):
        assert_true(got.shape == w.shape, f"backward_tile: {name} has shape {got.shape}, expected {w.shape}")
        assert_true(not np.isnan(got).any(), f"backward_tile: NaN in {name} (a row with lse = -inf has P = 0)")
        assert_close(got, w, rtol=1e-10, atol=1e-12, name=f"backward_tile {name}")


@probe
def backward():
    from hyperion.transformer.flash.naive import naive_attention_forward
    from hyperion.transformer.flash.tiled_numpy import flash_backward_numpy

    rng = np.random.default_rng(101)
    out = []
    for case in CASES:
        q, k, v, do, pad = _inputs(rng, case)
        _, _, _, _, _, causal, _, bq, bk, _ = case
        o, lse = naive_attention_forward(q, k, v, causal=causal, key_padding_mask=pad)
        grads = flash_backward_numpy(q, k, v, o, lse, do, causal=causal, key_padding_mask=pad, block_q=bq,
                                     block_k=bk)
        out.append({"q": q, "k": k, "v": v, "do": do, "pad": pad, "grads": [np.asarray(g) for g in grads]})
    return out


def check_backward(sub, ref):
    for case, got, mine in zip(CASES, sub, ref, strict=True):
        for key in ("q", "k", "v", "do"):
            assert_close(got[key], mine[key], rtol=0, atol=0, name="the probe's input")
        b, h, n_q, n_k, d, causal, padded, bq, bk, dtype = case
        what = f"flash_backward_numpy q{mine['q'].shape} k{mine['k'].shape} causal={causal} padding={padded}"
        want = _grads(*(mine[key].astype(np.float64) for key in ("q", "k", "v", "do")), causal, mine["pad"])
        tol = 1e-5 if dtype == "f4" else 1e-10
        for name, g, w in zip(("dQ", "dK", "dV"), got["grads"], want):
            assert_true(g.shape == w.shape, f"{what}: {name} shape {g.shape}, expected {w.shape}")
            assert_true(not np.isnan(g).any(), f"{what}: NaN in {name}")
            atol = tol * max(1.0, np.abs(w).max())
            assert_close(g.astype(np.float64), w, rtol=tol, atol=atol, name=f"{what}: {name}")
