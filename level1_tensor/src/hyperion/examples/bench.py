"""Level 1 benchmarks: ratios measured side by side in one run, printed as markdown tables.

    python -m hyperion.examples.bench            # everything (full MNIST epochs: minutes)
    python -m hyperion.examples.bench --quick    # fewer repeats, 60-batch "epochs" (seconds)

1. Per-op framework overhead: the same op through Hyperion and as a bare numpy call.
2. One MLP (784-256-10, batch 128) training step: forward + backward + SGD, vs PyTorch CPU.
3. MNIST epoch time of the reference MLP and CNN vs identical PyTorch models (same architecture,
   batch size, data order and thread count).

Each timing is the best of several repeats (the least disturbed by a noisy machine), and ours and
the baseline alternate within one process so both see the same machine state.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np


def best_of(
    fn: Callable[[], object], repeats: int, number: int, sync: Callable[[], None] = lambda: None
) -> float:
    """Best mean seconds per call over ``repeats`` runs of ``number`` calls (``sync`` waits for a GPU)."""
    fn()
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        sync()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _numpy_softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def op_overhead(quick: bool) -> str:
    import hyperion.tensor as ht
    import hyperion.tensor.functional as F

    rng = np.random.default_rng(0)
    rows = []
    for n in (16, 256):
        a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
        ta, tb = ht.tensor(a), ht.tensor(b)
        cases = {
            "add": (lambda: ta + tb, lambda: a + b),
            "mul": (lambda: ta * tb, lambda: a * b),
            "exp": (lambda: ta.exp(), lambda: np.exp(a)),
            "sum(dim=1)": (lambda: ta.sum(1), lambda: a.sum(1)),
            "matmul": (lambda: ta @ tb, lambda: a @ b),
            "transpose (view)": (lambda: ta.T, lambda: a.T),
            "softmax(dim=1)": (lambda: F.softmax(ta, 1), lambda: _numpy_softmax(a)),
        }
        number = 200 if quick else 2000
        for name, (ours, base) in cases.items():
            t_ours, t_base = (
                best_of(ours, 3 if quick else 7, number),
                best_of(base, 3 if quick else 7, number),
            )
            rows.append(
                [
                    name,
                    f"{n}x{n}",
                    f"{t_ours * 1e6:.1f}",
                    f"{t_base * 1e6:.1f}",
                    f"{t_ours / t_base:.2f}x",
                    f"{(t_ours - t_base) * 1e6:+.1f}",
                ]
            )
    return table(
        "Per-op overhead vs numpy (forward, no grad)",
        ["op", "shape", "hyperion µs", "numpy µs", "ratio", "overhead µs"],
        rows,
    )


def mlp_step(quick: bool, device: str = "cpu") -> str:
    import torch

    import hyperion.tensor as ht
    from hyperion import nn, optim

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((128, 784), dtype=np.float32), rng.integers(0, 10, 128)
    ours = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    theirs = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    opt_ours, opt_theirs = (
        optim.SGD(ours.parameters(), lr=0.01),
        torch.optim.SGD(theirs.parameters(), lr=0.01),
    )
    ours.to(device)
    theirs.to(device)
    hx, hy = ht.tensor(x, device=device), ht.tensor(y, device=device)
    tx, ty = torch.tensor(x, device=device), torch.tensor(y, device=device)
    def sync() -> None:  # the backend knows how to wait for its device; torch for its own
        ht.get_backend(device).synchronize()
        if tx.is_cuda:
            torch.cuda.synchronize()

    loss_ours, loss_theirs = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()

    def step_ours() -> None:
        opt_ours.zero_grad()
        loss_ours(ours(hx), hy).backward()
        opt_ours.step()

    def step_theirs() -> None:
        opt_theirs.zero_grad()
        loss_theirs(theirs(tx), ty).backward()
        opt_theirs.step()

    number, repeats = (50, 3) if quick else (300, 7)
    t_ours, t_theirs = [], []
    for _ in range(repeats):  # alternate so both see the same machine state
        t_ours.append(best_of(step_ours, 1, number, sync))
        t_theirs.append(best_of(step_theirs, 1, number, sync))
    a, b = min(t_ours), min(t_theirs)
    return table(
        f"MLP 784-256-10, batch 128: forward + backward + SGD step on {device}",
        ["framework", "ms / step", "ratio to PyTorch"],
        [["hyperion", f"{a * 1e3:.3f}", f"{a / b:.2f}x"], [f"PyTorch ({device})", f"{b * 1e3:.3f}", "1.00x"]],
    )


def epoch_times(quick: bool) -> str:
    import torch

    from hyperion import nn

    rows = []
    for model_name in ("mlp", "cnn"):
        (ours, opt_ours, ours_batches), (theirs, opt_theirs, theirs_batches) = mnist_setup(model_name, quick)
        t_ours = timed(lambda: run_epoch(ours, opt_ours, ours_batches, nn.functional.cross_entropy))
        t_theirs = timed(
            lambda: run_epoch(theirs, opt_theirs, theirs_batches, torch.nn.functional.cross_entropy)
        )
        label = f"{len(ours_batches)} batches" + ("" if quick else " (full epoch)")
        rows.append([model_name, label, f"{t_ours:.2f}", f"{t_theirs:.2f}", f"{t_ours / t_theirs:.2f}x"])
    return table(
        f"MNIST epoch, batch 128, AdamW, {torch.get_num_threads()} threads",
        ["model", "work", "hyperion s", "PyTorch s", "ratio"],
        rows,
    )


def mnist_setup(model_name: str, quick: bool, seed: int = 0) -> tuple[tuple, tuple]:
    """``(model, AdamW, batches)`` for Hyperion and for PyTorch: the same MNIST batches (128, shuffled with
    ``seed``; 60 of them when ``quick``) and the same initial weights."""
    import torch

    import hyperion.tensor as ht
    from hyperion import optim
    from hyperion.data import MNIST, MNIST_MEAN, MNIST_STD, DataLoader
    from hyperion.data import transforms as T
    from hyperion.examples.mnist import build_model

    shape = T.Flatten() if model_name == "mlp" else T.Reshape(1, 28, 28)
    data = MNIST("train", transform=T.Compose([T.ToFloat(), T.Normalize(MNIST_MEAN, MNIST_STD), shape]))
    batches = list(DataLoader(data, batch_size=128, shuffle=True, seed=seed, as_tensor=False))
    if quick:
        batches = batches[:60]
    ht.manual_seed(seed)
    ours = build_model(model_name)
    theirs = build_model(model_name, lib=torch.nn)
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    return ((ours, optim.AdamW(ours.parameters(), lr=1e-3), [(ht.tensor(x), ht.tensor(y)) for x, y in batches]),
            (theirs, torch.optim.AdamW(theirs.parameters(), lr=1e-3),
             [(torch.tensor(x), torch.tensor(y)) for x, y in batches]))


def run_epoch(model, optimizer, batches, loss_fn) -> None:
    """One pass of training steps, written the same way for both frameworks."""
    model.train()
    for x, y in batches:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Hyperion level 1 benchmarks")
    parser.add_argument("--quick", action="store_true", help="few repeats and 60-batch epochs")
    parser.add_argument("--only", choices=["ops", "mlp", "epochs"], action="append")
    parser.add_argument("--out", help="also write the markdown to this file")
    parser.add_argument("--device", default="cpu", help="device of the MLP-step benchmark (cpu or cuda)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    parts = {"ops": op_overhead, "mlp": lambda quick: mlp_step(quick, args.device), "epochs": epoch_times}
    chosen = args.only or list(parts)
    header = (
        f"Hyperion level 1 benchmarks — numpy {np.__version__}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPU cores, quick={args.quick}\n"
    )
    print(header)
    report = [header]
    for name in chosen:
        section = parts[name](args.quick)
        print(section, flush=True)
        report.append(section)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(report))


if __name__ == "__main__":
    main()
