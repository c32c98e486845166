"""Kernels per GPT training step, eager ops vs lazy kernels (any device; counts, not times).

    python -m hyperion.runtime.bench_lazy [--device cpu] [--batch 2] [--context 32]

The level-2 GPT of ``gpt_bench.CONFIG`` (6 layers, d=384) with level 1's composed Functions, one
forward + loss + backward eagerly, then twice under ``lazy(device, interpret=True)``: the counts do
not depend on the sizes, so a small batch and context keep this quick on a CPU.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np


def main(argv: list[str] | None = None) -> None:
    import hyperion.tensor as ht
    from hyperion.kernels.gpt_bench import CONFIG
    from hyperion.runtime.lazy import lazy
    from hyperion.transformer.gpt import GPT, GPTConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--context", type=int, default=32)
    args = parser.parse_args(argv)
    config = {**CONFIG, "context_length": args.context}
    rng = np.random.default_rng(0)
    idx, tgt = (rng.integers(0, config["vocab_size"], (args.batch, args.context)) for _ in range(2))
    ht.manual_seed(0)
    model = GPT(GPTConfig(**config), device=args.device)
    x, y = ht.tensor(idx, device=args.device), ht.tensor(tgt, device=args.device)

    def step():
        model.zero_grad()
        _, loss = model(x, y)
        loss.backward()
        return loss.item()

    eager = step()
    for _ in range(2):
        with lazy(args.device, interpret=True) as run:
            loss = step()
    print(f"eager loss {eager:.6f}, lazy loss {loss:.6f}")
    print(f"eager ops {run.eager_kernels}, lazy kernels {run.kernels} ({run.fused} fused + "
          f"{run.kernels - run.fused} opaque): {run.kernels / run.eager_kernels:.3f}x")
    print("most common groups:", Counter(tuple(g.ops) for g in run.groups).most_common(6))


if __name__ == "__main__":
    main()
