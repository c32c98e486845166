# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # RoPE, sampling, BPE and the KV cache, measured
#
# **Objectives.** Check RoPE's relative-position property numerically; see what temperature,
# top-k and top-p do to a distribution; watch byte-level BPE learn its first merges; count what
# a KV cache saves and what it costs in memory.
# **Prerequisites.** [Attention](../level2/attention.md), [RoPE](../level2/rope.md),
# [Sampling](../level2/sampling.md). **Time:** 25 minutes.
#
# Everything below calls level 2's code (`hyperion.transformer`).

# %%
import matplotlib.pyplot as plt
import numpy as np

from hyperion.transformer.rope import rope_angles, rope_rotate
from hyperion.transformer.sampling import top_k_filter, top_p_filter
from hyperion.transformer.tokenizers import ByteBPETokenizer

rng = np.random.default_rng(0)

# %% [markdown]
# ## RoPE: the score depends on the distance only
#
# Rotate a query at position $m$ and a key at position $n$; their dot product should depend on
# $m - n$ alone. Take one query and one key vector and place them at many position pairs.

# %%
d, positions = 16, 64
cos, sin = rope_angles(d, positions)
q, k = rng.standard_normal(d), rng.standard_normal(d)
Q = rope_rotate(np.tile(q, (positions, 1)), cos, sin)  # q at every position
K = rope_rotate(np.tile(k, (positions, 1)), cos, sin)
scores = Q @ K.T  # scores[m, n]
same_distance = [scores[m, m - 5] for m in range(5, positions)]
print(f"distance 5, 59 position pairs: scores from {min(same_distance):.12f} to {max(same_distance):.12f}")
distance = np.arange(-positions + 1, positions)
by_distance = [np.mean(np.diagonal(scores, offset=-t)) for t in distance]
plt.figure(figsize=(6.5, 3))
plt.plot(distance, by_distance)
plt.xlabel("m − n")
plt.ylabel("q_m · k_n")
plt.title("one (q, k) pair: the score as a function of the distance", fontsize=10)
plt.show()

# %% [markdown]
# ## Sampling: temperature, top-k, top-p
#
# The same logits, three ways. Temperature divides the logits before the softmax; top-k keeps the
# $k$ largest; top-p keeps the smallest set whose mass reaches $p$.

# %%
logits = np.sort(rng.standard_normal(30) * 2)[::-1]


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


fig, axes = plt.subplots(1, 3, figsize=(11, 2.8), sharey=True)
for t in (0.5, 1.0, 2.0):
    axes[0].plot(softmax(logits / t), label=f"T = {t}")
axes[0].set_title("temperature", fontsize=10)
axes[0].legend(fontsize=8)
for kk in (3, 10):
    axes[1].bar(np.arange(30) + (0.4 if kk == 10 else 0), softmax(top_k_filter(logits, kk)), width=0.4,
                label=f"k = {kk}")
axes[1].set_title("top-k", fontsize=10)
axes[1].legend(fontsize=8)
for p in (0.5, 0.9):
    kept = softmax(top_p_filter(logits, p))
    axes[2].bar(np.arange(30) + (0.4 if p == 0.9 else 0), kept, width=0.4,
                label=f"p = {p}: {np.count_nonzero(kept)} kept")
axes[2].set_title("top-p (nucleus)", fontsize=10)
axes[2].legend(fontsize=8)
plt.show()
entropy = {t: float(-(softmax(logits / t) * np.log(softmax(logits / t))).sum()) for t in (0.5, 1.0, 2.0)}
print("entropy (nats) by temperature:", {t: round(h, 3) for t, h in entropy.items()})

# %% [markdown]
# ## BPE: the first merges of a byte-level tokenizer

# %%
text = ("the cat sat on the mat. the cat ate the rat. then the cat sat on the hat. " * 20)
bpe = ByteBPETokenizer.train(text, vocab_size=256 + 12)
for rank, (a, b) in enumerate(bpe.merges):
    print(f"merge {rank:2d}: id {256 + rank} = {bpe.decode([a])!r} + {bpe.decode([b])!r}")
ids = bpe.encode("the cat sat on the hat.")
print(len(b"the cat sat on the hat."), "bytes ->", len(ids), "tokens:", [bpe.decode([i]) for i in ids])

# %% [markdown]
# ## The KV cache: work saved, memory spent
#
# Generating $T$ tokens without a cache re-runs the whole prefix at every step: the attention
# projections cost $\sum_{t=1}^{T} t = T(T+1)/2$ token-passes instead of $T$. The cache stores,
# per layer, a key and a value vector per head per position: $2 \cdot L \cdot T \cdot C$ numbers
# for width $C = H \cdot d$.

# %%
for name, layers, width in [("course GPT (cpu config)", 4, 128), ("GPT-2 small", 12, 768), ("GPT-2 XL", 48, 1600)]:
    for T in (128, 1024):
        cache_bytes = 2 * layers * T * width * 4
        print(f"{name:<24} T={T:5d}: cache {cache_bytes / 2**20:8.2f} MiB per sequence (fp32); "
              f"token-passes without cache {T * (T + 1) // 2:>7,} vs {T:,} with")

# %% [markdown]
# ## Exercises
#
# 1. RoPE's pair $i$ turns by $\theta_i = 10000^{-2i/d}$ per position. After how many positions
#    does the slowest pair of a 64-wide head complete one turn? What does that say about the
#    longest distances RoPE can tell apart?
# 2. With temperature $T \to 0$, what does sampling become? With $T \to \infty$?
# 3. Top-p with $p = 0.9$ kept how many tokens above, and top-k with $k = 10$ ten: when is each
#    the better rule?
# 4. For GPT-2 XL at $T = 1024$, how many sequences' caches fit in 80 GB?
#
# <details><summary>Answer to 2</summary>
# As T → 0 the softmax puts all its mass on the largest logit: greedy decoding (argmax). As T → ∞
# every logit is divided toward 0 and the distribution becomes uniform over the vocabulary.
# </details>
#
# <details><summary>Answer to 4</summary>
# 2 · 48 · 1024 · 1600 · 4 bytes = 629 MB per sequence in fp32, so about 127 sequences in 80 GB
# (half that per sequence in fp16: about 254), before counting the weights.
# </details>
