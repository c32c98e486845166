"""Data-parallel training: every rank holds the whole model, sees 1/N of the batch, and the ranks
average their gradients before each optimizer step, so all replicas stay identical.

Four ways to average, in the order a course builds them (Stanford CS336, assignment 2):

``naive``      after backward, one all-reduce per parameter (many small messages; nothing overlaps);
``flat``       after backward, every gradient copied into one flat buffer, one all-reduce;
``overlap``    as each parameter's gradient becomes final during backward (the "gradient ready"
               hook, ``Tensor.register_post_accumulate_grad_hook``), its all-reduce starts at once,
               asynchronously, while backward goes on with earlier layers;
``bucketed``   the same, but gradients are packed into buckets of about ``bucket_cap_mb`` and each
               bucket goes as one all-reduce as soon as all of its gradients are ready.

Call ``finish_gradient_synchronization()`` after ``loss.backward()`` and before ``optimizer.step()``:
it waits for the collectives in flight (or runs them, for ``naive`` and ``flat``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from hyperion.distributed.backends import ProcessGroup, ReduceOp, Work
from hyperion.distributed.group import _group, buffer
from hyperion.nn import Module
from hyperion.tensor import Tensor, no_grad

VARIANTS = ("naive", "flat", "overlap", "bucketed")


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer."""

    def __init__(self, params: list[Tensor]) -> None:
        self.params = params
        self.ready: set[int] = set()
        self.flat: Any = None
        self.work: Work | None = None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training; parameters are broadcast from rank 0 at the start."""

    def __init__(self, module: Module, variant: str = "bucketed", bucket_cap_mb: float = 25.0,
                 group: ProcessGroup | None = None, broadcast_buffers: bool = True) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown DDP variant {variant!r}; choose one of {VARIANTS}")
        if bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        self.variant = variant
        self.bucket_cap_mb = float(bucket_cap_mb)
        self._pg = _group(group)
        self._params = [p for p in module.parameters() if p.requires_grad]
        self._sync = True
        self._works: list[Work] = []
        with no_grad():
            for tensor in [*module.parameters(), *(module.buffers() if broadcast_buffers else [])]:
                self._pg.broadcast(buffer(tensor, "parameter"), 0, async_op=False)
        self._buckets = self._make_buckets() if variant == "bucketed" else []
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._next_bucket = 0
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad_ready)
                         for p in self._params] if variant in ("overlap", "bucketed") else []

    # ---- buckets ---------------------------------------------------------------------------
    def _make_buckets(self) -> list[_Bucket]:
        """Parameters in reverse order (backward reaches the last layers first), cut every ~cap bytes."""
        cap = self.bucket_cap_mb * 2**20
        buckets, current, size = [], [], 0
        for p in reversed(self._params):
            current.append(p)
            size += p.numel() * p.element_size()
            if size >= cap:
                buckets.append(_Bucket(current))
                current, size = [], 0
        if current:
            buckets.append(_Bucket(current))
        return buckets

    @property
    def bucket_sizes_mb(self) -> list[float]:
        return [sum(p.numel() * p.element_size() for p in b.params) / 2**20 for b in self._buckets]

    # ---- the hooks: a gradient is final --------------------------------------------------------
    def _on_grad_ready(self, param: Tensor) -> None:
        if not self._sync:
            return
        for work in self._works:  # let the engine progress the collectives already in flight
            work.is_completed()
        if self.variant == "overlap":
            self._works.append(self._pg.all_reduce(buffer(param.grad, "gradient"), ReduceOp.AVG, async_op=True))
            return
        bucket = self._bucket_of[id(param)]
        bucket.ready.add(id(param))
        # launch buckets strictly in order: every rank must issue its collectives in the same order
        while self._next_bucket < len(self._buckets):
            nxt = self._buckets[self._next_bucket]
            if len(nxt.ready) < len(nxt.params):
                break
            self._launch(nxt)
            self._next_bucket += 1

    def _launch(self, bucket: _Bucket) -> None:
        xp = bucket.params[0]._backend.xp
        bucket.flat = xp.concatenate([buffer(p.grad, "gradient").reshape(-1) for p in bucket.params])
        bucket.work = self._pg.all_reduce(bucket.flat, ReduceOp.AVG, async_op=True)
        self._works.append(bucket.work)

    # ---- after backward ------------------------------------------------------------------------
    def finish_gradient_synchronization(self) -> None:
        """Make every rank's ``.grad`` the average over ranks (waits for, or runs, the all-reduces)."""
        if not self._sync:
            return
        missing = [i for i, p in enumerate(self._params) if p.grad is None]
        if missing:
            raise RuntimeError(f"DDP: parameters {missing} received no gradient in this step; every "
                               "parameter that requires grad must take part in the loss")
        if self.variant == "naive":
            for p in self._params:
                self._pg.all_reduce(buffer(p.grad, "gradient"), ReduceOp.AVG, async_op=False)
        elif self.variant == "flat":
            bucket = _Bucket(self._params)
            self._launch(bucket)
            bucket.work.wait()
            self._unflatten(bucket)
        else:
            if self.variant == "bucketed" and self._next_bucket != len(self._buckets):
                raise RuntimeError("DDP: backward ended before every bucket was ready")
            for work in self._works:
                work.wait()
            for bucket in self._buckets:
                self._unflatten(bucket)
        self._reset()

    def _unflatten(self, bucket: _Bucket) -> None:
        start = 0
        for p in bucket.params:
            n = p.numel()
            buffer(p.grad, "gradient")[...] = bucket.flat[start:start + n].reshape(p.shape)
            start += n

    def _reset(self) -> None:
        self._works = []
        self._next_bucket = 0
        for bucket in self._buckets:
            bucket.ready.clear()
            bucket.flat = bucket.work = None

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Accumulate gradients locally (e.g. micro-batches); the step after the block syncs them."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self._reset()
        return self.module(*args, **kwargs)
