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
* the first ``warmup`` steps run eagerly on the capture stream, so kernels are compiled and cuFFT
  plans made before the capture;
* CuPy refuses cuBLAS inside a capture ("calling cuBLAS API during stream capture is currently
  unsupported", seen on the H200), so warm-up and capture run on :class:`CaptureBackend`: level 1's
  CuPy backend with its matrix products done without cuBLAS -- fp32 products by level 3's own GEMM
  kernels (:func:`hyperion.kernels.matmul.matmul_auto`), the Fourier layers' small complex products
  per mode as a broadcast multiply and a sum. It is registered for "cuda" (level 1's
  ``register_backend``) only while the step warms up or is captured.

Launches go to the default stream, where every other op of the training loop runs (the permuted
data, the evaluation), so the ordering is the eager one. ``test_graph_step_matches_eager_on_cuda``
checks that replayed steps give the eager steps' parameters. On the CPU there is nothing to replay:
:class:`EagerStep` runs the same step directly. ``STEPS`` maps a device to its kind of step.

Status: two H200 calls found the two things CuPy refuses in a capture (cuBLAS; a host-to-device
copy), both now avoided. In those calls the warm-up never ran (the first step was already captured,
so first-use work such as the model's grid tensor, a host-to-device copy, fell inside the capture);
``test_graph_step_control_flow_on_a_fake_cupy`` now checks the order of warm-up, capture and launches
on the CPU. A capture that completes has not yet been seen on a GPU. If the capture raises, the step
records why (``capture_error``) and runs op by op from then on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import hyperion.tensor as ht
from hyperion import nn
from hyperion.repro.fno.flat_adam import FlatAdam
from hyperion.tensor.backend import Array, CupyBackend, get_backend, register_backend


class EagerStep:
    """The step run op by op: ``prepare`` (host), forward, loss, backward, ``update`` (device)."""

    def __init__(self, model: nn.Module, optimizer: FlatAdam, loss_fn: Callable[[ht.Tensor, ht.Tensor], ht.Tensor],
                 x_shape: tuple[int, ...], y_shape: tuple[int, ...], device: str) -> None:
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.x_shape, self.y_shape = tuple(x_shape), tuple(y_shape)
        self.total = ht.zeros((), device=device)  # running sum of the losses, on the device

    def __call__(self, x: ht.Tensor, y: ht.Tensor) -> None:
        if tuple(x.shape) != self.x_shape or tuple(y.shape) != self.y_shape:
            raise ht.ShapeError(f"training step: made for batches {self.x_shape} -> {self.y_shape}, "
                                f"got {tuple(x.shape)} -> {tuple(y.shape)}")
        self.optimizer.prepare()
        self.body(x, y)

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


class CaptureBackend(CupyBackend):
    """CuPy with matrix products that a stream capture accepts (no cuBLAS): see the module's docstring."""

    def matmul(self, a: Array, b: Array) -> Array:
        from hyperion.kernels.matmul import matmul_auto

        if a.dtype != b.dtype or a.ndim < 2 or b.ndim < 2:
            raise ht.ShapeError(f"capture matmul: expected two arrays of one dtype and at least 2-D, "
                                f"got {a.dtype} {a.shape} and {b.dtype} {b.shape}")
        if a.dtype.kind == "c":  # (..., M, K) @ (..., K, N) as sum_k a[..., m, k, None] * b[..., None, k, n]
            return (a[..., :, :, None] * b[..., None, :, :]).sum(axis=-2)
        if a.dtype != np.float32:
            raise ht.ShapeError(f"capture matmul: float32 or complex only, got {a.dtype}")
        if b.ndim == 2:  # rows of any leading shape times one matrix: one GEMM
            out = matmul_auto(a.reshape(-1, a.shape[-1]), b)
            return out.reshape(*a.shape[:-1], b.shape[1])
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a, b = self.xp.broadcast_to(a, (*batch, *a.shape[-2:])), self.xp.broadcast_to(b, (*batch, *b.shape[-2:]))
        out = self.xp.empty((*batch, a.shape[-2], b.shape[-1]), dtype=np.float32)
        for index in np.ndindex(*batch):  # one GEMM per batch entry (Linear's chunked weight gradient)
            matmul_auto(a[index], b[index], out=out[index])
        return out


@contextlib.contextmanager
def capture_backend() -> Iterator[None]:
    """Run CUDA ops on :class:`CaptureBackend` inside the block (the previous backend after it)."""
    previous = get_backend("cuda")
    register_backend("cuda", _CAPTURE_BACKEND.setdefault("cuda", CaptureBackend()))
    try:
        yield
    finally:
        register_backend("cuda", previous)


_CAPTURE_BACKEND: dict[str, CaptureBackend] = {}


class GraphStep(EagerStep):
    """The step recorded once as a CUDA graph (after ``warmup`` eager steps) and replayed."""

    warmup = 2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import cupy

        super().__init__(*args, **kwargs)
        self.cupy = cupy
        self.stream = cupy.cuda.Stream(non_blocking=False)  # for the warm-up and the capture
        self.pool = cupy.cuda.MemoryPool()  # the graph's intermediates: nobody else allocates here
        device = self.total.device
        self.x, self.y = ht.zeros(*self.x_shape, device=device), ht.zeros(*self.y_shape, device=device)
        self.graph: Any = None
        self.eager_steps, self.captures = 0, 0
        self.capture_error: str | None = None  # why the capture failed, if it did: then every step is eager

    def warming_up(self) -> bool:
        return self.capture_error is None and self.eager_steps < self.warmup

    def __call__(self, x: ht.Tensor, y: ht.Tensor) -> None:
        if not self.warming_up():
            super().__call__(x, y)  # shape check, prepare(), body(): the graph (or op by op after a failed capture)
            return
        self.cupy.cuda.Device().synchronize()  # the side stream must see the default stream's work
        with self.stream, capture_backend():
            super().__call__(x, y)  # body() runs op by op while warming up
        self.stream.synchronize()
        self.eager_steps += 1

    def body(self, x: ht.Tensor, y: ht.Tensor) -> None:
        if self.capture_error is not None or self.warming_up():
            EagerStep.body(self, x, y)
            return
        with ht.no_grad():
            self.x.copy_(x)
            self.y.copy_(y)
        if self.graph is None:
            try:
                self.graph = self._capture()
            except Exception as error:  # noqa: BLE001 - an op the capture refuses: run eagerly, say why
                self.capture_error = f"{type(error).__name__}: {error}"
                self.cupy.cuda.Device().synchronize()
                EagerStep.body(self, self.x, self.y)
                return
        self.graph.launch(self.cupy.cuda.Stream.null)

    def _capture(self) -> Any:
        cupy = self.cupy
        cupy.cuda.Device().synchronize()
        runtime = cupy.cuda.runtime
        with self.stream, cupy.cuda.using_allocator(self.pool.malloc), capture_backend():
            try:
                self.stream.begin_capture(mode=runtime.streamCaptureModeRelaxed)
            except TypeError:  # an older CuPy without the mode argument
                self.stream.begin_capture()
            try:
                EagerStep.body(self, self.x, self.y)
            finally:
                graph = self.stream.end_capture()
        self.optimizer.zero_grad()  # the gradients' arrays live on in the graph's pool only
        self.captures += 1
        return graph


STEPS: dict[str, type[EagerStep]] = {"cpu": EagerStep, "cuda": GraphStep}


def make_step(model: nn.Module, optimizer: FlatAdam, loss_fn: Callable[[ht.Tensor, ht.Tensor], ht.Tensor],
              x_shape: tuple[int, ...], y_shape: tuple[int, ...], device: str, graph: bool = True) -> EagerStep:
    """The training step for ``device``: a replayed CUDA graph on "cuda" (unless ``graph=False``)."""
    kind = STEPS[device] if graph else EagerStep
    return kind(model, optimizer, loss_fn, x_shape, y_shape, device)
