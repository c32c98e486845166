"""Data for the site's interactive figures, computed at every build (served as assets/data/NAME.json).

    python site/figure_data.py OUT_DIR      writes every file (a quick look)

``attention``: a tiny character-level GPT (Hyperion's own ``GPT``, 2 layers × 4 heads, width 64,
context 64) trained for a few hundred AdamW steps on the text of this course's pages, then run on
one sentence. For every layer and head the file holds the raw scaled scores ``q·kᵀ/√d`` (the
explorer applies the mask, the temperature and the softmax in the browser), and for every position
the model's next-character logits (for top-k / top-p). The scores are captured from the model's
own forward pass (its ``scaled_dot_product_attention`` call), not recomputed from the weights.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOCS = Path(__file__).resolve().parent / "docs"
PROMPT = "The gradient of the loss flows back through every view of the tensor."
STEPS, BATCH, CONTEXT, WIDTH, LAYERS, HEADS = 300, 16, 64, 64, 2, 4


def course_text() -> str:
    """The prose of the course pages (levels 0-2), code blocks dropped: the tiny model's corpus."""
    parts = []
    for page in sorted(DOCS.glob("level[0-2]/*.md")):
        text, inside = [], False
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("```"):
                inside = not inside
                continue
            if not inside and line.strip() and not line.startswith(("|", "<", "!!!", "#")):
                text.append(line.strip())
        parts.append(" ".join(text))
    return "\n".join(parts)


def attention() -> dict:
    from hyperion import optim
    from hyperion.tensor import manual_seed, no_grad, tensor
    from hyperion.transformer import attention as attention_module
    from hyperion.transformer.corpus import get_batch
    from hyperion.transformer.gpt import GPT, GPTConfig
    from hyperion.transformer.tokenizers import CharTokenizer

    text = course_text()
    tokenizer = CharTokenizer.train(text + PROMPT)
    data = np.array(tokenizer.encode(text), dtype=np.int64)
    manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, context_length=CONTEXT, n_layer=LAYERS,
                          n_head=HEADS, n_embd=WIDTH, positional="rope"))
    opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    rng = np.random.default_rng(0)
    start, losses = time.perf_counter(), []
    for _ in range(STEPS):
        x, y = get_batch(data, BATCH, CONTEXT, rng)
        _, loss = model(tensor(x), tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    seconds = time.perf_counter() - start

    captured = []
    original = attention_module.scaled_dot_product_attention

    def capture(q, k, v, **kwargs):
        captured.append((q.detach().numpy(), k.detach().numpy()))
        return original(q, k, v, **kwargs)

    ids = tokenizer.encode(PROMPT)[:CONTEXT]
    model.eval()
    attention_module.scaled_dot_product_attention = capture
    try:
        with no_grad():
            logits, _ = model(tensor(np.array([ids], dtype=np.int64)))
    finally:
        attention_module.scaled_dot_product_attention = original
    scores = [np.round(q[0] @ k[0].transpose(0, 2, 1) / np.sqrt(q.shape[-1]), 3).tolist() for q, k in captured]
    return {
        "about": (f"Hyperion GPT, {LAYERS} layers x {HEADS} heads, width {WIDTH}, RoPE, "
                  f"{model.num_parameters():,} parameters; {STEPS} AdamW steps (batch {BATCH} x {CONTEXT} "
                  f"characters) on the text of this course's pages, trained at site build time in "
                  f"{seconds:.0f} s; train loss {np.mean(losses[:10]):.2f} -> {np.mean(losses[-10:]):.2f} nats"),
        "tokens": [tokenizer.decode([i]) for i in ids],
        "vocab": [tokenizer.decode([i]) for i in range(tokenizer.vocab_size)],
        "scores": scores,  # [layer][head][query][key], unmasked
        "logits": np.round(logits.detach().numpy()[0], 3).tolist(),  # [position][vocab]
    }


FIGURES = {"attention": attention}


def render_all() -> dict[str, str]:
    return {name: json.dumps(make(), separators=(",", ":")) for name, make in FIGURES.items()}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "figure-data")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (out / f"{name}.json").write_text(text)
        print(out / f"{name}.json", len(text), "bytes")
