"""Adam on all parameters at once: the parameters become views of one flat buffer.

Level 1's :class:`~hyperion.optim.Adam` updates parameter by parameter: about fifteen elementwise
ops each, so an FNO with 16 parameter tensors launches ~240 small kernels per step on a GPU, where
each costs far more to launch (Python and CuPy) than to run. PyTorch's Adam on CUDA avoids this with
its multi-tensor (``foreach``) kernels. Here the same effect comes from the data layout:

* every parameter's storage is moved into one flat buffer (``param.data = flat[a:b].view(shape)``),
  so an in-place update of the buffer updates every parameter;
* ``step`` gathers the gradients into one flat gradient (one ``cat``) and runs level 1's Adam,
  unchanged, on the single flat tensor: the same elementwise formulas in the same order, so the
  result equals per-parameter Adam exactly (``test_flat_adam_equals_adam``).

Valid when every parameter shares one dtype, device and the same options (the FNO's case).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hyperion.optim import Adam
from hyperion.tensor import Tensor, cat, no_grad


class FlatAdam(Adam):
    """:class:`~hyperion.optim.Adam` over one flat buffer that the given parameters now live in."""

    def __init__(self, params: Iterable[Tensor], **options: Any) -> None:
        members = list(params)
        if not members:
            raise ValueError("FlatAdam: got an empty parameter list")
        kinds = {(p.dtype, p.device) for p in members}
        if len(kinds) != 1:
            raise ValueError(f"FlatAdam: every parameter must share one dtype and device, got "
                             f"{sorted(map(str, kinds))}")
        with no_grad():
            flat = cat([p.detach().reshape(-1) for p in members])
        start = 0
        for p in members:
            size = p.numel()
            p.data = flat[start : start + size].view(*p.shape)
            start += size
        self.members, self.flat = members, flat
        super().__init__([flat], **options)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.members:
            p.grad = None
        self.flat.grad = None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = self._evaluate(closure)
        missing = [i for i, p in enumerate(self.members) if p.grad is None]
        if missing:
            raise RuntimeError(f"FlatAdam: parameters {missing} have no gradient; every parameter must take "
                               "part in the loss")
        with no_grad():
            self.flat.grad = cat([p.grad.reshape(-1) for p in self.members])
        super().step()
        return loss
