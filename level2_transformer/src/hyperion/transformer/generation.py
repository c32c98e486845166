"""Autoregressive generation: run the model, sample a token, append it, repeat.

Without a cache every step reruns the model on the whole (cropped) context. With the KV cache the
prompt is run once (the *prefill*), then each step feeds only the newest token and attends over the
cached keys and values: O(context) per token instead of O(context²). Both paths compute the same
logits, so with the same seed they produce the same tokens (tested).

When the sequence outgrows ``context_length`` the model only ever sees the last ``context_length``
tokens, with positions counted from the start of that window. A cache cannot slide that window
(every cached key would need new positions), so from then on the cached path recomputes the
window each step, exactly as the uncached path does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from hyperion.tensor import Tensor, no_grad
from hyperion.transformer.sampling import sample_next

if TYPE_CHECKING:
    from hyperion.transformer.gpt import GPT


def _last_logits(logits: Tensor) -> np.ndarray:
    return logits[:, -1, :].numpy().astype(np.float64)


def generate(model: GPT, idx: Any, max_new_tokens: int, *, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
             use_cache: bool = True) -> np.ndarray:
    """``idx`` ``(B, T)`` or ``(T,)`` followed by ``max_new_tokens`` tokens, as int64 numpy.

    ``temperature=0`` is greedy; ``top_k``/``top_p`` filter (combinable); ``seed`` makes the draw
    reproducible. The model runs in eval mode (no dropout) and without recording a graph; its
    training mode is restored afterwards.
    """
    if isinstance(idx, Tensor):
        idx = idx.numpy()
    tokens = np.asarray(idx)
    if tokens.dtype.kind not in "iu":
        raise TypeError(f"generate: idx must hold integer token ids, got {tokens.dtype}")
    squeeze = tokens.ndim == 1
    tokens = tokens[None] if squeeze else tokens
    if tokens.ndim != 2 or tokens.shape[1] == 0:
        raise ValueError(f"generate: idx must be a non-empty (B, T) or (T,) array, got shape {tokens.shape}")
    tokens = tokens.astype(np.int64)
    if max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
    rng = np.random.default_rng(seed)
    window = model.config.context_length
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            caches = model.new_caches(len(tokens)) if use_cache else None
            for step in range(max_new_tokens):
                fits = caches is not None and tokens.shape[1] <= window
                if fits and step > 0:
                    logits, _ = model(tokens[:, -1:], caches=caches)  # one new token against the cache
                elif fits:
                    logits, _ = model(tokens, caches=caches)  # prefill
                else:
                    logits, _ = model(tokens[:, -window:])
                nxt = sample_next(_last_logits(logits), temperature, top_k, top_p, rng)
                tokens = np.concatenate([tokens, np.asarray(nxt, dtype=np.int64)[:, None]], axis=1)
    finally:
        model.train(was_training)
    return tokens[0] if squeeze else tokens
