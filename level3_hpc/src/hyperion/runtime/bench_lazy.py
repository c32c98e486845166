"""Kernels per GPT training step, eager ops vs lazy kernels; and, with ``--time``, eager vs lazy step times.

    python -m hyperion.runtime.bench_lazy [--device cpu] [--batch 2] [--context 32]
    python -m hyperion.runtime.bench_lazy --time [--rounds 7] [--batch 2] [--context 32]

Counts: the level-2 GPT of ``gpt_bench.CONFIG`` (6 layers, d=384) with level 1's composed Functions, one
forward + loss + backward eagerly, then twice under ``lazy(device, interpret=True)``: the counts do
not depend on the sizes, so a small batch and context keep this quick on a CPU.

Times (``--time``, any device): two training steps, each run eagerly and under ``lazy(device)`` with
generated kernels (numba on the CPU) in alternation, ``rounds`` times after the first lazy step (which
compiles; its time is reported apart): level 1's MLP step (784-256-10, batch 128, cross-entropy, SGD;
``examples.bench.mlp_step``) and the GPT step above (``zero_grad``, forward, loss, backward).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from collections.abc import Callable

import numpy as np


def _mlp_step(device: str) -> Callable[[], float]:
    import hyperion.tensor as ht
    from hyperion import nn, optim

    rng = np.random.default_rng(0)
    ht.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).to(device)
    opt, loss_fn = optim.SGD(model.parameters(), lr=0.01), nn.CrossEntropyLoss()
    x = ht.tensor(rng.standard_normal((128, 784), dtype=np.float32), device=device)
    y = ht.tensor(rng.integers(0, 10, 128), device=device)

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def step_times(device: str, rounds: int, batch: int, context: int, parts: tuple[str, ...] = ("mlp", "gpt")) -> dict:
    """Eager and lazy ms per step (medians over ``rounds`` alternations) and the compiling first lazy step,
    for the ``parts`` asked ("mlp", "gpt")."""
    from hyperion.kernels.gpt_bench import CONFIG
    from hyperion.runtime.bench_gpu import _gpt_step
    from hyperion.runtime.lazy import lazy

    steps = {}
    if "mlp" in parts:
        steps["MLP 784-256-10, batch 128, SGD"] = _mlp_step(device)
    if "gpt" in parts:
        _, gpt, _ = _gpt_step(batch, context, device=device, config={**CONFIG, "context_length": context})
        steps[f"GPT (6 layers, d=384), B={batch}, T={context}"] = lambda: gpt().item()
    result = {}
    for name, step in steps.items():
        step()  # eager warm-up
        start = time.perf_counter()
        with lazy(device) as stats:
            step()
        first = time.perf_counter() - start
        eager, lazy_ms = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            step()
            eager.append((time.perf_counter() - start) * 1e3)
            start = time.perf_counter()
            with lazy(device) as run:
                step()
            lazy_ms.append((time.perf_counter() - start) * 1e3)
        result[name] = {"eager_ms": statistics.median(eager), "lazy_ms": statistics.median(lazy_ms),
                        "first_lazy_s": first, "compiled_first": stats.compiles, "compiled_after": run.compiles,
                        "kernels": run.kernels, "eager_ops": run.eager_kernels}
        r = result[name]
        print(f"{name}: eager {r['eager_ms']:.1f} ms, lazy {r['lazy_ms']:.1f} ms "
              f"({r['lazy_ms'] / r['eager_ms']:.2f}x; {r['kernels']} kernels for {r['eager_ops']} eager ops); "
              f"first lazy step {first:.1f} s compiling {r['compiled_first']} kernels, "
              f"{r['compiled_after']} compiled in the last", flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    import hyperion.tensor as ht
    from hyperion.kernels.gpt_bench import CONFIG
    from hyperion.runtime.lazy import lazy
    from hyperion.transformer.gpt import GPT, GPTConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--context", type=int, default=32)
    parser.add_argument("--time", action="store_true", help="time eager and lazy steps instead of counting")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    if args.time:
        step_times(args.device, args.rounds, args.batch, args.context)
        return
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
