"""Training throughput (tokens/s) of Hyperion's GPT beside its PyTorch twin: same config, same device,
same batches, same step (forward, backward, clip the gradient norm, AdamW), in one process.

    python level2_transformer/benchmarks/train_throughput.py --device cuda               # the gpu preset
    python level2_transformer/benchmarks/train_throughput.py --config tiny --device cpu  # a check anywhere

The twin is ``tests/torch_gpt.py`` (the oracle of the GPT's equivalence tests), loaded with the same
weights. Dropout is set to 0 for both (the twin has none). Both run in float32 with TF32 off (the
default of both), each step ends with ``loss.item()`` (a device sync, as in the training script),
and the first ``--warmup`` steps (kernel compilation, allocator growth) are not timed. Absolute
numbers mean something on a GPU only; on a shared CPU quote the ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from torch_gpt import twin_of  # noqa: E402

from hyperion import optim  # noqa: E402
from hyperion.transformer.corpus import get_batch, load_corpus, train_val_split  # noqa: E402
from hyperion.transformer.tokenizers import CharTokenizer  # noqa: E402
from hyperion.transformer.train import CONFIGS, build_gpt, parameter_groups, train_step  # noqa: E402


def timed(step, batches, warmup: int, max_seconds: float) -> dict:
    """Run ``step`` over ``batches``; the first ``warmup`` untimed. Stops early after ``max_seconds``."""
    losses = [step(x, y) for x, y in batches[:warmup]]
    start, done = time.perf_counter(), 0
    for x, y in batches[warmup:]:
        losses.append(step(x, y))
        done += 1
        if time.perf_counter() - start > max_seconds:
            break
    seconds = time.perf_counter() - start
    tokens = done * batches[0][0].size
    return {"steps": done, "seconds": seconds, "tokens_per_s": tokens / seconds, "losses": losses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="gpu", choices=sorted(CONFIGS))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data", default="auto")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per framework")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=40.0, help="per framework")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    config = dataclasses.replace(CONFIGS[args.config], device=args.device, dropout=0.0)

    text = load_corpus(args.data).text
    train_text, _ = train_val_split(text, config.val_fraction)
    tokenizer = CharTokenizer.train(train_text)
    data = tokenizer.encode_array(train_text)
    rng = np.random.default_rng(config.seed)
    batches = [get_batch(data, config.batch_size, config.context_length, rng)
               for _ in range(args.warmup + args.steps)]

    ours = build_gpt(config, tokenizer.vocab_size)
    ours_params = list(ours.parameters())
    ours_opt = optim.AdamW(parameter_groups(ours, config.weight_decay), lr=config.lr,
                           betas=(config.beta1, config.beta2))
    if args.device != "cpu":
        torch.set_default_device(args.device)  # the twin makes its position indices on the default device
    twin = twin_of(ours).to(args.device)
    decay = [p for p in twin.parameters() if p.ndim >= 2]
    other = [p for p in twin.parameters() if p.ndim < 2]
    twin_opt = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                  {"params": other, "weight_decay": 0.0}], lr=config.lr,
                                 betas=(config.beta1, config.beta2))

    def ours_step(x, y):
        return train_step(ours, ours_opt, ours_params, x, y, config)

    def twin_step(x, y):
        logits, loss = twin(torch.as_tensor(x, device=args.device), torch.as_tensor(y, device=args.device))
        twin_opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(twin.parameters(), config.grad_clip)
        twin_opt.step()
        return float(loss.item())

    results = {"config": args.config, "device": args.device, "batch_tokens": config.batch_size * config.context_length,
               "parameters": ours.num_parameters(), "torch": torch.__version__,
               "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None}
    results["torch_twin"] = timed(twin_step, batches, args.warmup, args.max_seconds)
    results["hyperion"] = timed(ours_step, batches, args.warmup, args.max_seconds)
    ratio = results["torch_twin"]["tokens_per_s"] / results["hyperion"]["tokens_per_s"]
    results["torch_over_hyperion"] = ratio
    for name in ("hyperion", "torch_twin"):
        r = results[name]
        print(f"{name:10s} {r['tokens_per_s']:12,.0f} tokens/s  ({r['steps']} steps in {r['seconds']:.1f} s; "
              f"loss {r['losses'][0]:.3f} -> {r['losses'][-1]:.3f})")
    print(f"config {args.config} ({results['parameters']:,} parameters, {results['batch_tokens']} tokens/batch) on "
          f"{results['gpu'] or args.device}: PyTorch twin / Hyperion = {ratio:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
