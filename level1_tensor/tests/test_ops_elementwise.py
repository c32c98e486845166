"""Elementwise ops, forward and backward, against PyTorch CPU on random (broadcast, strided) inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_compare import (
    FAST,
    broadcastable_shapes,
    check_against_torch,
    float_dtypes,
    index_pair,
    layouts,
    make_pair,
    pairs,
    seeds,
    shapes,
)

import hyperion.tensor as ht
from hyperion.tensor import functional as F

BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, "normal"),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, "normal"),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, "normal"),
    "div": (lambda a, b: a / b, lambda a, b: a / b, "positive"),
    "pow": (lambda a, b: a**b, lambda a, b: a**b, "positive"),
    "maximum": (ht.maximum, torch.maximum, "distinct"),
    "minimum": (ht.minimum, torch.minimum, "distinct"),
}

UNARY = {
    "neg": (lambda x: -x, lambda x: -x, "normal"),
    "exp": (ht.exp, torch.exp, "normal"),
    "log": (ht.log, torch.log, "positive"),
    "sqrt": (ht.sqrt, torch.sqrt, "positive"),
    "abs": (ht.abs, torch.abs, "distinct"),
    "relu": (ht.relu, torch.relu, "distinct"),
    "sigmoid": (ht.sigmoid, torch.sigmoid, "normal"),
    "tanh": (ht.tanh, torch.tanh, "normal"),
    "gelu": (F.gelu, torch.nn.functional.gelu, "normal"),
    "gelu_tanh": (
        lambda x: F.gelu(x, approximate="tanh"),
        lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
        "normal",
    ),
    "pow_scalar_2": (lambda x: x**2, lambda x: x**2, "normal"),
    "pow_scalar_3": (lambda x: x**3, lambda x: x**3, "normal"),
    "pow_scalar_half": (lambda x: x**0.5, lambda x: x**0.5, "positive"),
    "pow_scalar_neg": (lambda x: x**-1.5, lambda x: x**-1.5, "positive"),
    "pow_scalar_0": (lambda x: x**0, lambda x: x**0, "normal"),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x, "normal"),
    "clamp_both": (lambda x: ht.clamp(x, -0.3, 0.4), lambda x: torch.clamp(x, -0.3, 0.4), "distinct"),
    "clamp_min": (lambda x: x.clamp(min=0.2), lambda x: x.clamp(min=0.2), "distinct"),
    "clamp_max": (lambda x: x.clamp(max=0.2), lambda x: x.clamp(max=0.2), "distinct"),
    "scalar_arith": (
        lambda x: (3 - x) * 2 / 4 + 1,
        lambda x: (3 - x) * 2 / 4 + 1,
        "normal",
    ),
    "rdiv": (lambda x: 1.5 / x, lambda x: 1.5 / x, "positive"),
    "clone": (lambda x: x.clone(), lambda x: x.clone(), "normal"),
    "contiguous": (lambda x: x.contiguous(), lambda x: x.contiguous(), "normal"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(shapes_=broadcastable_shapes(2), lay=st.tuples(layouts, layouts), dtype=float_dtypes, seed=seeds)
@FAST
def test_binary_matches_torch(name, shapes_, lay, dtype, seed):
    h_fn, t_fn, kind = BINARY[name]
    rng = np.random.default_rng(seed)
    inputs = pairs(rng, shapes_, lay, dtype, kind)
    check_against_torch(h_fn, t_fn, inputs, rng)


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes(), layout=layouts, dtype=float_dtypes, seed=seeds)
@FAST
def test_unary_matches_torch(name, shape, layout, dtype, seed):
    h_fn, t_fn, kind = UNARY[name]
    rng = np.random.default_rng(seed)
    check_against_torch(h_fn, t_fn, [make_pair(rng, shape, dtype, layout, kind)], rng)


@given(shapes_=broadcastable_shapes(3), lay=st.tuples(layouts, layouts), dtype=float_dtypes, seed=seeds)
@FAST
def test_where_matches_torch(shapes_, lay, dtype, seed):
    rng = np.random.default_rng(seed)
    cond_shape, a_shape, b_shape = shapes_
    h_cond, t_cond = index_pair(rng.random(cond_shape) > 0.5)
    inputs = pairs(rng, [a_shape, b_shape], lay, dtype)
    check_against_torch(
        lambda a, b: ht.where(h_cond, a, b), lambda a, b: torch.where(t_cond, a, b), inputs, rng
    )


@given(shapes_=broadcastable_shapes(3), seed=seeds)
@FAST
def test_clamp_with_tensor_bounds_matches_torch(shapes_, seed):
    # PyTorch broadcasts the bounds to the input, never the input to the bounds
    x_shape = ht.broadcast_shapes(*shapes_)
    rng = np.random.default_rng(seed)
    inputs = pairs(rng, [x_shape, *shapes_[1:]], ["transposed", "contiguous", "sliced"], np.float64)
    check_against_torch(
        lambda x, lo, hi: ht.clamp(x, lo, hi), lambda x, lo, hi: torch.clamp(x, lo, hi), inputs, rng
    )


def test_where_with_a_number_and_masked_fill():
    rng = np.random.default_rng(0)
    (p,) = pairs(rng, [(3, 4)], ["transposed"], np.float64)
    h_mask, t_mask = index_pair(rng.random((3, 4)) > 0.5)
    check_against_torch(lambda x: ht.where(h_mask, x, 0.0), lambda x: torch.where(t_mask, x, 0.0), [p], rng)
    (p,) = pairs(rng, [(3, 4)], ["sliced"], np.float32)
    check_against_torch(
        lambda x: x.masked_fill(h_mask, -1e9), lambda x: x.masked_fill(t_mask, -1e9), [p], rng
    )


@pytest.mark.parametrize("ht_op, t_op", [
    (lambda a, b: a == b, lambda a, b: a == b),
    (lambda a, b: a != b, lambda a, b: a != b),
    (lambda a, b: a < b, lambda a, b: a < b),
    (lambda a, b: a <= b, lambda a, b: a <= b),
    (lambda a, b: a > b, lambda a, b: a > b),
    (lambda a, b: a >= b, lambda a, b: a >= b),
    (lambda a, b: (a > 0) & (b > 0), lambda a, b: (a > 0) & (b > 0)),
    (lambda a, b: (a > 0) | (b > 0), lambda a, b: (a > 0) | (b > 0)),
    (lambda a, b: ~(a > b), lambda a, b: ~(a > b)),
])
def test_comparisons_match_torch_and_carry_no_grad(ht_op, t_op):
    rng = np.random.default_rng(1)
    a = rng.integers(-2, 3, (4, 5)).astype(np.float32)
    b = rng.integers(-2, 3, (5,)).astype(np.float32)
    ha, hb = ht.tensor(a, requires_grad=True), ht.tensor(b, requires_grad=True)
    out = ht_op(ha, hb)
    assert out.dtype == ht.bool_
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), t_op(torch.tensor(a), torch.tensor(b)).numpy())


@pytest.mark.parametrize("target", [np.float16, np.float32, np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("source", [np.float32, np.float64])
def test_to_dtype_matches_torch_and_passes_gradient_back(source, target):
    rng = np.random.default_rng(2)
    p = make_pair(rng, (3, 4), source, "transposed")
    from torch_compare import TORCH_DTYPES

    h_out, t_out = p.h.to(target), p.t.to(TORCH_DTYPES[np.dtype(target)])
    assert h_out.dtype == np.dtype(target)
    np.testing.assert_array_equal(h_out.detach().numpy(), t_out.detach().numpy())
    if np.dtype(target).kind == "f":
        g = rng.standard_normal((3, 4)).astype(target)
        h_out.backward(ht.tensor(g, dtype=target))
        t_out.backward(torch.tensor(g))
        assert p.h_leaf.grad.dtype == np.dtype(source)
        np.testing.assert_array_equal(p.h_leaf.grad.numpy(), p.t_leaf.grad.numpy())
    else:
        assert not h_out.requires_grad


def test_dtype_promotion_follows_torch():
    i = ht.tensor([1, 2, 3])
    f = ht.tensor([0.5, 1.5, 2.5])
    d = ht.tensor(np.array([0.5, 1.5, 2.5]))
    ti, tf, td = torch.tensor([1, 2, 3]), torch.tensor([0.5, 1.5, 2.5]), torch.tensor([0.5, 1.5, 2.5]).double()
    cases = [
        (i * 2, ti * 2),
        (i * 2.5, ti * 2.5),
        (i / 2, ti / 2),
        (i + f, ti + tf),
        (d + i, td + ti),
        (f * 2, tf * 2),
        (d * 2.0, td * 2.0),
        (ht.tensor([True, False]) + 1, torch.tensor([True, False]) + 1),
    ]
    for ours, theirs in cases:
        assert ours.dtype == theirs.numpy().dtype, (ours, theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_clamp_with_tensor_bounds_gives_ties_to_x_like_torch():
    x, lo, hi = np.array([0.0, 1.0, 2.0, 3.0]), np.ones(4), np.full(4, 2.0)
    ours = [ht.tensor(a, requires_grad=True) for a in (x, lo, hi)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, lo, hi)]
    ours[0].clamp(ours[1], ours[2]).sum().backward()
    torch.clamp(*theirs).sum().backward()
    for h, t in zip(ours, theirs):
        np.testing.assert_array_equal(h.grad.numpy(), t.grad.numpy())


def test_relu_of_infinities_and_nan_matches_torch():
    # x · [x > 0] gave NaN at -inf (-inf · 0); max(x, 0) gives PyTorch's 0 there and keeps a NaN a NaN
    data = np.array([-np.inf, -1.0, -0.0, 0.0, 2.0, np.inf, np.nan], np.float32)
    x, t = ht.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = ht.relu(x), torch.relu(t)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
