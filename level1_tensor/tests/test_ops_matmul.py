"""matmul (1-D, 2-D, batched with broadcasting) and linear against PyTorch."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_compare import FAST, check_against_torch, float_dtypes, layouts, make_pair, seeds

import hyperion.tensor as ht
from hyperion.tensor import functional as F


@st.composite
def matmul_shapes(draw):
    """Operand shapes for every matmul case: 1-D·1-D, 1-D·n-D, n-D·1-D, and broadcast batches."""
    n, k, m = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    a_ndim, b_ndim = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(st.lists(st.integers(1, 3), min_size=2, max_size=2))

    def batch_of(extra):  # trailing batch dims, each kept or set to 1 (broadcast)
        dims = batch[len(batch) - extra :] if extra > 0 else []
        return tuple(d if draw(st.booleans()) else 1 for d in dims)

    a = (k,) if a_ndim == 1 else batch_of(a_ndim - 2) + (n, k)
    b = (k,) if b_ndim == 1 else batch_of(b_ndim - 2) + (k, m)
    return a, b


@given(shapes_=matmul_shapes(), lay=st.tuples(layouts, layouts), dtype=float_dtypes, seed=seeds)
@FAST
def test_matmul_matches_torch(shapes_, lay, dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = (make_pair(rng, s, dtype, layout) for s, layout in zip(shapes_, lay))
    check_against_torch(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], rng, scale=10)
    a2, b2 = (make_pair(rng, s, dtype, layout) for s, layout in zip(shapes_, lay))
    check_against_torch(ht.matmul, torch.matmul, [a2, b2], rng, scale=10)


@given(
    lead=st.lists(st.integers(1, 3), max_size=2), n_in=st.integers(1, 5), n_out=st.integers(1, 5),
    bias=st.booleans(), layout=layouts, dtype=float_dtypes, seed=seeds,
)
@FAST
def test_linear_matches_torch(lead, n_in, n_out, bias, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    inputs = [make_pair(rng, (*lead, n_in), dtype, layout), make_pair(rng, (n_out, n_in), dtype, "transposed")]
    if bias:
        inputs.append(make_pair(rng, (n_out,), dtype))
    check_against_torch(F.linear, torch.nn.functional.linear, inputs, rng, scale=10)


def test_matmul_on_integers_matches_torch():
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    out = ht.tensor(a) @ ht.tensor(b)
    assert out.dtype == ht.int64
    np.testing.assert_array_equal(out.numpy(), (torch.tensor(a) @ torch.tensor(b)).numpy())


def test_linear_backward_skips_the_product_an_input_does_not_need(monkeypatch):
    """A first layer's input needs no gradient: its backward makes one product (the weight's), not two,
    and the weight's gradient is unchanged; with the input requiring grad both are made and match torch."""
    from hyperion.tensor.backend import get_backend

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((6, 5)), rng.standard_normal((4, 5))
    backend, calls = get_backend("cpu"), []
    real = backend.matmul
    monkeypatch.setattr(backend, "matmul", lambda a, b: calls.append((a.shape, b.shape)) or real(a, b))
    for x_needs_grad in (False, True):
        xt, wt = ht.tensor(x, requires_grad=x_needs_grad), ht.tensor(w, requires_grad=True)
        out = F.linear(xt, wt)
        calls.clear()
        out.sum().backward()
        tx, tw = torch.tensor(x, requires_grad=x_needs_grad), torch.tensor(w, requires_grad=True)
        torch.nn.functional.linear(tx, tw).sum().backward()
        np.testing.assert_allclose(wt.grad.numpy(), tw.grad.numpy(), rtol=1e-12)
        assert len(calls) == (2 if x_needs_grad else 1)
        assert (xt.grad is None) == (not x_needs_grad)
        if x_needs_grad:
            np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
