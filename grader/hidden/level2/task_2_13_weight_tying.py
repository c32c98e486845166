"""Task 2.13: ``GPT.tie_weights``: the LM head and the token embedding are one Parameter.

Checked on a fresh ``GPT(tie_weights=True)``: ``lm_head.weight is wte.weight``; ``parameters()`` lists it
once (the count is the untied model's minus V*C); and after ``backward`` of ``sum(lm_head(wte(idx)) * g)``
its gradient is the sum of both uses, computed in the judge with numpy: the head's ``g^T h`` plus the
embedding rows' scatter-add of ``g W``. (The blocks are not run, so Tasks 2.1-2.4 are not needed.)
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "2.13"
TITLE = "Weight tying"
POINTS = 4
TIMEOUT = 60


@probe(reference=False)
def tied():
    import hyperion.tensor as ht
    from hyperion.transformer.gpt import GPT, GPTConfig

    config = dict(vocab_size=9, context_length=8, n_layer=1, n_head=2, n_embd=4)
    model = GPT(GPTConfig(**config, tie_weights=True), generator=ht.Generator(13))
    untied = GPT(GPTConfig(**config, tie_weights=False), generator=ht.Generator(13))
    rng = np.random.default_rng(1300)
    idx = rng.integers(0, 9, size=(2, 5)).astype(np.int64)
    idx[0, 0] = idx[1, 1]
    g = rng.standard_normal((2, 5, 9)).astype(np.float32)
    w = model.wte.weight.detach().numpy().copy()
    (model.lm_head(model.wte(ht.tensor(idx))) * ht.tensor(g)).sum().backward()
    names = [name for name, _ in model.named_parameters()]
    return {
        "same": model.lm_head.weight is model.wte.weight,
        "count": sum(p.numel() for p in model.parameters()),
        "untied_count": sum(p.numel() for p in untied.parameters()),
        "names": names,
        "w": w,
        "idx": idx,
        "g": g,
        "grad": None if model.wte.weight.grad is None else model.wte.weight.grad.numpy(),
    }


def check_tied(sub, ref):
    assert_true(sub["same"], "after tie_weights(), lm_head.weight must be the very Parameter wte.weight")
    assert_true(
        sub["count"] == sub["untied_count"] - 9 * 4,
        f"the tied model has {sub['count']} parameters; expected {sub['untied_count'] - 36} (untied minus V*C)",
    )
    assert_true(
        sum(n.endswith("wte.weight") or n.endswith("lm_head.weight") for n in sub["names"]) == 1,
        f"named_parameters() must list the shared weight once, got {sub['names']}",
    )
    w, idx, g = sub["w"].astype(np.float64), sub["idx"], sub["g"].astype(np.float64)
    h = w[idx]  # (B, T, C)
    want = np.einsum("btv,btc->vc", g, h)  # the head's use
    np.add.at(want, idx, g @ w)  # the embedding's use
    assert_true(sub["grad"] is not None, "no gradient reached the shared weight")
    assert_close(
        sub["grad"].astype(np.float64),
        want,
        rtol=1e-5,
        atol=1e-6,
        name="gradient of the shared weight (head use + embedding use)",
    )
