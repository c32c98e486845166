"""Task 2.1: attention masks (causal aligned to the end of the keys, key padding, both) and naive
scaled dot-product attention forward and backward.

Expected values are computed here, in the judge, with numpy in float64 from the probe's inputs:
the masked softmax forward and its hand-derived backward (dP = dO Vᵀ, dS = P ⊙ (dP − Σ dP ⊙ P)).
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "2.1"
TITLE = "Attention masks and naive attention"
POINTS = 10
TIMEOUT = 60

MASKS = [(4, 4, True, False), (2, 5, True, False), (1, 6, True, True), (3, 3, False, True), (3, 6, True, True),
         (3, 3, False, False)]
CASES = [  # B, H, N_q, N_k, d, causal, padded
    (2, 2, 5, 5, 4, False, False),
    (2, 3, 5, 5, 4, True, False),
    (3, 2, 6, 6, 3, False, True),
    (2, 2, 6, 6, 8, True, True),
    (2, 1, 1, 7, 4, True, False),
    (2, 2, 3, 7, 4, True, True),
    (2, 1, 4, 4, 2, True, True),  # left padding: a query that sees nothing
]


def _padding(rng, batch, n_k, left=False):
    lengths = rng.integers(1, n_k + 1, batch)
    lengths[0] = max(1, n_k - 2)
    pad = np.arange(n_k)[None, :] >= lengths[:, None]
    return pad[:, ::-1].copy() if left else pad


@probe
def masks():
    from hyperion.transformer.attention import attention_mask

    rng = np.random.default_rng(10)
    out = []
    for n_q, n_k, causal, padded in MASKS:
        pad = _padding(rng, 2, n_k) if padded else None
        m = attention_mask(n_q, n_k, causal=causal, key_padding_mask=pad)
        out.append({"pad": pad, "mask": None if m is None else np.asarray(m, dtype=bool)})
    return out


def _expected_mask(n_q, n_k, causal, pad):
    blocked = np.zeros((1 if pad is None else pad.shape[0], 1, n_q, n_k), dtype=bool)
    if causal:
        for i in range(n_q):
            blocked[..., i, i + n_k - n_q + 1:] = True
    if pad is not None:
        blocked |= pad[:, None, None, :]
    return blocked


def check_masks(sub, ref):
    for (n_q, n_k, causal, padded), got, mine in zip(MASKS, sub, ref, strict=True):
        what = f"attention_mask(n_q={n_q}, n_k={n_k}, causal={causal}, padding={padded})"
        if not causal and not padded:
            assert_true(got["mask"] is None, f"{what}: nothing is masked, expected None")
            continue
        pad = mine["pad"]
        want = _expected_mask(n_q, n_k, causal, pad)
        m = got["mask"]
        assert_true(isinstance(m, np.ndarray), f"{what}: expected a bool array, got {type(m).__name__}")
        try:
            full = np.broadcast_to(m, want.shape)
        except ValueError:
            raise AssertionError(f"{what}: shape {m.shape} does not broadcast to {want.shape}") from None
        assert_true(m.ndim == 4, f"{what}: expected 4 dimensions (B|1, 1, N_q|1, N_k), got shape {m.shape}")
        bad = np.argwhere(full != want)
        assert_true(bad.size == 0, f"{what}: wrong at index {tuple(bad[0]) if bad.size else ()} "
                    "(True = masked; query i sits at position N_k - N_q + i)")


@probe
def attention():
    from hyperion.tensor import Tensor
    from hyperion.transformer.attention import naive_attention

    rng = np.random.default_rng(11)
    out = []
    for i, (b, h, n_q, n_k, d, causal, padded) in enumerate(CASES):
        q, k, v = (rng.standard_normal((b, h, n, d)) for n in (n_q, n_k, n_k))
        g = rng.standard_normal((b, h, n_q, d))
        pad = _padding(rng, b, n_k, left=i == len(CASES) - 1) if padded else None
        ts = [Tensor(a, requires_grad=True) for a in (q, k, v)]
        o = naive_attention(*ts, causal=causal, key_padding_mask=pad)
        o.backward(Tensor(g))
        grads = [None if t.grad is None else t.grad.numpy() for t in ts]
        out.append({"q": q, "k": k, "v": v, "g": g, "pad": pad, "out": o.detach().numpy(),
                    "dq": grads[0], "dk": grads[1], "dv": grads[2]})
    q32 = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    o32 = naive_attention(Tensor(q32), Tensor(q32), Tensor(q32), causal=True)
    out.append({"q": q32, "out": o32.numpy()})
    return out


def _attention(q, k, v, g, causal, pad):
    n_q, n_k = q.shape[2], k.shape[2]
    blocked = _expected_mask(n_q, n_k, causal, pad)
    blocked = np.broadcast_to(blocked, q.shape[:2] + (n_q, n_k))
    s = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])
    s = np.where(blocked, -np.inf, s)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)
    z = e.sum(-1, keepdims=True)
    p = np.where(z > 0, e / np.where(z > 0, z, 1.0), 0.0)
    out = p @ v
    dp = g @ v.swapaxes(-1, -2)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True))
    scale = 1 / np.sqrt(q.shape[-1])
    return out, ds @ k * scale, ds.swapaxes(-1, -2) @ q * scale, p.swapaxes(-1, -2) @ g


def check_attention(sub, ref):
    for case, got, mine in zip(CASES, sub[:-1], ref[:-1], strict=True):
        b, h, n_q, n_k, d, causal, padded = case
        what = f"naive_attention (B, H, N_q, N_k, d) = {(b, h, n_q, n_k, d)}, causal={causal}, padding={padded}"
        for key in ("q", "k", "v", "g"):
            assert_close(got[key], mine[key], rtol=0, atol=0, name="the probe's input")
        want = _attention(mine["q"], mine["k"], mine["v"], mine["g"], causal, mine["pad"])
        for name, val, w in zip(("output", "dq", "dk", "dv"), (got["out"], got["dq"], got["dk"], got["dv"]), want):
            assert_true(val is not None, f"{what}: no gradient {name} (is the graph recorded?)")
            assert_true(bool(np.all(np.isfinite(val))), f"{what}: {name} is not finite (a row with every key "
                        "masked must give zeros, not NaN)")
            assert_close(val, w, rtol=1e-9, atol=1e-10, name=f"{what}: {name}")
    last = sub[-1]
    assert_true(last["out"].dtype == np.float32, f"float32 inputs gave a {last['out'].dtype} output")
    q = ref[-1]["q"].astype(np.float64)
    want = _attention(q, q, q, np.zeros_like(q), True, None)[0]
    assert_close(last["out"].astype(np.float64), want, rtol=1e-5, atol=1e-6, name="float32 causal attention")
