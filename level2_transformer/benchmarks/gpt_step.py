"""One GPT training step (forward + backward + AdamW) in Hyperion vs its PyTorch twin, side by side.

    python level2_transformer/benchmarks/gpt_step.py                 # the issue's config, batch 32
    python level2_transformer/benchmarks/gpt_step.py --quick         # fewer repeats
    python level2_transformer/benchmarks/gpt_step.py --profile       # + where Hyperion's time goes
    python level2_transformer/benchmarks/gpt_step.py --threads 1     # one BLAS thread for both

Both frameworks get the same weights, batch and thread count (``--threads``, default: all cores;
numpy's OpenBLAS via ``OPENBLAS_NUM_THREADS``, set before numpy loads, and torch.set_num_threads);
the two alternate in one process and the best of several repeats is kept, so the *ratio* is the
result. Absolute CPU times on a shared machine are noise; only the ratio is meant to be quoted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if "--threads" in sys.argv:  # must precede the first numpy import to reach OpenBLAS
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = sys.argv[sys.argv.index("--threads") + 1]

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from torch_gpt import twin_of  # noqa: E402

from hyperion.optim import AdamW  # noqa: E402
from hyperion.transformer.gpt import GPT, GPTConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--positional", default="learned", choices=("learned", "rope"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = GPTConfig(vocab_size=65, context_length=128, n_layer=4, n_head=4, n_embd=128,
                    positional=args.positional)
    ours = GPT(cfg)
    twin = twin_of(ours, torch.float32)
    rng = np.random.default_rng(0)
    x = rng.integers(0, cfg.vocab_size, (args.batch, cfg.context_length))
    y = rng.integers(0, cfg.vocab_size, (args.batch, cfg.context_length))
    tx, ty = torch.tensor(x), torch.tensor(y)
    opt = AdamW(ours.parameters(), lr=1e-3)
    topt = torch.optim.AdamW(twin.parameters(), lr=1e-3)

    def step_ours() -> None:
        opt.zero_grad()
        _, loss = ours(x, y)
        loss.backward()
        opt.step()

    def step_torch() -> None:
        topt.zero_grad()
        _, loss = twin(tx, ty)
        loss.backward()
        topt.step()

    repeats, number = (3, 2) if args.quick else (5, 3)
    best = {"hyperion": float("inf"), "torch": float("inf")}
    step_ours(), step_torch()  # warm up
    for _ in range(repeats):
        for name, fn in (("hyperion", step_ours), ("torch", step_torch)):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / number)
    print(f"GPT step, {cfg}, batch {args.batch}, float32, {torch.get_num_threads()} threads")
    print("| framework | s / step (best) | ratio to torch |")
    print("|---|---|---|")
    for name, t in best.items():
        print(f"| {name} | {t:.3f} | {t / best['torch']:.2f} |")
    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx("for _ in range(3): step_ours()", globals(), locals(), "/tmp/gpt_step.prof")
        pstats.Stats("/tmp/gpt_step.prof").sort_stats("tottime").print_stats(18)


if __name__ == "__main__":
    main()
