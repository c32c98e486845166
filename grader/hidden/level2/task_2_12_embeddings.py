"""Task 2.12: ``GPT.embed``, token plus learned position embeddings (then dropout).

The expected values are the rows of the model's own embedding tables, gathered in the judge with numpy:
``wte[idx] + wpe[start : start + T]``; the gradient of ``sum(out * g)`` reaches every used row of both
tables (rows used twice get both contributions; positions are shared across the batch). With dropout
0.5 in training mode each element is 0 or twice the expected value; in eval mode it is exact.
A model with ``tie_weights=False`` and learned positions is used, so nothing of Tasks 2.2/2.13 runs.
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "2.12"
TITLE = "Token and position embeddings"
POINTS = 6
TIMEOUT = 60
CASES = [(2, 5, 3), (3, 4, 0), (1, 8, 8)]  # (batch, T, start)


@probe(reference=False)
def embeddings():
    import hyperion.tensor as ht
    from hyperion.transformer.gpt import GPT, GPTConfig

    config = GPTConfig(vocab_size=11, context_length=16, n_layer=1, n_head=2, n_embd=6, tie_weights=False)
    model = GPT(config, generator=ht.Generator(12))
    model.eval()
    rng = np.random.default_rng(1200)
    out = []
    for batch, length, start in CASES:
        idx = rng.integers(0, config.vocab_size, size=(batch, length))
        idx[0, :2] = 3  # a repeated token
        g = rng.standard_normal((batch, length, config.n_embd)).astype(np.float32)
        model.zero_grad()
        x = model.embed(ht.tensor(idx.astype(np.int64)), start)
        (x * ht.tensor(g)).sum().backward()
        out.append(
            {
                "idx": idx,
                "start": start,
                "g": g,
                "x": x.detach().numpy(),
                "dwte": None if model.wte.weight.grad is None else model.wte.weight.grad.numpy(),
                "dwpe": None if model.wpe.weight.grad is None else model.wpe.weight.grad.numpy(),
            }
        )
    dropped = GPT(
        GPTConfig(
            vocab_size=11, context_length=16, n_layer=1, n_head=2, n_embd=6, tie_weights=False, dropout=0.5
        ),
        generator=ht.Generator(12),
    )
    dropped.train()
    idx = rng.integers(0, 11, size=(4, 16)).astype(np.int64)
    return {
        "cases": out,
        "wte": model.wte.weight.detach().numpy(),
        "wpe": model.wpe.weight.detach().numpy(),
        "drop_idx": idx,
        "drop_x": dropped.embed(ht.tensor(idx), 0).detach().numpy(),
        "drop_wte": dropped.wte.weight.detach().numpy(),
        "drop_wpe": dropped.wpe.weight.detach().numpy(),
    }


def check_embeddings(sub, ref):
    wte, wpe = sub["wte"].astype(np.float64), sub["wpe"].astype(np.float64)
    for (_batch, length, start), case in zip(CASES, sub["cases"], strict=True):
        idx, g = case["idx"], case["g"].astype(np.float64)
        what = f"embed of idx {idx.shape} from position {start}"
        want = wte[idx] + wpe[start : start + length][None]
        assert_true(case["x"].shape == want.shape, f"{what}: shape {case['x'].shape}, expected {want.shape}")
        assert_close(case["x"].astype(np.float64), want, rtol=1e-6, atol=1e-7, name=what)
        dwte = np.zeros_like(wte)
        np.add.at(dwte, idx, g)
        dwpe = np.zeros_like(wpe)
        dwpe[start : start + length] = g.sum(0)
        for name, got, exp in (("wte", case["dwte"], dwte), ("wpe", case["dwpe"], dwpe)):
            assert_true(got is not None, f"{what}: no gradient reached {name}.weight")
            assert_close(
                got.astype(np.float64), exp, rtol=1e-5, atol=1e-6, name=f"{what}: gradient of {name}.weight"
            )
    idx, x = sub["drop_idx"], sub["drop_x"].astype(np.float64)
    want = sub["drop_wte"].astype(np.float64)[idx] + sub["drop_wpe"].astype(np.float64)[None, :16]
    kept = x != 0
    assert_true(
        bool(0.3 < kept.mean() < 0.7),
        f"with dropout 0.5 in training, {kept.mean():.0%} of the elements survived",
    )
    assert_close(
        x[kept], 2 * want[kept], rtol=1e-6, atol=1e-7, name="embeddings after dropout (p=0.5) in training"
    )
