"""The training loop: the five lines every deep-learning program repeats, and evaluation.

For each mini-batch: clear the old gradients, run the model forward, measure the loss, run
backward to get fresh gradients, and let the optimizer take one step. Everything else (progress
bars, schedules, checkpoints) is decoration around these five lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from hyperion.tensor import no_grad


def train_epoch(
    model: Any,
    loader: Iterable[tuple[Any, Any]],
    optimizer: Any,
    loss_fn: Callable[[Any, Any], Any],
    on_batch: Callable[[float], None] | None = None,
) -> float:
    """Task 1.17: one pass over ``loader``; return the mean loss per *sample*.

    Put the model in training mode (``model.train()``: dropout active). For each batch ``(x, y)``:
    ``optimizer.zero_grad()``, ``out = model(x)``, ``loss = loss_fn(out, y)``, ``loss.backward()``,
    ``optimizer.step()``. Gradients accumulate unless cleared, which is why ``zero_grad`` comes
    first. Keep a running sum of ``loss.item() * len(y)`` (a last, smaller batch must weigh less)
    and call ``on_batch(loss.item())`` after each step if it is given (a progress bar hooks in here).
    """
    # BEGIN SOLUTION
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        value = float(loss.item())
        total += value * len(y)
        count += len(y)
        if on_batch is not None:
            on_batch(value)
    return total / max(count, 1)
    # END SOLUTION


def predict(model: Any, loader: Iterable[tuple[Any, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true labels over ``loader``, in evaluation mode and without a graph."""
    model.eval()
    predicted, actual = [], []
    with no_grad():
        for x, y in loader:
            predicted.append(model(x).argmax(1).numpy())
            actual.append(np.asarray(y.numpy() if hasattr(y, "numpy") else y))
    return np.concatenate(predicted), np.concatenate(actual)


def confusion_matrix(predicted: np.ndarray, actual: np.ndarray, classes: int) -> np.ndarray:
    """``matrix[true, predicted]`` counts."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (actual, predicted), 1)
    return matrix
