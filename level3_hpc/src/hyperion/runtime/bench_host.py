"""Is the level-1 MLP epoch on the CPU steady, and is glibc's malloc to blame when it is not?

    python -m hyperion.runtime.bench_host --runs 4 --batches 20      # interleaved fresh processes

Each run is a fresh process (the malloc state is per process) that trains the level-1 MNIST MLP
(784-512-256-10, dropout, AdamW, batch 128) on synthetic batches for a few epochs and reports each
epoch's seconds and minor page faults (``ru_minflt``). Variants, interleaved run by run: Hyperion
as it ships (``hyperion.tensor.backend.steady_host_malloc`` fixes glibc's mmap and trim thresholds
at import); Hyperion with glibc's defaults (``HYPERION_MALLOC=default``); the PyTorch twin with
glibc's defaults (``HYPERION_MALLOC=default`` too, since its process imports this module). Thousands
of page faults per epoch after the first mean the allocator returns memory to the kernel and faults
it back (mmap/munmap or heap trimming); tens mean it does not.

The summary compares steady-state epochs (every epoch but each process's first): the median per
variant, each run's median, and Hyperion-as-shipped over PyTorch. ``--batches 469`` is one real epoch
of MNIST at batch 128 (60,000 images).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

VARIANTS = (("hyperion", "steady"), ("hyperion", "glibc defaults"), ("torch", "glibc defaults"))


def one_run(lib: str, mode: str, epochs: int, batches: int) -> dict:
    import resource
    import time

    import numpy as np

    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((128, 784), dtype=np.float32), rng.integers(0, 10, 128)) for _ in range(batches)]
    if lib == "torch":
        import torch

        nn = torch.nn
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 256), nn.ReLU(),
                              nn.Dropout(0.2), nn.Linear(256, 10))  # build_model("mlp"), without importing it
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        data = [(torch.tensor(x), torch.tensor(y)) for x, y in data]
        loss_fn = torch.nn.functional.cross_entropy
    else:
        import hyperion.tensor as ht
        from hyperion import nn, optim
        from hyperion.examples.mnist import build_model
        from hyperion.tensor.backend import STEADY_HOST_MALLOC

        assert STEADY_HOST_MALLOC == (mode == "steady"), "the variant did not get the malloc it names"

        ht.manual_seed(0)
        model = build_model("mlp")
        opt = optim.AdamW(model.parameters(), lr=1e-3)
        data = [(ht.tensor(x), ht.tensor(y)) for x, y in data]
        loss_fn = nn.functional.cross_entropy
    seconds, faults = [], []
    for _ in range(epochs):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        model.train()
        for x, y in data:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    return {"lib": lib, "mode": mode, "seconds": seconds, "faults": faults}


def summarize(rows: list[dict]) -> dict:
    """Steady-state epoch seconds per variant (first epoch of each process dropped) and the ratio of
    Hyperion as shipped to PyTorch; ``spread`` is the largest over the smallest per-run median."""
    variants: dict[str, dict] = {}
    for row in rows:
        name = f"{row['lib']} ({row['mode']})"
        steady = row["seconds"][1:] or row["seconds"]
        variants.setdefault(name, {"runs": []})["runs"].append(statistics.median(steady))
    for v in variants.values():
        v["median"] = statistics.median(v["runs"])
        v["spread"] = max(v["runs"]) / min(v["runs"])
    ours, torch = variants.get("hyperion (steady)"), variants.get("torch (glibc defaults)")
    ratio = ours["median"] / torch["median"] if ours and torch else None
    return {"variants": variants, "hyperion_over_torch": ratio}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None, help="write every run and the summary here")
    parser.add_argument("--child", nargs=2, metavar=("LIB", "MODE"))
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one_run(*args.child, args.epochs, args.batches)))
        return
    print("| run | variant | epoch seconds | minor page faults per epoch |\n|---|---|---|---|")
    rows = []
    for run in range(args.runs):
        for lib, mode in VARIANTS:
            cmd = [sys.executable, "-m", "hyperion.runtime.bench_host", "--child", lib, mode,
                   "--epochs", str(args.epochs), "--batches", str(args.batches)]
            env = dict(os.environ, HYPERION_MALLOC="steady" if mode == "steady" else "default")
            r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout)
            rows.append(dict(r, run=run))
            secs = ", ".join(f"{s:.2f}" for s in r["seconds"])
            print(f"| {run} | {lib} ({mode}) | {secs} | {', '.join(map(str, r['faults']))} |", flush=True)
    summary = summarize(rows)
    print("\nsteady-state epoch (first epoch of each process dropped): median over runs [per-run medians]")
    for name, v in summary["variants"].items():
        runs = ", ".join(f"{x:.3f}" for x in v["runs"])
        print(f"  {name}: {v['median']:.3f} s [{runs}], largest/smallest run {v['spread']:.2f}")
    if summary["hyperion_over_torch"] is not None:
        print(f"Hyperion as shipped / PyTorch: {summary['hyperion_over_torch']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "runs": rows,
                                         "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
