"""The "gradient ready" hook: called once per backward, after a leaf's gradient is complete."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hyperion.tensor import AutogradError, Tensor


def test_hook_sees_the_complete_gradient_once_per_backward():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    seen: list[tuple[str, list[float]]] = []
    a.register_post_accumulate_grad_hook(lambda t: seen.append(("a", t.grad.numpy().tolist())))
    b.register_post_accumulate_grad_hook(lambda t: seen.append(("b", t.grad.numpy().tolist())))
    ((a * b).sum() + (a * a).sum()).backward()  # a is used twice: one call, with both paths summed
    ta, tb = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 4.0], requires_grad=True)
    ((ta * tb).sum() + (ta * ta).sum()).backward()
    assert sorted(seen) == [("a", ta.grad.tolist()), ("b", tb.grad.tolist())]


def test_hook_fires_after_accumulation_and_can_be_removed():
    a = Tensor(np.array([1.0]), requires_grad=True)
    calls: list[float] = []
    handle = a.register_post_accumulate_grad_hook(lambda t: calls.append(float(t.grad.numpy()[0])))
    (a * 2).sum().backward()
    (a * 3).sum().backward()  # .grad accumulates: the hook sees 2, then 5
    handle.remove()
    handle.remove()  # a second remove is a no-op
    (a * 4).sum().backward()
    assert calls == [2.0, 5.0]


def test_hook_only_on_leaves_that_require_grad():
    a = Tensor(np.array([1.0]), requires_grad=True)
    with pytest.raises(AutogradError, match="leaf"):
        (a * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(AutogradError, match="does not require grad"):
        Tensor(np.array([1.0])).register_post_accumulate_grad_hook(lambda t: None)
