"""Train an MLP or a CNN on the real MNIST with Hyperion alone.

    python -m hyperion.examples.mnist --model mlp        # >= 98.0% test accuracy
    python -m hyperion.examples.mnist --model cnn        # >= 99.0% test accuracy

Prints a progress bar and, per epoch, the train loss and test accuracy; writes a checkpoint
(model + optimizer state), ``curves.png`` (loss and accuracy) and ``confusion.png`` into ``--out``,
and ends with one line holding the test accuracy and the wall time. Seeded and reproducible.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hyperion import nn, optim
from hyperion.data import MNIST, MNIST_MEAN, MNIST_STD, DataLoader, Subset
from hyperion.data import transforms as T
from hyperion.examples.training import confusion_matrix, predict, train_epoch
from hyperion.nn import functional as F
from hyperion.tensor import manual_seed


@dataclass(frozen=True)
class Recipe:
    """Default settings per model: the ones the recorded results were produced with."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float


RECIPES = {
    "mlp": Recipe(epochs=12, batch_size=128, lr=1e-3, weight_decay=1e-4),
    "cnn": Recipe(epochs=4, batch_size=128, lr=2e-3, weight_decay=1e-4),
}


def build_model(name: str, lib: Any = nn) -> Any:
    """784-512-256-10 MLP with dropout, or a two-conv-layer CNN (about 420k parameters).

    ``lib`` is the layer library: ``hyperion.nn``, or ``torch.nn`` for the benchmark's identical twin
    (the two share names, arguments and parameter layouts).
    """
    if name == "mlp":
        return lib.Sequential(
            lib.Linear(784, 512),
            lib.ReLU(),
            lib.Dropout(0.2),
            lib.Linear(512, 256),
            lib.ReLU(),
            lib.Dropout(0.2),
            lib.Linear(256, 10),
        )
    if name == "cnn":
        return lib.Sequential(
            lib.Conv2d(1, 32, 3, padding=1),
            lib.ReLU(),
            lib.MaxPool2d(2),  # 32 x 14 x 14
            lib.Conv2d(32, 64, 3, padding=1),
            lib.ReLU(),
            lib.MaxPool2d(2),  # 64 x 7 x 7
            lib.Flatten(),
            lib.Dropout(0.25),
            lib.Linear(64 * 7 * 7, 128),
            lib.ReLU(),
            lib.Dropout(0.25),
            lib.Linear(128, 10),
        )
    raise ValueError(f"unknown model {name!r}; choose 'mlp' or 'cnn'")


def loaders(
    model: str,
    batch_size: int,
    seed: int,
    subset: int | None,
    test_subset: int | None,
    root: str | None,
    kind: str,
) -> tuple[DataLoader, DataLoader]:
    shape = T.Flatten() if model == "mlp" else T.Reshape(1, 28, 28)
    transform = T.Compose([T.ToFloat(), T.Normalize(MNIST_MEAN, MNIST_STD), shape])
    train = MNIST("train", root=root, kind=kind, transform=transform)
    test = MNIST("test", root=root, kind=kind, transform=transform)
    if subset is not None:
        train = Subset(train, np.random.default_rng(seed).permutation(len(train))[:subset])
    if test_subset is not None:
        test = Subset(test, np.arange(test_subset))
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True, seed=seed),
        DataLoader(test, batch_size=1000),
    )


class OnDevice:
    """A loader whose batches are moved to ``device`` as they are drawn."""

    def __init__(self, loader: DataLoader, device: str) -> None:
        self.loader, self.device, self.dataset = loader, device, loader.dataset

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        return ((x.to(self.device), y.to(self.device)) for x, y in self.loader)


def save_plots(history: dict[str, list[float]], matrix: np.ndarray, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history["train_loss"], marker="o")
    left.set(xlabel="epoch", ylabel="train loss (cross-entropy)", title="Training loss")
    right.plot(epochs, [100 * a for a in history["test_accuracy"]], marker="o", color="tab:green")
    right.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy")
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    fig.tight_layout()
    fig.savefig(out / "curves.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 5))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set(
        xlabel="predicted", ylabel="true", title="Confusion matrix (test)", xticks=range(10), yticks=range(10)
    )
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            str(value),
            ha="center",
            va="center",
            fontsize=7,
            color="white" if value > matrix.max() / 2 else "black",
        )
    fig.colorbar(image)
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=120)
    plt.close(fig)


def save_checkpoint(path: Path, model: nn.Module, optimizer: optim.Optimizer, epoch: int) -> None:
    """Model weights and optimizer state (moments, step counts, hyper-parameters) in one ``.npz``."""
    arrays = {f"model/{k}": np.asarray(v) for k, v in model.state_dict().items()}
    state = optimizer.state_dict()
    for index, entry in state["state"].items():
        for key, value in entry.items():
            arrays[f"optim/{index}/{key}"] = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    meta = {"epoch": epoch, "param_groups": state["param_groups"]}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def run(args: argparse.Namespace) -> float:
    recipe = RECIPES[args.model]
    # an option given on the command line wins, even 0 (``or`` would turn --lr 0 into the recipe's rate)
    epochs = recipe.epochs if args.epochs is None else args.epochs
    batch_size = recipe.batch_size if args.batch_size is None else args.batch_size
    lr = recipe.lr if args.lr is None else args.lr
    out = Path(f"runs/mnist-{args.model}" if args.out is None else args.out)
    out.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    manual_seed(args.seed)
    train_loader, test_loader = loaders(
        args.model, batch_size, args.seed, args.subset, args.test_subset, args.data_root, args.dataset
    )
    model = build_model(args.model).to(args.device)
    if args.device != "cpu":
        train_loader, test_loader = OnDevice(train_loader, args.device), OnDevice(test_loader, args.device)
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=recipe.weight_decay)
    steps = epochs * len(train_loader)
    scheduler = optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + np.cos(np.pi * min(step, steps) / steps))
    )
    print(
        f"{args.model}: {sum(p.numel() for p in model.parameters()):,} parameters, {len(train_loader.dataset):,} "
        f"training images, {epochs} epochs, batch {batch_size}, AdamW lr {lr}, on {args.device}"
    )

    from tqdm import tqdm

    history: dict[str, list[float]] = {"train_loss": [], "test_accuracy": []}
    for epoch in range(1, epochs + 1):
        with tqdm(
            total=len(train_loader),
            desc=f"epoch {epoch}/{epochs}",
            unit="batch",
            leave=False,
            disable=args.quiet,
        ) as bar:

            def on_batch(loss: float) -> None:
                scheduler.step()
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                bar.update()

            loss = train_epoch(model, train_loader, optimizer, F.cross_entropy, on_batch)
        predicted, actual = predict(model, test_loader)
        accuracy = float(np.mean(predicted == actual))
        history["train_loss"].append(loss)
        history["test_accuracy"].append(accuracy)
        print(
            f"epoch {epoch:2d}  train loss {loss:.4f}  test accuracy {100 * accuracy:.2f}%  "
            f"({time.perf_counter() - start:.0f} s)"
        )
        save_checkpoint(out / "checkpoint.npz", model, optimizer, epoch)

    save_plots(history, confusion_matrix(predicted, actual, 10), out)
    (out / "history.json").write_text(json.dumps(history, indent=2))
    wall = time.perf_counter() - start
    print(
        f"final: model {args.model}  test accuracy {100 * accuracy:.2f}%  wall time {wall:.1f} s  "
        f"(outputs in {out})"
    )
    return accuracy


def _at_least(low: float, kind: type):
    """An argparse type: ``kind(text)``, refused with a clear message below ``low``."""

    def parse(text: str):
        value = kind(text)
        if not value >= low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its "invalid int value" message
    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Every option given is used as given (``--lr 0`` trains with rate 0) or refused; omitted: the recipe's."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(RECIPES), default="mlp")
    parser.add_argument("--epochs", type=_at_least(1, int), help="default: the model's recipe")
    parser.add_argument("--batch-size", type=_at_least(1, int), help="default: the model's recipe")
    parser.add_argument("--lr", type=_at_least(0.0, float), help="peak learning rate (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--subset", type=_at_least(1, int),
                        help="train on the first N of a seeded shuffle (quick runs)")
    parser.add_argument("--test-subset", type=_at_least(1, int), help="evaluate on the first N test images")
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist", "idx"])
    parser.add_argument("--data-root", help="directory with IDX files (default: the bundled MNIST)")
    parser.add_argument("--out", help="output directory (default: runs/mnist-MODEL)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    run(parse_args(argv))


if __name__ == "__main__":
    main()
