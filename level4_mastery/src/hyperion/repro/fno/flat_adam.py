"""Adam on all parameters at once: the parameters become views of one flat buffer.

Level 1's :class:`~hyperion.optim.Adam` updates parameter by parameter: about fifteen elementwise
ops each, so an FNO with 16 parameter tensors launches ~240 small kernels per step on a GPU, where
each costs far more to launch (Python and CuPy) than to run. PyTorch's Adam on CUDA avoids this with
its multi-tensor (``foreach``) kernels. Here the same effect comes from the data layout:

* every parameter's storage is moved into one flat buffer (``param.data = flat[a:b].view(shape)``),
  so an in-place update of the buffer updates every parameter;
* ``step`` gathers the gradients into one flat gradient (one ``cat``) and applies level 1's Adam
  formulas, in the same order, to the single flat tensor, so the result equals per-parameter Adam
  (``test_flat_adam_equals_adam``).

``step`` is two halves, so that a training step can be recorded once as a CUDA graph and replayed
(:mod:`hyperion.repro.fno.step`): :meth:`prepare` does the host's part (count the step, compute
the bias corrections ``lr / (1 - beta1^t)`` and ``sqrt(1 - beta2^t)`` as Python floats, write them
into a two-element device tensor) and :meth:`update` only device work, reading those two numbers
and its constants (weight decay, ``1 - beta2``, ``eps``) from device tensors made once. They are the
same float32 values the Python floats become in level 1's Adam, so the rounding is the same.

Valid when every parameter shares one dtype, device and the same options (the FNO's case), for
Adam with L2 weight decay (no AMSGrad, maximize or decoupled decay: they are refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from hyperion.optim import Adam
from hyperion.tensor import Tensor, cat, no_grad, tensor, zeros_like


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
        group = self.param_groups[0]
        if group["amsgrad"] or group["maximize"] or group["decoupled_weight_decay"]:
            raise ValueError("FlatAdam: only plain Adam with L2 weight decay (no amsgrad, maximize or "
                             "decoupled_weight_decay)")
        self.state[flat] = {"step": 0, "exp_avg": zeros_like(flat), "exp_avg_sq": zeros_like(flat)}
        # (-lr / (1 - beta1^t), sqrt(1 - beta2^t)) of the coming update, on the parameters' device
        self.scalars = tensor(np.zeros(2, dtype=np.float32), device=flat.device, dtype=flat.dtype)
        # the constants update() multiplies or adds tensors by, on the device once: a Python number there
        # would become a new device scalar (a host-to-device copy) at every step, which a capture refuses
        beta2, eps, weight_decay = group["betas"][1], group["eps"], group["weight_decay"]
        self.constants = {name: tensor(np.array(value, dtype=np.float32), device=flat.device, dtype=flat.dtype)
                          for name, value in (("weight_decay", weight_decay), ("one_minus_beta2", 1 - beta2),
                                              ("eps", eps))}

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
        self.prepare()
        self.update()
        return loss

    def prepare(self) -> None:
        """The host's half of a step: count it and write this step's bias corrections to the device."""
        state, group = self.state[self.flat], self.param_groups[0]
        state["step"] += 1
        (beta1, beta2), t = group["betas"], state["step"]
        host = np.array([-group["lr"] / (1 - beta1**t), (1 - beta2**t) ** 0.5], dtype=np.float32)
        with no_grad():
            self.scalars.copy_(tensor(host, device=self.flat.device))

    def update(self) -> None:
        """The device's half: flat gradient, moments, parameters -- level 1's Adam formulas, in order."""
        state, group, c = self.state[self.flat], self.param_groups[0], self.constants
        beta1, beta2 = group["betas"]
        with no_grad():
            param = self.flat
            g = cat([p.grad.reshape(-1) for p in self.members])
            if group["weight_decay"] != 0:
                g = g + c["weight_decay"] * param
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            exp_avg.add_(g - exp_avg, alpha=1 - beta1)  # in-place ops take Python numbers as they are
            exp_avg_sq.mul_(beta2).add_(c["one_minus_beta2"] * g * g)
            neg_step_size, bias_correction2_sqrt = self.scalars[0], self.scalars[1]
            denom = exp_avg_sq.sqrt() / bias_correction2_sqrt + c["eps"]
            param.add_(neg_step_size * exp_avg / denom)
