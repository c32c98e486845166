"""ZeRO stage 1 (Rajbhandari et al., 2020): shard the optimizer state across the data-parallel ranks.

Adam keeps two numbers per parameter besides the parameter itself; on N ranks that state is
replicated N times. Here the parameters are seen as one flat vector cut into N equal slices; rank
r keeps optimizer state for slice r only, updates that slice, and an all-gather rebuilds the full
parameters on every rank. Gradients are still averaged in full (DDP) before the step.

Any optimizer of ``hyperion.optim`` works unchanged: it steps one flat leaf tensor, this rank's
slice, so its state is 1/N of the unsharded state (plus at most N-1 elements of padding).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from hyperion.distributed.backends import ProcessGroup
from hyperion.distributed.group import _group, buffer
from hyperion.optim import Optimizer
from hyperion.tensor import Tensor, no_grad


class ZeroRedundancyOptimizer:
    """``optimizer_class`` over this rank's slice of the flattened parameters (one dtype, one group)."""

    def __init__(self, params: Iterable[Tensor], optimizer_class: type[Optimizer],
                 group: ProcessGroup | None = None, **defaults: Any) -> None:
        self.params = [p for p in params]
        if not self.params or not all(isinstance(p, Tensor) for p in self.params):
            raise TypeError("ZeroRedundancyOptimizer takes a non-empty iterable of Tensors "
                            "(one parameter group: per-group options are not supported)")
        dtypes = {p.dtype for p in self.params}
        if len(dtypes) != 1:
            raise TypeError(f"ZeroRedundancyOptimizer needs parameters of one dtype, got {sorted(map(str, dtypes))}")
        self._pg = _group(group)
        self.numel = sum(p.numel() for p in self.params)
        world, rank = self._pg.world_size, self._pg.rank
        self.shard_size = math.ceil(self.numel / world)
        self.start = min(rank * self.shard_size, self.numel)
        self.stop = min(self.start + self.shard_size, self.numel)
        xp = self.params[0]._backend.xp
        self._xp = xp
        flat = self._flatten([p for p in self.params])
        shard = xp.zeros(self.shard_size, dtype=flat.dtype)
        shard[: self.stop - self.start] = flat[self.start:self.stop]
        self.shard = Tensor._from_array(shard, self.params[0].device, requires_grad=True)
        self.optimizer = optimizer_class([self.shard], **defaults)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        """The local optimizer's groups: set ``lr`` here (a scheduler can drive this object)."""
        return self.optimizer.param_groups

    def _flatten(self, tensors: list[Tensor]) -> Any:
        return self._xp.concatenate([buffer(t).reshape(-1) for t in tensors])

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None
        self.shard.grad = None

    def step(self) -> None:
        """Update this rank's slice with the (already averaged) gradients, then all-gather the slices."""
        missing = [i for i, p in enumerate(self.params) if p.grad is None]
        if missing:
            raise RuntimeError(f"ZeroRedundancyOptimizer.step: parameters {missing} have no gradient")
        flat_grad = self._flatten([p.grad for p in self.params])
        grad = self._xp.zeros(self.shard_size, dtype=flat_grad.dtype)
        grad[: self.stop - self.start] = flat_grad[self.start:self.stop]
        self.shard.grad = Tensor._from_array(grad, self.shard.device)
        self.optimizer.step()
        world = self._pg.world_size
        gathered = self._xp.empty(world * self.shard_size, dtype=grad.dtype)
        self._pg.all_gather(gathered, buffer(self.shard), async_op=False)
        offset = 0
        with no_grad():
            for p in self.params:
                n = p.numel()
                buffer(p, "parameter")[...] = gathered[offset:offset + n].reshape(p.shape)
                p._version[0] += 1
                offset += n

    def state_bytes(self) -> int:
        """Bytes of optimizer state held by this rank (every array in the local optimizer's state)."""
        total = 0
        for state in self.optimizer.state.values():
            for value in state.values():
                if isinstance(value, Tensor):
                    total += value.numel() * value.element_size()
        return total

    def consolidated_state_dict(self, to: int = 0) -> dict[str, Any] | None:
        """The full (unsharded) optimizer state, gathered on rank ``to`` (None on the others).

        Each state tensor of the shard is all-gathered into a flat vector over every parameter;
        scalars (the step count) are the same on all ranks.
        """
        local = self.optimizer.state_dict()
        state = local["state"].get(0, {})
        full: dict[str, Any] = {}
        for key, value in sorted(state.items()):
            if isinstance(value, Tensor):
                gathered = self._xp.empty(self._pg.world_size * self.shard_size, dtype=buffer(value).dtype)
                self._pg.all_gather(gathered, buffer(value), async_op=False)
                full[key] = gathered[: self.numel].copy()
            else:
                full[key] = value
        if self._pg.rank != to:
            return None
        return {"flat_state": full, "param_groups": local["param_groups"], "numel": self.numel}
