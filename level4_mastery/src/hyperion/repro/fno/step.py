"""One training step -- forward, loss, backward, Adam -- as a unit that a GPU can replay in one launch.

At the FNO's sizes a step is bound by the host, not the GPU: some 400 small kernels (82 ops forward
and backward, Adam's elementwise passes, the FFTs' copies), each launched from Python through
CuPy. Measured on the H200 before this module: 14.7 ms per Burgers step, against 8 ms for the
PyTorch twin. Every step launches the same kernels on the same shapes, so on CUDA
:class:`GraphStep` records them once (CuPy's stream capture, a CUDA graph) and then runs a whole
step with one launch -- what ``torch.cuda.graphs`` does for PyTorch code.

    step = make_step(model, optimizer, relative_l2, x_batch_shape, y_batch_shape, device)
    step(x, y)              # one optimisation step on this batch
    step.take_total()       # the summed loss of the steps since the last call (one host sync)

A replay reruns the recorded kernels on the recorded addresses with the recorded arguments, so:

* the batch is copied into two static input tensors before each launch;
* parameters and Adam's moments are updated in place (:class:`~hyperion.repro.fno.flat_adam.FlatAdam`);
* what changes from step to step on the host -- the step count and the learning rate, through Adam's
  bias corrections -- reaches the kernels through ``FlatAdam.scalars``, written by
  ``FlatAdam.prepare()`` before each launch, outside the graph;
* the step's intermediates (activations, gradients) come from a private memory pool that only the
  graph uses, kept alive with it, so nothing else is ever given those addresses;
* the capture itself is level 3's :class:`~hyperion.runtime.cuda_graph.CudaGraphStep`, the one that
  replays the GPT step: warm-up steps on its own stream and private memory pool (kernels compiled, cuFFT
  plans made), cuBLAS through a handle of its own (CuPy refuses cuBLAS inside a capture; the spectral
  layers' complex64 products go the same way), host constants staged in pinned memory. Its warm-ups are
  real steps on the first batch, so :class:`GraphStep` snapshots the parameters, Adam's moments and the
  loss sum before and restores them after: the first replay is the first step, as in the eager loop.

Launches go to the current stream, where every other op of the training loop runs (the permuted
data, the evaluation), so the ordering is the eager one. ``test_graph_step_matches_eager_on_cuda``
checks that replayed steps give the eager steps' parameters. On the CPU there is nothing to replay:
:class:`EagerStep` runs the same step directly. ``STEPS`` maps a device to its kind of step.

Status: two H200 runs with this module's first version (its own capture code) were refused ("calling
cuBLAS API during stream capture", then "H2D transfers are disallowed"); this version, on the capture
that replays the GPT step, captures on the H200 since level 1's ``CupyBackend.concatenate`` copies part
by part (``cupy.concatenate`` uploaded a pointer table from the host): the CUDA test passed and both
experiments trained the full protocol with it (2026-12-05, ``results/fno_h200_full/``). If the capture
raises, the step records why (``capture_error``), undoes the warm-ups and runs op by op from then on.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import hyperion.tensor as ht
from hyperion import nn
from hyperion.repro.fno.flat_adam import FlatAdam
from hyperion.runtime.cuda_graph import CudaGraphStep


class EagerStep:
    """The step run op by op: ``prepare`` (host), forward, loss, backward, ``update`` (device)."""

    def __init__(self, model: nn.Module, optimizer: FlatAdam, loss_fn: Callable[[ht.Tensor, ht.Tensor], ht.Tensor],
                 x_shape: tuple[int, ...], y_shape: tuple[int, ...], device: str) -> None:
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.x_shape, self.y_shape = tuple(x_shape), tuple(y_shape)
        self.total = ht.zeros((), device=device)  # running sum of the losses, on the device

    def __call__(self, x: ht.Tensor, y: ht.Tensor) -> None:
        self.check(x, y)
        self.optimizer.prepare()
        self.body(x, y)

    def check(self, x: ht.Tensor, y: ht.Tensor) -> None:
        """The batch must have the shapes the step was made for (a graph replays fixed shapes)."""
        if tuple(x.shape) != self.x_shape or tuple(y.shape) != self.y_shape:
            raise ht.ShapeError(f"training step: made for batches {self.x_shape} -> {self.y_shape}, "
                                f"got {tuple(x.shape)} -> {tuple(y.shape)}")

    def body(self, x: ht.Tensor, y: ht.Tensor) -> None:
        """Everything after ``prepare``: device work only, no reads back to the host."""
        loss = self.loss_fn(self.model(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.update()
        with ht.no_grad():
            self.total.add_(loss.detach())

    def take_total(self) -> float:
        """The summed loss since the last call (waits for the device), and start again from zero."""
        value = float(self.total.item())
        with ht.no_grad():
            self.total.zero_()
        return value


def describe_failure(error: BaseException) -> str:
    """``Type: message (at file:line function, ...)``: the innermost project frames and the innermost frame,
    so a refused capture names the op that did the refused work (a copy from the host, a plan, ...)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "hyperion" in f.filename][-3:]
    picks = ours + [f for f in frames[-1:] if f not in ours]
    where = ", ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in picks)
    return f"{type(error).__name__}: {error}" + (f" (at {where})" if where else "")


class GraphStep(EagerStep):
    """The step captured once by :class:`CudaGraphStep` (its warm-ups undone) and then replayed."""

    warmup = 2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        device = self.total.device
        self.x, self.y = ht.zeros(*self.x_shape, device=device), ht.zeros(*self.y_shape, device=device)
        self.graph: CudaGraphStep | None = None
        self.captures = 0
        self.capture_error: str | None = None  # why the capture failed, if it did: then every step is eager

    def __call__(self, x: ht.Tensor, y: ht.Tensor) -> None:
        self.check(x, y)
        self.optimizer.prepare()
        if self.capture_error is not None:
            EagerStep.body(self, x, y)
            return
        with ht.no_grad():
            self.x.copy_(x)
            self.y.copy_(y)
        if self.graph is None:
            saved = self._mutable_state()
            try:
                self.graph = CudaGraphStep(lambda: EagerStep.body(self, self.x, self.y), warmup=self.warmup)
            except Exception as error:  # noqa: BLE001 - an op the capture refuses: run eagerly, say why
                self.capture_error = describe_failure(error)
                self._restore(saved)
                EagerStep.body(self, x, y)
                return
            self._restore(saved)
            self.captures += 1
        self.graph()

    def _mutable_state(self) -> list[tuple[ht.Tensor, ht.Tensor]]:
        """(tensor, copy) for what a step changes in place: parameters, Adam's moments, the loss sum."""
        moments = self.optimizer.state[self.optimizer.flat]
        live = [self.optimizer.flat, moments["exp_avg"], moments["exp_avg_sq"], self.total]
        with ht.no_grad():
            return [(t, t.detach().clone()) for t in live]

    @staticmethod
    def _restore(saved: list[tuple[ht.Tensor, ht.Tensor]]) -> None:
        with ht.no_grad():
            for live, copy in saved:
                live.copy_(copy)


STEPS: dict[str, type[EagerStep]] = {"cpu": EagerStep, "cuda": GraphStep}


def make_step(model: nn.Module, optimizer: FlatAdam, loss_fn: Callable[[ht.Tensor, ht.Tensor], ht.Tensor],
              x_shape: tuple[int, ...], y_shape: tuple[int, ...], device: str, graph: bool = True) -> EagerStep:
    """The training step for ``device``: a replayed CUDA graph on "cuda" (unless ``graph=False``)."""
    kind = STEPS[device] if graph else EagerStep
    return kind(model, optimizer, loss_fn, x_shape, y_shape, device)
