"""Softmax family, losses, layer_norm and dropout against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from torch_compare import (
    FAST,
    check_against_torch,
    float_dtypes,
    index_pair,
    layouts,
    make_pair,
    seeds,
    shapes,
)

import hyperion.tensor as ht
from hyperion.tensor import functional as F


@st.composite
def shape_and_dim(draw):
    shape = draw(shapes(min_dims=1, max_dims=3))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(case=shape_and_dim(), layout=layouts, dtype=float_dtypes, seed=seeds)
@FAST
def test_softmax_family_matches_torch(name, case, layout, dtype, seed):
    shape, dim = case
    rng = np.random.default_rng(seed)
    p = make_pair(rng, shape, dtype, layout)
    check_against_torch(
        lambda x: getattr(F, name)(x, dim), lambda x: getattr(TF, name)(x, dim), [p], rng, scale=4
    )
    q = make_pair(rng, shape, dtype, layout)
    check_against_torch(lambda x: getattr(x, name)(dim), lambda x: getattr(x, name)(dim), [q], rng, scale=4)


@given(case=shape_and_dim(), tuple_dim=st.booleans(), keepdim=st.booleans(), layout=layouts,
       dtype=float_dtypes, seed=seeds)
@FAST
def test_logsumexp_matches_torch(case, tuple_dim, keepdim, layout, dtype, seed):
    shape, dim = case
    if tuple_dim:
        dim = tuple(range(len(shape)))[::-1]
    rng = np.random.default_rng(seed)
    p = make_pair(rng, shape, dtype, layout)
    check_against_torch(
        lambda x: x.logsumexp(dim, keepdim), lambda x: torch.logsumexp(x, dim, keepdim), [p], rng, scale=4
    )


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # log(0) = -inf is the answer
def test_logsumexp_of_all_minus_infinity_rows_is_minus_infinity():
    x = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    ours = ht.tensor(x, dtype=np.float64).logsumexp(1).numpy()
    np.testing.assert_array_equal(ours, torch.logsumexp(torch.tensor(x), 1).numpy())


@st.composite
def classification(draw):
    """(N, C) or (N, C, d1[, d2]) logits and matching targets, some set to ignore_index."""
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 6))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return (n, c, *extra)


@given(
    shape=classification(),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    smoothing=st.sampled_from([0.0, 0.1, 0.35]),
    ignore=st.sampled_from([None, -100, 1]),
    layout=layouts, dtype=float_dtypes, seed=seeds,
)
@FAST
def test_cross_entropy_matches_torch(shape, reduction, smoothing, ignore, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, shape[1], (shape[0], *shape[2:]))
    kwargs = {"reduction": reduction, "label_smoothing": smoothing}
    if ignore is not None:
        kwargs["ignore_index"] = ignore
        target[rng.random(target.shape) < 0.3] = ignore
        target.reshape(-1)[0] = 0  # at least one counted row (PyTorch's mean of nothing is nan)
    h_target, t_target = index_pair(target)
    check_against_torch(
        lambda x: F.cross_entropy(x, h_target, **kwargs),
        lambda x: TF.cross_entropy(x, t_target, **kwargs),
        [make_pair(rng, shape, dtype, layout)], rng, scale=10,
    )


@given(
    n=st.integers(1, 6), c=st.integers(2, 5), reduction=st.sampled_from(["mean", "sum", "none"]),
    ignore=st.booleans(), layout=layouts, dtype=float_dtypes, seed=seeds,
)
@FAST
def test_nll_loss_matches_torch(n, c, reduction, ignore, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, c, n)
    kwargs = {"reduction": reduction}
    if ignore:
        kwargs["ignore_index"] = 0
        target[-1] = 1
    h_target, t_target = index_pair(target)
    check_against_torch(
        lambda x: F.nll_loss(x.log_softmax(1), h_target, **kwargs),
        lambda x: TF.nll_loss(x.log_softmax(1), t_target, **kwargs),
        [make_pair(rng, (n, c), dtype, layout)], rng, scale=10,
    )


@given(shape=shapes(min_dims=0), reduction=st.sampled_from(["mean", "sum", "none"]),
       layouts_=st.tuples(layouts, layouts), dtype=float_dtypes, seed=seeds)
@FAST
def test_mse_loss_matches_torch(shape, reduction, layouts_, dtype, seed):
    rng = np.random.default_rng(seed)
    inputs = [make_pair(rng, shape, dtype, lay) for lay in layouts_]
    check_against_torch(
        lambda a, b: F.mse_loss(a, b, reduction=reduction),
        lambda a, b: TF.mse_loss(a, b, reduction=reduction),
        inputs, rng, scale=10,
    )


@given(
    lead=st.lists(st.integers(1, 3), max_size=2), normalized=shapes(min_dims=1, max_dims=2, min_side=2),
    affine=st.sampled_from(["none", "weight", "bias", "both"]), layout=layouts, dtype=float_dtypes, seed=seeds,
)
@FAST
def test_layer_norm_matches_torch(lead, normalized, affine, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    layout = "contiguous" if layout == "expanded" else layout  # constant rows: var ~ eps, ill-conditioned
    # distinct values (steps of 0.25): no row is near-constant, so var >> eps and the comparison is not
    # decided by rounding (hypothesis found a 2-element row of near-equal normals: 3e-4 off in float32)
    inputs = [make_pair(rng, (*lead, *normalized), dtype, layout, kind="distinct")]
    names = []
    if affine in ("weight", "both"):
        inputs.append(make_pair(rng, normalized, dtype))
        names.append("weight")
    if affine in ("bias", "both"):
        inputs.append(make_pair(rng, normalized, dtype))
        names.append("bias")

    def call(fn, x, *params):
        return fn(x, normalized, **dict(zip(names, params)), eps=1e-5)

    check_against_torch(
        lambda *xs: call(F.layer_norm, *xs), lambda *xs: call(TF.layer_norm, *xs), inputs, rng, scale=20
    )


def test_dropout_keeps_the_expected_fraction_scales_and_backpropagates_through_its_mask():
    x = ht.ones(200, 100, requires_grad=True)
    out = F.dropout(x, 0.3, generator=ht.Generator(7))
    kept = out.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(out.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    out.backward(ht.ones(200, 100))
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-6)
    # the same generator seed gives the same mask; eval mode and p=0 are the identity
    again = F.dropout(ht.ones(200, 100), 0.3, generator=ht.Generator(7)).numpy() != 0
    np.testing.assert_array_equal(again, kept)
    assert F.dropout(x, 0.3, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 0.0).detach().numpy(), x.detach().numpy())
    assert (F.dropout(x, 1.0).detach().numpy() == 0).all()


def test_dropout_is_seeded_by_manual_seed():
    ht.manual_seed(123)
    first = F.dropout(ht.ones(50), 0.5).numpy()
    ht.manual_seed(123)
    np.testing.assert_array_equal(F.dropout(ht.ones(50), 0.5).numpy(), first)
    assert not np.array_equal(F.dropout(ht.ones(50), 0.5).numpy(), first)
