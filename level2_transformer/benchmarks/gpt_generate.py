"""Time per generated token with and without the KV cache, at several context lengths.

    python level2_transformer/benchmarks/gpt_generate.py [--threads 1]

For the issue's model (4 layers, 128 wide, context 128), batch 1: the mean time of 16 greedy
decoding steps after a prompt of ``t`` tokens (the prefill is not timed). Without the cache a step
reruns all ``t`` tokens (O(t) projections, O(t²) attention); with it a step runs one token against
``t`` cached keys. Ratios within one run are the result; absolute times on a shared CPU are noise.
"""

from __future__ import annotations

import os
import sys
import time

if "--threads" in sys.argv:  # must precede the first numpy import to reach OpenBLAS
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = sys.argv[sys.argv.index("--threads") + 1]

import numpy as np  # noqa: E402

from hyperion.tensor import no_grad  # noqa: E402
from hyperion.transformer.gpt import GPT, GPTConfig  # noqa: E402
from hyperion.transformer.sampling import sample_next  # noqa: E402


def step_times(model: GPT, prompt: np.ndarray, steps: int, use_cache: bool) -> float:
    """Mean seconds per decoding step over ``steps`` steps after ``prompt`` (prefill not counted)."""
    tokens = prompt.copy()
    with no_grad():
        caches = model.new_caches(1) if use_cache else None
        if use_cache:
            model(tokens, caches=caches)
        start = time.perf_counter()
        for _ in range(steps):
            logits, _ = model(tokens[:, -1:], caches=caches) if use_cache else model(tokens)
            nxt = sample_next(logits[:, -1].numpy(), temperature=0)
            tokens = np.concatenate([tokens, np.asarray(nxt)[:, None]], axis=1)
        return (time.perf_counter() - start) / steps


def main() -> None:
    cfg = GPTConfig(vocab_size=65, context_length=128, n_layer=4, n_head=4, n_embd=128)
    model = GPT(cfg).eval()
    rng = np.random.default_rng(0)
    print(f"generation, {cfg}, batch 1, float32")
    print("| context t | ms / token, no cache | ms / token, KV cache | speed-up |")
    print("|---|---|---|---|")
    for t in (8, 32, 64, 112):
        prompt = rng.integers(0, cfg.vocab_size, (1, t))
        plain = min(step_times(model, prompt, 16, False) for _ in range(3))
        cached = min(step_times(model, prompt, 16, True) for _ in range(3))
        print(f"| {t} | {plain * 1e3:.2f} | {cached * 1e3:.2f} | {plain / cached:.1f}x |")


if __name__ == "__main__":
    main()
