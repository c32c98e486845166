"""The reference numbers of level 2's Problem 4 (the ablation), for the answer key; never released.

    python grader/answers/run_ablation.py --json OUT.json [--steps 200]

Task 2.16's bounded run (2 layers, 4 heads, width 64, context 64, batch 16, AdamW 3e-3 with 20 warm-up
steps and cosine to 3e-4, 16 fixed validation batches), once per configuration: tied/untied weights x
learned/rotary positions at seed 1337, and the tied+learned one again at seeds 1338 and 1339 for the
seed-to-seed spread. The loop is the task's own (``hyperion.transformer.train`` pieces); runs are made one
after another in this process, so their times are comparable only as far as the machine's load allows.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from hyperion import optim
from hyperion.tensor import manual_seed
from hyperion.transformer import train as T
from hyperion.transformer.corpus import get_batch, load_corpus, train_val_split

RUNS = [  # (tie_weights, positional, seed)
    (True, "learned", 1337), (False, "learned", 1337), (True, "rope", 1337), (False, "rope", 1337),
    (True, "learned", 1338), (True, "learned", 1339),
]


def run(text: str, tie: bool, positional: str, seed: int, steps: int) -> dict:
    """One bounded training run; its validation loss, parameter count and training time."""
    config = T.TrainConfig(context_length=64, n_layer=2, n_head=4, n_embd=64, batch_size=16, max_steps=steps,
                           lr=3e-3, min_lr=3e-4, warmup_steps=20, eval_batches=16, quiet=True, seed=seed,
                           tie_weights=tie, positional=positional)
    train_text, val_text = train_val_split(text, config.val_fraction)
    tokenizer = T.build_tokenizer(config, train_text)
    splits = {"train": tokenizer.encode_array(train_text), "val": tokenizer.encode_array(val_text)}
    manual_seed(config.seed)
    model = T.build_gpt(config, tokenizer.vocab_size)
    optimizer = optim.AdamW(T.parameter_groups(model, config.weight_decay), lr=config.lr,
                            betas=(config.beta1, config.beta2))
    scheduler = optim.lr_scheduler.CosineWarmupLR(optimizer, config.warmup_steps, config.max_steps, config.min_lr)
    rng = np.random.default_rng(config.seed)
    params = list(model.parameters())
    model.train()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(config.max_steps):
        x, y = get_batch(splits["train"], config.batch_size, config.context_length, rng)
        T.train_step(model, optimizer, params, x, y, config)
        scheduler.step()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    val = T.evaluate(model, {"val": splits["val"]}, config)["val"]
    unique = {id(p): p.numel() for p in model.parameters()}  # a tied weight counts once
    return {"tie_weights": tie, "positional": positional, "seed": seed, "steps": steps, "val": float(val),
            "parameters": int(sum(unique.values())), "vocab": int(tokenizer.vocab_size),
            "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    text = load_corpus("shakespeare").text
    results = {"machine": platform.node(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "runs": []}
    for tie, positional, seed in RUNS:
        results["runs"].append(run(text, tie, positional, seed, args.steps))
        print(json.dumps(results["runs"][-1]), flush=True)
        with open(args.json, "w") as out:  # written after every run: a stopped job keeps what it measured
            json.dump(results, out, indent=1)


if __name__ == "__main__":
    main()
