"""Training and evaluation of an FNO on hyperion.tensor: the paper's protocol in one function.

Loss: the relative L2 error ``||u_pred - u|| / ||u||`` summed over the batch (the authors' ``LpLoss``
with ``size_average=False``); reported errors are its mean over samples. Optimiser: Adam, learning
rate 1e-3, L2 weight decay 1e-4 (the authors' scripts), halved every ``step_size`` epochs. Adam runs
as :class:`~hyperion.repro.fno.flat_adam.FlatAdam`: the same update over one flat parameter buffer.
A training step is a :mod:`~hyperion.repro.fno.step` object: on CUDA one replayed CUDA graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import hyperion.tensor as ht
from hyperion import nn
from hyperion.optim.lr_scheduler import StepLR
from hyperion.repro.fno.flat_adam import FlatAdam
from hyperion.repro.fno.step import EagerStep, make_step


def relative_l2(pred: ht.Tensor, target: ht.Tensor) -> ht.Tensor:
    """Sum over the batch of ``||pred - target|| / ||target||`` (norms over all non-batch dimensions)."""
    if pred.shape != target.shape:
        raise ht.ShapeError(f"relative_l2: prediction {pred.shape} and target {target.shape} differ")
    dims = tuple(range(1, pred.ndim))
    return (((pred - target) ** 2).sum(dims).sqrt() / (target**2).sum(dims).sqrt()).sum()


@dataclass
class History:
    """Mean relative L2 on the training set per epoch and on the test set at ``test_epochs``; seconds per epoch."""

    train: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    test_epochs: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    step: str = ""  # the kind of training step: GraphStep (CUDA graph) or EagerStep
    capture_error: str | None = None  # why a GraphStep fell back to eager steps, if it did


def evaluate(model: nn.Module, inputs: ht.Tensor, targets: ht.Tensor, batch_size: int = 20) -> float:
    """Mean relative L2 error of ``model`` over ``inputs``/``targets`` (tensors on the model's device)."""
    with ht.no_grad():
        errors = [relative_l2(model(inputs[start : start + batch_size]), targets[start : start + batch_size])
                  for start in range(0, inputs.shape[0], batch_size)]
        return float(ht.stack(errors).sum().item()) / inputs.shape[0]


def predict(model: nn.Module, inputs: ht.Tensor, batch_size: int = 20) -> np.ndarray:
    with ht.no_grad():
        batches = [model(inputs[s : s + batch_size]) for s in range(0, inputs.shape[0], batch_size)]
        return np.concatenate([batch.cpu().numpy() for batch in batches])


def run_epoch(step: EagerStep, x: ht.Tensor, y: ht.Tensor, order: np.ndarray, batch_size: int = 20) -> float:
    """One epoch of full batches (as ``drop_last``) in the sample order ``order``; returns the summed loss.

    The data are permuted once per epoch (one gather each for ``x`` and ``y``) and the batches are
    contiguous slices of the permuted copy: a gather with a device index checks its range on the host,
    which would stop the GPU's queue at every step. The losses are summed on the device by ``step``
    and read once, at the end.
    """
    index = ht.tensor(order, device=x.device)
    xs, ys = x[index], y[index]
    step.take_total()
    for first in range(0, len(order) - batch_size + 1, batch_size):
        step(xs[first : first + batch_size], ys[first : first + batch_size])
    return step.take_total()


def training_step(model: nn.Module, x: ht.Tensor, y: ht.Tensor, batch_size: int = 20, lr: float = 1e-3,
                  weight_decay: float = 1e-4, graph: bool = True) -> EagerStep:
    """The relative-L2 step with FlatAdam for batches of ``batch_size`` samples shaped like ``x``/``y``."""
    optimizer = FlatAdam(model.parameters(), lr=lr, weight_decay=weight_decay)
    return make_step(model, optimizer, relative_l2, (batch_size, *x.shape[1:]), (batch_size, *y.shape[1:]),
                     x.device, graph)


def train(model: nn.Module, train_x: ht.Tensor, train_y: ht.Tensor, test_x: ht.Tensor, test_y: ht.Tensor,
          epochs: int, batch_size: int = 20, lr: float = 1e-3, step_size: int = 100, gamma: float = 0.5,
          weight_decay: float = 1e-4, seed: int = 0, log: Callable[[int, History], None] | None = None,
          eval_every: int = 1, should_stop: Callable[[], bool] | None = None, graph: bool = True) -> History:
    """Train ``model`` in place with the paper's protocol; the test error is measured every ``eval_every``
    epochs and after the last (the time it takes is not part of ``History.seconds``). ``should_stop``
    (asked after each epoch) ends the run early, e.g. at a wall-clock deadline: ``len(History.train)``
    then says how many epochs ran. ``graph=False`` keeps CUDA steps eager (op by op)."""
    step = training_step(model, train_x, train_y, batch_size, lr, weight_decay, graph)
    scheduler = StepLR(step.optimizer, step_size=step_size, gamma=gamma)
    rng = np.random.default_rng(seed)
    count, history = train_x.shape[0], History(step=type(step).__name__)
    for epoch in range(epochs):
        start = time.perf_counter()
        total = run_epoch(step, train_x, train_y, rng.permutation(count), batch_size)
        scheduler.step()
        history.train.append(total / (count - count % batch_size))
        history.seconds.append(time.perf_counter() - start)
        stop = should_stop is not None and epoch < epochs - 1 and should_stop()
        if epoch % eval_every == 0 or epoch == epochs - 1 or stop:
            history.test.append(evaluate(model, test_x, test_y, batch_size))
            history.test_epochs.append(epoch)
        history.capture_error = getattr(step, "capture_error", None)
        if log is not None:
            log(epoch, history)
        if stop:
            break
    return history
