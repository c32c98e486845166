"""Task 2.9: the online-softmax tile update of the FlashAttention forward pass (numpy).

Two probes. ``update``: ``online_softmax_update`` called directly on running states that include a
row that has seen no key yet (``m = -inf``), a tile row that is entirely masked, and a tile whose
maximum exceeds the running one (so ``alpha < 1``); expected values are computed here in float64.
``forward``: the unmarked driver ``flash_forward_numpy`` (which calls the update once per key tile)
against attention computed here, in the judge, with the N×N scores, on sizes that are not multiples
of the block, causal (top-left: query i sees keys j <= i) and padding masks, and fully masked rows
(output 0, log-sum-exp -inf).
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "2.9"
TITLE = "FlashAttention: the online-softmax tile update"
POINTS = 10
TIMEOUT = 60

CASES = [  # B, H, N_q, N_k, d, causal, padded, block_q, block_k, dtype
    (2, 2, 37, 29, 5, False, False, 16, 8, "f8"),
    (1, 3, 40, 40, 8, True, False, 16, 16, "f8"),
    (2, 2, 21, 50, 4, False, True, 8, 16, "f8"),
    (2, 1, 33, 33, 6, True, True, 16, 8, "f8"),
    (1, 2, 70, 45, 20, True, True, 64, 64, "f4"),
]


def _attention(q, k, v, causal, pad):
    n_q, n_k = q.shape[2], k.shape[2]
    allowed = np.ones((q.shape[0], 1, n_q, n_k), dtype=bool)
    if causal:
        allowed &= np.tril(np.ones((n_q, n_k), dtype=bool))
    if pad is not None:
        allowed &= ~pad[:, None, None, :]
    s = np.where(allowed, q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1]), -np.inf)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)
    z = e.sum(-1, keepdims=True)
    p = e / np.where(z > 0, z, 1.0)
    with np.errstate(divide="ignore"):
        lse = np.where(z[..., 0] > 0, (m + np.log(np.where(z > 0, z, 1.0)))[..., 0], -np.inf)
    return p @ v, lse


def _inputs(rng, case):
    b, h, n_q, n_k, d, causal, padded, _, _, dtype = case
    q = rng.standard_normal((b, h, n_q, d)).astype(dtype)
    k, v = (rng.standard_normal((b, h, n_k, d)).astype(dtype) for _ in range(2))
    pad = None
    if padded:
        pad = rng.random((b, n_k)) < 0.4
        pad[-1] = True  # a batch element whose queries see nothing
    return q, k, v, pad


@probe
def update():
    from hyperion.transformer.flash.tiled_numpy import online_softmax_update

    rng = np.random.default_rng(90)
    rows, cols, d = 5, 7, 3
    m = rng.standard_normal((2, rows))
    m[0, 0] = -np.inf  # a row that has seen no key yet
    l = np.where(np.isneginf(m), 0.0, rng.random((2, rows)) + 0.5)
    acc = np.where(np.isneginf(m)[..., None], 0.0, rng.standard_normal((2, rows, d)))
    s = 3 * rng.standard_normal((2, rows, cols))
    s[0, 0, :3] = -np.inf
    s[1, 2, :] = -np.inf  # a tile row that is entirely masked
    s[1, 3] += 10  # a maximum far above the running one
    v = rng.standard_normal((2, cols, d))
    new_m, new_l, new_acc = online_softmax_update(m.copy(), l.copy(), acc.copy(), s.copy(), v.copy())
    m0 = np.full((1, 3), -np.inf)  # the very first tile, one row entirely masked
    s0 = rng.standard_normal((1, 3, cols))
    s0[0, 1] = -np.inf
    first = online_softmax_update(m0, np.zeros((1, 3)), np.zeros((1, 3, d)), s0, v[:1])
    return {"m": m, "l": l, "acc": acc, "s": s, "v": v, "out": [np.asarray(x) for x in (new_m, new_l, new_acc)],
            "s0": s0, "first": [np.asarray(x) for x in first]}


def _update(m, l, acc, s, v):
    m_new = np.maximum(m, s.max(-1))
    safe = np.where(np.isneginf(m_new), 0.0, m_new)
    alpha = np.exp(m - safe)
    p = np.exp(s - safe[..., None])
    return m_new, alpha * l + p.sum(-1), alpha[..., None] * acc + p @ v


def check_update(sub, ref):
    for key in ("m", "l", "acc", "s", "v", "s0"):
        assert_close(sub[key], ref[key], rtol=0, atol=0, name="the probe's input")
    want = _update(ref["m"], ref["l"], ref["acc"], ref["s"], ref["v"])
    for name, got, w in zip(("m'", "l'", "acc'"), sub["out"], want):
        assert_true(got.shape == w.shape, f"online_softmax_update: {name} has shape {got.shape}, expected {w.shape}")
        assert_close(got, w, rtol=1e-10, atol=1e-12, name=f"online_softmax_update {name}")
    d = ref["v"].shape[-1]
    want = _update(np.full((1, 3), -np.inf), np.zeros((1, 3)), np.zeros((1, 3, d)), ref["s0"], ref["v"][:1])
    for name, got, w in zip(("m'", "l'", "acc'"), sub["first"], want):
        assert_true(not np.isnan(got).any(), f"online_softmax_update on the first tile: {name} has NaN "
                    "(a row with m = -inf must use 0 in the exponents)")
        assert_close(got, w, rtol=1e-10, atol=1e-12, name=f"online_softmax_update (first tile) {name}")


@probe
def forward():
    from hyperion.transformer.flash.tiled_numpy import flash_forward_numpy

    rng = np.random.default_rng(91)
    out = []
    for case in CASES:
        q, k, v, pad = _inputs(rng, case)
        _, _, _, _, _, causal, _, bq, bk, _ = case
        o, lse = flash_forward_numpy(q, k, v, causal=causal, key_padding_mask=pad, block_q=bq, block_k=bk)
        out.append({"q": q, "k": k, "v": v, "pad": pad, "out": np.asarray(o), "lse": np.asarray(lse)})
    return out


def check_forward(sub, ref):
    for case, got, mine in zip(CASES, sub, ref, strict=True):
        for key in ("q", "k", "v"):
            assert_close(got[key], mine[key], rtol=0, atol=0, name="the probe's input")
        q, k, v, pad = mine["q"], mine["k"], mine["v"], mine["pad"]
        b, h, n_q, n_k, d, causal, padded, bq, bk, dtype = case
        what = f"flash_forward_numpy q{q.shape} k{k.shape} causal={causal} padding={padded} blocks {bq}x{bk}"
        want, lse = _attention(*(x.astype(np.float64) for x in (q, k, v)), causal, pad)
        tol = 1e-5 if dtype == "f4" else 1e-10
        assert_true(got["out"].shape == want.shape, f"{what}: output shape {got['out'].shape}, expected {want.shape}")
        assert_true(not np.isnan(got["out"]).any(), f"{what}: NaN in the output (fully masked rows must give 0)")
        assert_close(got["out"].astype(np.float64), want, rtol=tol, atol=tol, name=f"{what}: output")
        assert_true(np.array_equal(np.isneginf(got["lse"]), np.isneginf(lse)),
                    f"{what}: log-sum-exp must be -inf exactly for the rows that see no key")
        finite = np.isfinite(lse)
        assert_close(got["lse"][finite].astype(np.float64), lse[finite], rtol=tol, atol=tol, name=f"{what}: lse")
