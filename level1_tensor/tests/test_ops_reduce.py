"""Reductions (sum, mean, amax, amin, max/min with dim, var, std, argmax/argmin) against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch_compare import FAST, check_against_torch, float_dtypes, layouts, make_pair, seeds, shapes

import hyperion.tensor as ht


@st.composite
def shape_and_dim(draw, min_dims: int = 1, tuple_dims: bool = True):
    """A shape and a ``dim`` for it: None, an int (maybe negative) or a tuple of distinct dims."""
    shape = draw(shapes(min_dims=min_dims, max_dims=4))
    ndim = len(shape)
    choices = [st.integers(-ndim, ndim - 1)]
    if tuple_dims:
        choices.append(
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).flatmap(
                lambda dims: st.just(tuple(d - ndim if i % 2 else d for i, d in enumerate(dims)))
            )
        )
    return shape, draw(st.one_of(*choices))


REDUCTIONS = {
    "sum": (lambda x, d, k: x.sum(d, keepdim=k), lambda x, d, k: x.sum(d, keepdim=k)),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), lambda x, d, k: x.mean(d, keepdim=k)),
    "amax": (lambda x, d, k: x.amax(d, keepdim=k), lambda x, d, k: x.amax(d, keepdim=k)),
    "amin": (lambda x, d, k: x.amin(d, keepdim=k), lambda x, d, k: x.amin(d, keepdim=k)),
    "var": (lambda x, d, k: x.var(d, keepdim=k), lambda x, d, k: x.var(d, keepdim=k)),
    "std": (lambda x, d, k: x.std(d, keepdim=k), lambda x, d, k: x.std(d, keepdim=k)),
    "var_correction0": (
        lambda x, d, k: ht.var(x, d, correction=0, keepdim=k),
        lambda x, d, k: torch.var(x, d, correction=0, keepdim=k),
    ),
    "std_correction2": (
        lambda x, d, k: ht.std(x, d, correction=2, keepdim=k),
        lambda x, d, k: torch.std(x, d, correction=2, keepdim=k),
    ),
    "std_unbiased_false": (
        lambda x, d, k: x.std(d, keepdim=k, unbiased=False),
        lambda x, d, k: torch.std(x, d, keepdim=k, unbiased=False),
    ),
}


def _count(shape, dim):
    dims = range(len(shape)) if dim is None else ((dim,) if isinstance(dim, int) else dim)
    return int(np.prod([shape[d] for d in dims]))


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(case=shape_and_dim(), keepdim=st.booleans(), layout=layouts, dtype=float_dtypes, seed=seeds)
@FAST
def test_reduction_over_dims_matches_torch(name, case, keepdim, layout, dtype, seed):
    shape, dim = case
    if name.startswith(("var", "std")):
        assume(_count(shape, dim) > 2)  # n - correction > 0
        assume(layout != "expanded")  # constant rows: var is rounding noise in float32 (see below)
    h_fn, t_fn = REDUCTIONS[name]
    rng = np.random.default_rng(seed)
    kind = "distinct" if name in ("amax", "amin") else "normal"
    check_against_torch(
        lambda x: h_fn(x, dim, keepdim), lambda x: t_fn(x, dim, keepdim),
        [make_pair(rng, shape, dtype, layout, kind)], rng, scale=4,
    )


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var", "std"])
@given(shape=shapes(min_dims=0, max_dims=3), layout=layouts, seed=seeds)
@FAST
def test_full_reduction_matches_torch(name, shape, layout, seed):
    if name in ("var", "std"):
        assume(int(np.prod(shape)) > 1)
        assume(layout != "expanded")  # constant data: torch's variance is rounding noise, not 0
    rng = np.random.default_rng(seed)
    kind = "distinct" if name in ("amax", "amin") else "normal"
    p = make_pair(rng, shape, np.float64, layout, kind)
    check_against_torch(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), [p], rng)


@pytest.mark.parametrize("which", ["max", "min"])
@given(case=shape_and_dim(tuple_dims=False), keepdim=st.booleans(), layout=layouts, seed=seeds)
@FAST
def test_max_min_with_dim_return_values_and_indices_like_torch(which, case, keepdim, layout, seed):
    shape, dim = case
    rng = np.random.default_rng(seed)
    p = make_pair(rng, shape, np.float32, layout, "distinct")
    h_values, h_indices = getattr(p.h, which)(dim, keepdim)
    t_values, t_indices = getattr(p.t, which)(dim, keepdim)
    assert h_indices.dtype == ht.int64
    np.testing.assert_array_equal(h_indices.numpy(), t_indices.numpy())
    np.testing.assert_array_equal(getattr(ht, "arg" + which)(p.h, dim, keepdim).numpy(), t_indices.numpy())
    check_against_torch(
        lambda x: getattr(x, which)(dim, keepdim).values,
        lambda x: getattr(x, which)(dim, keepdim).values,
        [make_pair(rng, shape, np.float32, layout, "distinct")], rng,
    )


@pytest.mark.parametrize("which", ["max", "min"])
def test_max_min_with_dim_send_the_gradient_to_the_returned_index_as_torch(which):
    # with ties, max(dim) (values, indices) routes the gradient to the index it returns ...
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]) * (1 if which == "max" else -1)
    h = ht.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    getattr(h, which)(1).values.sum().backward()
    getattr(t, which)(1).values.sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), t.grad.numpy())
    # ... while amax/amin (and the full max()) share it evenly among the tied elements
    h2 = ht.tensor(data, requires_grad=True)
    t2 = torch.tensor(data, requires_grad=True)
    getattr(h2, "a" + which)(1).sum().backward()
    getattr(t2, "a" + which)(1).sum().backward()
    np.testing.assert_array_equal(h2.grad.numpy(), t2.grad.numpy())
    h3 = ht.tensor(data, requires_grad=True)
    t3 = torch.tensor(data, requires_grad=True)
    getattr(h3, which)().backward()
    getattr(t3, which)().backward()
    np.testing.assert_array_equal(h3.grad.numpy(), t3.grad.numpy())


def test_std_of_constant_rows_has_zero_gradient_as_torch():
    data = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    h, t = ht.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    h.std(1).sum().backward()
    t.std(1).sum().backward()
    assert np.isfinite(h.grad.numpy()).all()
    np.testing.assert_allclose(h.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@given(shape=shapes(min_dims=0, max_dims=3), layout=layouts, seed=seeds)
@FAST
def test_argmax_argmin_without_dim_match_torch(shape, layout, seed):
    rng = np.random.default_rng(seed)
    p = make_pair(rng, shape, np.float32, layout, "distinct", requires_grad=False)
    assert ht.argmax(p.h).item() == torch.argmax(p.t).item()
    assert p.h.argmin().item() == p.t.argmin().item()


def test_sum_of_integers_and_bools_matches_torch():
    data = np.arange(12).reshape(3, 4)
    assert ht.tensor(data).sum(1).tolist() == torch.tensor(data).sum(1).tolist()
    assert ht.tensor(data).sum().dtype == ht.int64
    mask = data % 3 == 0
    assert ht.tensor(mask).sum().item() == torch.tensor(mask).sum().item()
    assert ht.tensor(mask).sum().dtype == ht.int64
