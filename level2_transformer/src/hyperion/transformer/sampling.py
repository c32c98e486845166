"""Choosing the next token from logits: greedy, temperature, top-k, nucleus (top-p), seeded.

The model gives logits ``z`` over the vocabulary; ``softmax(z / T)`` is the distribution to draw from.

* temperature ``T``: ``T → 0`` sharpens towards the argmax (``T = 0`` *is* greedy), ``T > 1`` flattens.
* top-k: keep the ``k`` largest logits, set the rest to ``-inf`` (probability 0).
* top-p (nucleus, Holtzman et al. 2019): keep the smallest set of most likely tokens whose total
  probability reaches ``p``; the set adapts — a few tokens when the model is sure, many when not.

They combine in this order: temperature, then top-k, then top-p on what is left (as Hugging Face
does). Sampling is by inverse CDF with a ``numpy.random.Generator``, so a seed fixes the tokens.
All of this is host-side numpy on one row of logits per sequence: O(V log V) per token.
"""

from __future__ import annotations

import numpy as np


def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """Task 2.5 (part 1): a copy of ``logits`` ``(..., V)`` with all but the ``k`` largest per row at ``-inf``.

    Keep every entry ``≥`` the row's ``k``-th largest value (so ties at the threshold survive,
    as in PyTorch/Hugging Face). ``k ≥ V`` keeps everything; ``k < 1`` is a ``ValueError``.
    Hint: ``np.partition(logits, -k, axis=-1)[..., -k:]`` holds the ``k`` largest, unordered.
    """
    # BEGIN SOLUTION
    if k < 1:
        raise ValueError(f"top_k must be at least 1, got {k}")
    if k >= logits.shape[-1]:
        return logits.copy()
    threshold = np.partition(logits, -k, axis=-1)[..., -k][..., None]
    return np.where(logits >= threshold, logits, -np.inf)
    # END SOLUTION


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """Task 2.5 (part 2): a copy of ``logits`` ``(..., V)`` keeping each row's nucleus of mass ``p``.

    Sort each row's probabilities (``softmax`` of the logits, stably: subtract the max) in
    descending order (``np.argsort(-logits, kind="stable")``). Keep a token when the probability of
    the tokens sorted *before* it is ``< p``: that keeps the smallest prefix whose total reaches ``p``,
    and always the most likely token. Set every other entry to ``-inf``. ``p`` must be in
    ``(0, 1]`` (``ValueError`` otherwise); ``p = 1`` keeps everything with nonzero probability.
    """
    # BEGIN SOLUTION
    if not 0.0 < p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    order = np.argsort(-logits, axis=-1, kind="stable")
    sorted_logits = np.take_along_axis(logits, order, axis=-1).astype(np.float64)
    probs = np.exp(sorted_logits - sorted_logits[..., :1])
    probs /= probs.sum(axis=-1, keepdims=True)
    before = np.cumsum(probs, axis=-1) - probs
    keep_sorted = before < p
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    return np.where(keep, logits, -np.inf)
    # END SOLUTION


def sample_next(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, rng: np.random.Generator | None = None) -> np.ndarray | int:
    """One token per row of ``logits`` (``(V,)`` → an int, ``(B, V)`` → an int64 array ``(B,)``).

    ``temperature=0`` is greedy (argmax; top-k/top-p cannot change it). Otherwise divide by the
    temperature, filter with top-k and/or top-p, and draw from the softmax with ``rng``
    (``numpy.random.default_rng()`` if none is given: unseeded).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim not in (1, 2):
        raise ValueError(f"sample_next: logits must be (V,) or (B, V), got shape {logits.shape}")
    if temperature < 0:
        raise ValueError(f"sample_next: temperature must be >= 0, got {temperature}")
    rows = logits.reshape(-1, logits.shape[-1])
    if temperature == 0:
        tokens = np.argmax(rows, axis=-1)
    else:
        rows = rows / temperature
        if top_k is not None:
            rows = top_k_filter(rows, top_k)
        if top_p is not None:
            rows = top_p_filter(rows, top_p)
        probs = np.exp(rows - rows.max(axis=-1, keepdims=True))
        cdf = np.cumsum(probs, axis=-1)
        u = (rng if rng is not None else np.random.default_rng()).random(len(rows))[:, None] * cdf[:, -1:]
        # the first index whose cumulative mass exceeds u: never a token of probability 0
        tokens = np.minimum((cdf <= u).sum(axis=-1), rows.shape[-1] - 1)
    tokens = tokens.astype(np.int64)
    return int(tokens[0]) if logits.ndim == 1 else tokens
