"""The MNIST CNN epoch (level 1's model, batch 128, AdamW) three ways, side by side in one process.

    python -m hyperion.kernels.conv_cpu.bench            # 3 rounds of full epochs (469 batches): minutes
    python -m hyperion.kernels.conv_cpu.bench --quick    # 3 rounds of 60-batch epochs

Each round runs one epoch of level 1's numpy Functions, one with this folder's compiled ``Conv2d``,
``MaxPool2d`` and ``ReLU`` (``use_cpu_kernels()``), and one of PyTorch's, in a rotating order; the table gives each
one's median and the paired ratios (median over rounds of ours / PyTorch's in the same round). The two
Hyperion modes train the same model on in turn; PyTorch starts from the same weights.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics

MODES = ("level 1 (numpy)", "compiled (level 3)", "PyTorch")


def run(quick: bool, rounds: int, batches: int | None = None) -> dict:
    import numba
    import numpy as np
    import torch

    from hyperion import nn
    from hyperion.examples.bench import mnist_setup, run_epoch, timed
    from hyperion.runtime.backend import use_cpu_kernels

    torch.set_num_threads(os.cpu_count() or 1)
    (ours, opt_ours, data), (theirs, opt_theirs, theirs_data) = mnist_setup("cnn", quick)
    batches, theirs_batches = data[:batches], theirs_data[:batches]  # (None: all of them)

    def epoch(mode: str) -> float:
        if mode == "PyTorch":
            return timed(lambda: run_epoch(theirs, opt_theirs, theirs_batches, torch.nn.functional.cross_entropy))
        use_cpu_kernels(mode.startswith("compiled"))
        try:
            return timed(lambda: run_epoch(ours, opt_ours, batches, nn.functional.cross_entropy))
        finally:
            use_cpu_kernels(False)

    for mode in MODES:  # warm-up: numba compiles (or loads its cache), BLAS and OpenMP threads start
        use_cpu_kernels(mode.startswith("compiled"))
        run_epoch(ours, opt_ours, batches[:2], nn.functional.cross_entropy)
        use_cpu_kernels(False)
    run_epoch(theirs, opt_theirs, theirs_batches[:2], torch.nn.functional.cross_entropy)

    seconds: dict[str, list[float]] = {m: [] for m in MODES}
    for r in range(rounds):
        for mode in MODES[r % 3:] + MODES[: r % 3]:
            seconds[mode].append(epoch(mode))
            print(f"round {r}: {mode} {seconds[mode][-1]:.2f} s", flush=True)
    torch_s = np.array(seconds["PyTorch"])
    return {
        "batches": len(batches), "rounds": rounds, "torch_threads": torch.get_num_threads(),
        "numba_threads": numba.get_num_threads(), "numba_threading_layer": numba.config.THREADING_LAYER,
        "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
        "numpy": np.__version__, "torch": torch.__version__, "numba": numba.__version__,
        "seconds": seconds,
        "median_s": {m: statistics.median(v) for m, v in seconds.items()},
        "vs_torch_paired": {m: float(np.median(np.array(v) / torch_s)) for m, v in seconds.items() if m != "PyTorch"},
    }


def markdown(result: dict) -> str:
    lines = [f"MNIST CNN epoch ({result['batches']} batches of 128, AdamW), {result['rounds']} rounds, "
             f"{result['cpu_count']} cores (numba {result['numba_threads']} threads, "
             f"{result['numba_threading_layer']}; PyTorch {result['torch_threads']})", "",
             "| mode | median s | vs PyTorch (paired) |", "|---|---|---|"]
    for mode in MODES:
        ratio = result["vs_torch_paired"].get(mode)
        lines.append(f"| {mode} | {result['median_s'][mode]:.2f} | {f'{ratio:.2f}×' if ratio else '1'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60-batch epochs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, help="only the first N batches of each epoch (a smoke run)")
    parser.add_argument("--out", help="also write the result as JSON here")
    args = parser.parse_args(argv)
    result = run(args.quick, args.rounds, args.batches)
    print(markdown(result))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
