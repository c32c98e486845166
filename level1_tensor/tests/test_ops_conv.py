"""conv2d (im2col and the naive reference), max_pool2d and avg_pool2d against torch.nn.functional."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given
from hypothesis import strategies as st
from torch_compare import FAST, check_against_torch, float_dtypes, layouts, make_pair, seeds

import hyperion.tensor as ht
from hyperion.tensor import functional as F

pairs2 = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))


def _as_pair(value):
    return (value, value) if isinstance(value, int) else value


@st.composite
def conv_case(draw):
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride, dilation = draw(pairs2), draw(pairs2)
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2))))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    for size, k, p, d in zip((h, w), kernel, _as_pair(padding), _as_pair(dilation)):
        assume(size + 2 * p - d * (k - 1) - 1 >= 0)  # the kernel fits
    return (n, c, h, w), (o, c, *kernel), {"stride": stride, "padding": padding, "dilation": dilation}


@pytest.mark.parametrize("conv", [F.conv2d, F.conv2d_naive], ids=["im2col", "naive"])
@given(case=conv_case(), bias=st.booleans(), layout=layouts, dtype=float_dtypes, seed=seeds)
@FAST
def test_conv2d_matches_torch(conv, case, bias, layout, dtype, seed):
    x_shape, w_shape, args = case
    rng = np.random.default_rng(seed)
    inputs = [make_pair(rng, x_shape, dtype, layout), make_pair(rng, w_shape, dtype)]
    if bias:
        inputs.append(make_pair(rng, (w_shape[0],), dtype))

    def call(fn, x, w, b=None):
        return fn(x, w, b, **args)

    check_against_torch(
        lambda *xs: call(conv, *xs), lambda *xs: call(TF.conv2d, *xs), inputs, rng, scale=20
    )


@given(case=conv_case(), seed=seeds)
@FAST
def test_conv2d_im2col_and_naive_agree(case, seed):
    x_shape, w_shape, args = case
    rng = np.random.default_rng(seed)
    x = ht.tensor(rng.standard_normal(x_shape), dtype=np.float64)
    w = ht.tensor(rng.standard_normal(w_shape), dtype=np.float64)
    np.testing.assert_allclose(
        F.conv2d(x, w, **args).numpy(), F.conv2d_naive(x, w, **args).numpy(), rtol=1e-12, atol=1e-12
    )


@st.composite
def pool_case(draw, dilation: bool):
    kernel = draw(pairs2)
    k = _as_pair(kernel)
    stride = draw(st.one_of(st.none(), pairs2))
    padding = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    dil = draw(pairs2) if dilation else 1
    d = _as_pair(dil)
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    for size, kk, p, dd in zip((h, w), k, padding, d):
        assume(size + 2 * p - dd * (kk - 1) - 1 >= 0)
        assume(p == 0 or dd == 1)  # else a dilated window may see only padding (undefined)
    args = {"kernel_size": kernel, "stride": stride, "padding": padding}
    if dilation:
        args["dilation"] = dil
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), args


@given(case=pool_case(dilation=True), layout=layouts, dtype=float_dtypes, seed=seeds)
@FAST
def test_max_pool2d_matches_torch(case, layout, dtype, seed):
    shape, args = case
    rng = np.random.default_rng(seed)
    # distinct values: the gradient goes to the largest element of each window, unambiguous
    check_against_torch(
        lambda x: F.max_pool2d(x, **args), lambda x: TF.max_pool2d(x, **args),
        [make_pair(rng, shape, dtype, layout, "distinct")], rng,
    )


@given(case=pool_case(dilation=False), layout=layouts, dtype=float_dtypes, seed=seeds)
@FAST
def test_avg_pool2d_matches_torch(case, layout, dtype, seed):
    shape, args = case
    rng = np.random.default_rng(seed)
    check_against_torch(
        lambda x: F.avg_pool2d(x, **args), lambda x: TF.avg_pool2d(x, **args),
        [make_pair(rng, shape, dtype, layout)], rng, scale=4,
    )


def test_max_pool2d_with_ties_routes_the_gradient_like_torch():
    # relu'd activations are full of equal zeros: the gradient must go to one element per window
    data = np.zeros((1, 1, 4, 4), np.float32)
    data[0, 0, 0, 0] = 1.0
    p = make_pair(np.random.default_rng(0), (1, 1, 4, 4), np.float32)
    p.h_leaf.data.copy_(ht.tensor(data))
    p.t_leaf.data.copy_(torch.tensor(data))
    check_against_torch(lambda x: F.max_pool2d(x, 2, 1), lambda x: TF.max_pool2d(x, 2, 1), [p])


@pytest.mark.parametrize(("size", "kernel", "padding"), [(4, 2, 0), (5, 2, 1), (7, 3, 1), (6, (2, 3), 0)])
def test_max_pool2d_tiled_windows_with_ties_route_like_torch(size, kernel, padding):
    """stride = kernel takes the one-argmax backward: ties (relu zeros) and a border the windows miss."""
    rng = np.random.default_rng(size)
    data = np.maximum(rng.standard_normal((2, 3, size, size)), 0).astype(np.float32)  # many equal zeros
    p = make_pair(rng, data.shape, np.float32)
    p.h_leaf.data.copy_(ht.tensor(data))
    p.t_leaf.data.copy_(torch.tensor(data))
    check_against_torch(lambda x: F.max_pool2d(x, kernel, kernel, padding),
                        lambda x: TF.max_pool2d(x, kernel, kernel, padding), [p])
