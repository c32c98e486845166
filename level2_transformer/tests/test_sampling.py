"""Sampling and generation: greedy, temperature, top-k, top-p (alone and combined), seeded
reproducibility, the empirical distribution, and KV-cache generation == generation without it."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.tensor import Tensor
from hyperion.tensor.errors import ShapeError
from hyperion.transformer.gpt import GPT, GPTConfig
from hyperion.transformer.kv_cache import KVCache
from hyperion.transformer.sampling import sample_next, top_k_filter, top_p_filter

LOGITS = np.log(np.array([0.05, 0.4, 0.1, 0.3, 0.15]))  # sorted: 1 (.4), 3 (.3), 4 (.15), 2 (.1), 0 (.05)


def _kept(filtered: np.ndarray) -> set[int]:
    return set(np.flatnonzero(np.isfinite(filtered)).tolist())


def test_top_k_keeps_the_k_largest():
    assert _kept(top_k_filter(LOGITS, 1)) == {1}
    assert _kept(top_k_filter(LOGITS, 3)) == {1, 3, 4}
    assert _kept(top_k_filter(LOGITS, 10)) == set(range(5))
    np.testing.assert_array_equal(top_k_filter(LOGITS, 2)[[1, 3]], LOGITS[[1, 3]])  # values untouched
    rows = np.stack([LOGITS, LOGITS[::-1]])
    out = top_k_filter(rows, 2)
    assert _kept(out[0]) == {1, 3} and _kept(out[1]) == {3, 1}  # per row: 4 - i
    assert _kept(top_k_filter(np.array([1.0, 2.0, 2.0, 0.0]), 2)) == {1, 2}
    with pytest.raises(ValueError, match="top_k"):
        top_k_filter(LOGITS, 0)


# The cumulative masses of LOGITS (.4, .7, .85, .95) come out of exp/log and are only close to those
# decimals (0.9499999999999998 on one CPU, 0.95 on another), so every p here is at least 0.005 away from
# one; the exact boundary ("reaches p" keeps the token that makes the mass equal to p) is tested below on
# masses that are exactly representable.
@pytest.mark.parametrize("p,kept", [(0.3, {1}), (0.395, {1}), (0.405, {1, 3}), (0.695, {1, 3}),
                                    (0.705, {1, 3, 4}), (0.945, {1, 3, 4, 2}), (0.955, set(range(5))),
                                    (1.0, set(range(5)))])
def test_top_p_keeps_the_smallest_nucleus(p, kept):
    assert _kept(top_p_filter(LOGITS, p)) == kept


@pytest.mark.parametrize("p,count", [(0.25, 1), (0.5, 2), (0.75, 3), (1.0, 4)])
def test_top_p_keeps_the_token_whose_mass_reaches_p_exactly(p, count):
    # four equal logits: exp(0) = 1, probabilities 1/4, cumulative 1/4, 1/2, 3/4, 1 -- all exact in binary
    assert len(_kept(top_p_filter(np.zeros(4), p))) == count


def test_top_p_is_per_row_and_checks_p():
    rows = np.stack([LOGITS, np.zeros(5)])  # the second row is uniform: p = 0.5 keeps 3 of 5
    out = top_p_filter(rows, 0.5)
    assert _kept(out[0]) == {1, 3} and len(_kept(out[1])) == 3
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(LOGITS, 0.0)


def test_greedy_and_temperature_zero():
    assert sample_next(LOGITS, temperature=0) == 1
    assert sample_next(np.stack([LOGITS, -LOGITS]), temperature=0).tolist() == [1, 0]


def _frequencies(n: int = 20000, **kwargs) -> np.ndarray:
    rng = np.random.default_rng(0)
    tokens = sample_next(np.tile(LOGITS, (n, 1)), rng=rng, **kwargs)
    return np.bincount(tokens, minlength=5) / n


def test_samples_follow_the_filtered_distribution():
    probs = np.exp(LOGITS)
    np.testing.assert_allclose(_frequencies(), probs, atol=0.015)
    hot = np.exp(LOGITS / 2) / np.exp(LOGITS / 2).sum()
    np.testing.assert_allclose(_frequencies(temperature=2.0), hot, atol=0.015)
    top2 = np.array([0, 0.4, 0, 0.3, 0]) / 0.7
    np.testing.assert_allclose(_frequencies(top_k=2), top2, atol=0.015)
    np.testing.assert_allclose(_frequencies(top_p=0.65), top2, atol=0.015)  # masses .4, .7: clear of p
    # combined: top-k 3 leaves {.4, .3, .15}; renormalised, top-p 0.5 keeps {1, 3}
    np.testing.assert_allclose(_frequencies(top_k=3, top_p=0.5), top2, atol=0.015)
    assert _frequencies(top_k=3, top_p=0.9)[[0, 2]].sum() == 0  # never a filtered token


def test_seeded_sampling_is_reproducible():
    rows = np.random.default_rng(5).standard_normal((8, 50))
    a = sample_next(rows, top_p=0.9, rng=np.random.default_rng(3))
    b = sample_next(rows, top_p=0.9, rng=np.random.default_rng(3))
    c = sample_next(rows, top_p=0.9, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert isinstance(sample_next(rows[0], rng=np.random.default_rng(0)), int)


CFG = dict(vocab_size=31, context_length=24, n_layer=2, n_head=2, n_embd=16)


@pytest.mark.parametrize("positional", ["learned", "rope"])
@pytest.mark.parametrize("options", [dict(temperature=0.0), dict(seed=3), dict(seed=5, top_k=5, top_p=0.8,
                                                                              temperature=0.7)])
def test_kv_cache_generation_equals_generation_without_it(positional, options):
    model = GPT(GPTConfig(**CFG, positional=positional), dtype="float64")
    prompt = np.random.default_rng(1).integers(0, 31, (2, 5))
    cached = model.generate(prompt, 15, use_cache=True, **options)
    plain = model.generate(prompt, 15, use_cache=False, **options)
    assert cached.shape == (2, 20) and cached.dtype == np.int64
    np.testing.assert_array_equal(cached[:, :5], prompt)
    np.testing.assert_array_equal(cached, plain)


def test_generation_past_the_context_window():
    model = GPT(GPTConfig(**CFG), dtype="float64")
    prompt = np.arange(20)[None] % 31
    cached, plain = (model.generate(prompt, 10, seed=0, use_cache=c) for c in (True, False))
    assert cached.shape == (1, 30)
    np.testing.assert_array_equal(cached, plain)


def test_generate_is_seeded_and_keeps_the_training_mode():
    model = GPT(GPTConfig(**CFG, dropout=0.2))
    prompt = np.array([1, 2, 3])
    a, b = model.generate(prompt, 12, seed=7), model.generate(prompt, 12, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (15,)
    assert model.training


def test_cached_logits_equal_full_logits():
    """Prefill 6 tokens, then feed 3 more one at a time: each step's logits match the full pass."""
    model = GPT(GPTConfig(**CFG, positional="rope"), dtype="float64")
    tokens = np.random.default_rng(2).integers(0, 31, (2, 9))
    full, _ = model(tokens)
    caches = model.new_caches(2)
    first, _ = model(tokens[:, :6], caches=caches)
    steps = [model(tokens[:, i:i + 1], caches=caches)[0] for i in range(6, 9)]
    np.testing.assert_allclose(first.detach().numpy(), full.detach().numpy()[:, :6], atol=1e-12)
    for i, step in zip(range(6, 9), steps):
        np.testing.assert_allclose(step.detach().numpy()[:, 0], full.detach().numpy()[:, i], atol=1e-12)
    assert caches[0].length == 9


def test_kv_cache_append_returns_views_of_everything_so_far():
    cache = KVCache(2, 3, 5, 4, dtype="float64")
    rng = np.random.default_rng(0)
    k1, v1 = rng.standard_normal((2, 3, 2, 4)), rng.standard_normal((2, 3, 2, 4))
    k2, v2 = rng.standard_normal((2, 3, 1, 4)), rng.standard_normal((2, 3, 1, 4))
    cache.append(Tensor(k1), Tensor(v1))
    keys, values = cache.append(Tensor(k2), Tensor(v2))
    assert cache.length == 3 and keys.shape == (2, 3, 3, 4)
    np.testing.assert_array_equal(keys.numpy(), np.concatenate([k1, k2], axis=2))
    np.testing.assert_array_equal(values.numpy(), np.concatenate([v1, v2], axis=2))
    assert keys.untyped_storage_id() == cache.keys.untyped_storage_id()  # a view, not a copy
    with pytest.raises(ShapeError, match="max_length"):
        cache.append(Tensor(rng.standard_normal((2, 3, 3, 4))), Tensor(rng.standard_normal((2, 3, 3, 4))))
    with pytest.raises(ShapeError, match="must both be"):
        cache.append(Tensor(np.zeros((2, 2, 1, 4))), Tensor(np.zeros((2, 2, 1, 4))))
