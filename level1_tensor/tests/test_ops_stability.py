"""Numerical stability: logits of ±1e4 in float32 give finite values and gradients, equal to PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch_compare import check_against_torch, index_pair, make_pair

import hyperion.tensor as ht
from hyperion.tensor import functional as F


def _huge_logits(seed: int = 0):
    """(4, 5) float32 logits mixing +1e4, -1e4 and ordinary values (rows all huge, all tiny, mixed)."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((4, 5)).astype(np.float32)
    data[0] = [1e4, -1e4, 1e4 - 1, 0.0, -1e4]
    data[1] = [-1e4, -1e4 + 2, -1e4, -1e4 + 0.5, -1e4]
    data[2] = [1e4, 1e4, 1e4, 1e4 - 3, 1e4]
    data[3] *= 1e4
    return data


OPS = {
    "softmax": (lambda x: F.softmax(x, 1), lambda x: TF.softmax(x, 1)),
    "log_softmax": (lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1)),
    "softmax_dim0": (lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0)),
    "logsumexp": (lambda x: x.logsumexp(1), lambda x: torch.logsumexp(x, 1)),
    "logsumexp_all": (lambda x: x.logsumexp((0, 1)), lambda x: torch.logsumexp(x, (0, 1))),
}


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_softmax_family_is_finite_and_matches_torch_at_1e4(name, sign):
    h_fn, t_fn = OPS[name]
    p = make_pair(np.random.default_rng(0), (4, 5), np.float32)
    data = sign * _huge_logits()
    p.h_leaf.data.copy_(ht.tensor(data))
    p.t_leaf.data.copy_(torch.tensor(data))
    h_out, _ = check_against_torch(h_fn, t_fn, [p], scale=2)
    assert np.isfinite(h_out.detach().numpy()).all()
    assert np.isfinite(p.h_leaf.grad.numpy()).all()


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cross_entropy_is_finite_and_matches_torch_at_1e4(smoothing, reduction, sign):
    p = make_pair(np.random.default_rng(0), (4, 5), np.float32)
    data = sign * _huge_logits()
    p.h_leaf.data.copy_(ht.tensor(data))
    p.t_leaf.data.copy_(torch.tensor(data))
    h_target, t_target = index_pair(np.array([1, 4, 3, 0]))
    h_out, _ = check_against_torch(
        lambda x: F.cross_entropy(x, h_target, label_smoothing=smoothing, reduction=reduction),
        lambda x: TF.cross_entropy(x, t_target, label_smoothing=smoothing, reduction=reduction),
        [p], scale=2,
    )
    assert np.isfinite(h_out.detach().numpy()).all()
    assert np.isfinite(p.h_leaf.grad.numpy()).all()


def test_sigmoid_does_not_overflow_at_1e4():
    x = ht.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], requires_grad=True)
    out = ht.sigmoid(x)
    out.sum().backward()
    t = torch.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], requires_grad=True)
    torch.sigmoid(t).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), torch.sigmoid(t).detach().numpy(), atol=1e-30)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-30)
