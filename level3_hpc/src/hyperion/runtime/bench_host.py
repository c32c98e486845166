"""Is the level-1 MLP epoch on the CPU steady, and is glibc's malloc to blame when it is not?

    python -m hyperion.runtime.bench_host --runs 4 --batches 20      # interleaved fresh processes

Each run is a fresh process (the malloc state is per process) that trains the level-1 MNIST MLP
(784-512-256-10, dropout, AdamW, batch 128) on synthetic batches for a few epochs and reports each
epoch's seconds and minor page faults (``ru_minflt``). Variants, interleaved run by run: Hyperion
with glibc's defaults; Hyperion with ``mallopt(M_MMAP_THRESHOLD, 32 MiB)`` and
``mallopt(M_TRIM_THRESHOLD, 256 MiB)`` (what ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` set);
the PyTorch twin with defaults. Thousands of page faults per epoch after the first would mean the
allocator is returning memory to the kernel and faulting it back (mmap/munmap or heap trimming);
tens mean it is not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

VARIANTS = (("hyperion", "default"), ("hyperion", "mallopt"), ("torch", "default"))


def one_run(lib: str, mode: str, epochs: int, batches: int) -> dict:
    import ctypes
    import resource
    import time

    import numpy as np

    if mode == "mallopt":
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 2**20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 * 2**20)  # M_TRIM_THRESHOLD
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((128, 784), dtype=np.float32), rng.integers(0, 10, 128)) for _ in range(batches)]
    if lib == "torch":
        import torch

        from hyperion.examples.mnist import build_model

        torch.manual_seed(0)
        model = build_model("mlp", lib=torch.nn)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        data = [(torch.tensor(x), torch.tensor(y)) for x, y in data]
        loss_fn = torch.nn.functional.cross_entropy
    else:
        import hyperion.tensor as ht
        from hyperion import nn, optim
        from hyperion.examples.mnist import build_model

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--child", nargs=2, metavar=("LIB", "MODE"))
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one_run(*args.child, args.epochs, args.batches)))
        return
    print("| run | variant | epoch seconds | minor page faults per epoch |\n|---|---|---|---|")
    for run in range(args.runs):
        for lib, mode in VARIANTS:
            cmd = [sys.executable, "-m", "hyperion.runtime.bench_host", "--child", lib, mode,
                   "--epochs", str(args.epochs), "--batches", str(args.batches)]
            r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
            secs = ", ".join(f"{s:.2f}" for s in r["seconds"])
            print(f"| {run} | {lib} ({mode}) | {secs} | {', '.join(map(str, r['faults']))} |", flush=True)


if __name__ == "__main__":
    main()
