"""Optimizer state is part of a checkpoint; clip_grad_norm_ agrees with PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_optim_parity import Problem, assert_same_trajectory, hyperion_params, run_hyperion  # noqa: E402

import hyperion.nn as nn  # noqa: E402
from hyperion import optim  # noqa: E402
from hyperion.nn import Parameter  # noqa: E402
from hyperion.tensor import tensor  # noqa: E402

OPTIMIZERS = {
    "sgd-momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam-amsgrad": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01),
    "rmsprop-centered": lambda ps: optim.RMSprop(ps, lr=0.005, momentum=0.9, centered=True),
}


@pytest.mark.parametrize("through_file", [None, "npz", "safetensors"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resume_from_state_dict_equals_uninterrupted(name, through_file, tmp_path):
    if through_file == "safetensors":
        pytest.importorskip("safetensors")
    make = OPTIMIZERS[name]
    problem = Problem(3)
    uninterrupted, *_ = run_hyperion(problem, make, np.float64, steps=100)

    first, _, params, opt = run_hyperion(problem, make, np.float64, steps=50)
    checkpoint = {
        "model": {str(i): p.detach() for i, p in enumerate(params)},
        "optimizer": opt.state_dict(),
        "epoch": 50,
    }
    if through_file:
        path = tmp_path / f"checkpoint.{through_file}"
        nn.save(checkpoint, path)
        checkpoint = nn.load(path)
        assert checkpoint["epoch"] == 50
    # a fresh model and optimizer, restored from the checkpoint
    fresh = hyperion_params(problem, np.float64)
    for i, p in enumerate(fresh):
        p.data = tensor(checkpoint["model"][str(i)].numpy(), dtype=np.float64)
    opt2 = make(fresh)
    opt2.load_state_dict(checkpoint["optimizer"])
    second, *_ = run_hyperion(problem, make, np.float64, steps=50, params=fresh, opt=opt2, start=50)
    assert_same_trajectory(first + second, uninterrupted, np.float64)


def test_state_dict_layout_is_pytorchs():
    ps = [Parameter(tensor([1.0, 2.0])), Parameter(tensor([3.0]))]
    opt = optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.1}], lr=0.01)
    for p in ps:
        p.grad = tensor(np.ones(p.shape, dtype=np.float32))
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.01, 0.1]
    assert set(sd["state"]) == {0, 1}
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"} and sd["state"][0]["step"] == 1
    sd["state"][0]["exp_avg"].add_(1.0)  # a copy: changing it leaves the optimizer alone
    assert opt.state[ps[0]]["exp_avg"].numpy()[0] == pytest.approx(0.1)


def test_load_state_dict_refuses_other_layouts():
    opt = optim.SGD([Parameter(tensor([1.0])), Parameter(tensor([2.0]))], lr=0.1)
    other = optim.SGD([Parameter(tensor([1.0]))], lr=0.1)
    with pytest.raises(ValueError, match="1 parameters, this optimizer has 2"):
        opt.load_state_dict(other.state_dict())


def test_zero_grad():
    p = Parameter(tensor([1.0, 2.0]))
    opt = optim.SGD([p], lr=0.1)
    p.grad = tensor([1.0, 1.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_evaluated_with_grad_enabled():
    p = Parameter(tensor([3.0]))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    from hyperion.tensor import no_grad

    with no_grad():
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(9.0)
    assert p.detach().numpy()[0] == pytest.approx(3.0 - 0.1 * 6.0)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(4, 3), (7,), (2, 2, 2)]]
    ours = [Parameter(tensor(np.zeros_like(g), dtype=np.float64)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = tensor(g, dtype=np.float64), torch.tensor(g)
    ours.append(Parameter(tensor([1.0])))  # no grad: ignored
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total.item() == pytest.approx(expected.item(), rel=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)
    assert optim.clip_grad_norm_ is nn.utils.clip_grad_norm_


def test_clip_grad_norm_nonfinite():
    p = Parameter(tensor([1.0]))
    p.grad = tensor([float("inf")])
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([Parameter(tensor([1.0]))], 1.0).item() == 0.0
