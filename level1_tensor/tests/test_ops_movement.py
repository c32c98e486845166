"""View ops, indexing, cat/stack/split/chunk: forward and backward against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
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

SHAPE = (2, 3, 4)

# (name, op) applied to an input of SHAPE in both frameworks (the op is written once: same API).
VIEW_OPS = {
    "permute": lambda x: x.permute(2, 0, 1),
    "permute_negative": lambda x: x.permute(-1, -3, -2),
    "transpose": lambda x: x.transpose(0, 2),
    "T_2d": lambda x: x[0].T,
    "mT": lambda x: x.mT,
    "expand": lambda x: x[:, :1].expand(2, 5, 4),
    "expand_new_dims": lambda x: x.expand(3, 2, 3, 4),
    "expand_minus_one": lambda x: x[:1].expand(4, -1, -1),
    "view": lambda x: x.contiguous().view(6, 4),
    "view_minus_one": lambda x: x.contiguous().view(-1, 2),
    "view_as": lambda x: x.contiguous().view(3, 8),
    "reshape": lambda x: x.reshape(4, 6),
    "reshape_tuple": lambda x: x.reshape((24,)),
    "squeeze": lambda x: x[:, :1, None].squeeze(),
    "squeeze_dim": lambda x: x[:, :1].squeeze(1),
    "squeeze_tuple": lambda x: x[:1, :1].squeeze((0, 1)),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "unsqueeze_negative": lambda x: x.unsqueeze(-1),
    "flatten": lambda x: x.flatten(),
    "flatten_range": lambda x: x.flatten(1, 2),
    "flatten_front": lambda x: x.flatten(0, 1),
    "narrow": lambda x: x.narrow(2, 1, 2),
    "index_int": lambda x: x[1],
    "index_negative": lambda x: x[-1, -2],
    "index_slice_step": lambda x: x[:, ::2, 1::2],
    "index_slice_negative_bounds": lambda x: x[:, -2:, :-1],
    "index_none_ellipsis": lambda x: x[None, ..., 1],
    "index_ellipsis_middle": lambda x: x[0, ..., None, 2:],
    "index_mixed": lambda x: x[1, None, ::2, -1],
    "index_out_of_bounds_slice": lambda x: x[:, 1:100],
    "chained_views": lambda x: x.transpose(0, 1)[1:, :, ::3].unsqueeze(0).expand(2, -1, -1, -1),
}


@pytest.mark.parametrize("name", sorted(VIEW_OPS))
@given(layout=layouts, dtype=float_dtypes, seed=seeds)
@FAST
def test_view_op_matches_torch(name, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    op = VIEW_OPS[name]
    check_against_torch(op, op, [make_pair(rng, SHAPE, dtype, layout)], rng)


def _advanced_keys(rng: np.random.Generator):
    """Advanced-index keys for a (4, 5, 3) input, in both frameworks; indices repeat on purpose."""
    idx_h, idx_t = index_pair(rng.integers(-4, 4, size=7))
    idx2_h, idx2_t = index_pair(rng.integers(0, 5, size=(2, 3)))
    mask_h, mask_t = index_pair(rng.random((4, 5)) > 0.4)
    row_mask_h, row_mask_t = index_pair(rng.random(4) > 0.5)
    col_h, col_t = index_pair(rng.integers(-5, 5, size=7))
    return {
        "int_tensor": (idx_h, idx_t),
        "int_tensor_2d_on_dim1": ((slice(None), idx2_h), (slice(None), idx2_t)),
        "two_int_tensors": ((idx_h, col_h), (idx_t, col_t)),
        "int_tensor_with_slice_and_int": ((idx_h, slice(1, None), 0), (idx_t, slice(1, None), 0)),
        "bool_mask_2d": (mask_h, mask_t),
        "bool_mask_rows": (row_mask_h, row_mask_t),
        "bool_mask_ellipsis": ((Ellipsis, mask_h[0, :3]), (Ellipsis, mask_t[0, :3])),
        "list_of_ints": ([0, 0, 3, -1], [0, 0, 3, -1]),
    }


ADVANCED_KEYS = [
    "bool_mask_2d",
    "bool_mask_ellipsis",
    "bool_mask_rows",
    "int_tensor",
    "int_tensor_2d_on_dim1",
    "int_tensor_with_slice_and_int",
    "list_of_ints",
    "two_int_tensors",
]  # spelled out: collecting tests must not run library code (a learner's skeleton raises there)


def test_advanced_key_names_are_all_listed():
    assert sorted(_advanced_keys(np.random.default_rng(0))) == ADVANCED_KEYS


@pytest.mark.parametrize("name", ADVANCED_KEYS)
@given(layout=layouts, seed=seeds)
@FAST
def test_advanced_indexing_gathers_and_scatter_adds_as_torch(name, layout, seed):
    rng = np.random.default_rng(seed)
    h_key, t_key = _advanced_keys(rng)[name]
    p = make_pair(rng, (4, 5, 3), np.float64, layout)
    h_out, _ = check_against_torch(lambda x: x[h_key], lambda x: x[t_key], [p], rng)
    assert h_out.untyped_storage_id() != p.h_leaf.untyped_storage_id()  # a gather copies


@given(
    shape=shapes(min_dims=1, max_dims=3),
    count=st.integers(1, 3),
    data=st.data(),
    layout=layouts,
    dtype=float_dtypes,
    seed=seeds,
)
@FAST
def test_cat_and_stack_match_torch(shape, count, data, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    cat_shapes = [tuple(s if i != dim % len(shape) else n for i, s in enumerate(shape)) for n in sizes]
    inputs = [make_pair(rng, s, dtype, layout) for s in cat_shapes]
    check_against_torch(lambda *xs: ht.cat(xs, dim), lambda *xs: torch.cat(xs, dim), inputs, rng)
    stack_dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    inputs = [make_pair(rng, shape, dtype, layout) for _ in range(count)]
    check_against_torch(
        lambda *xs: ht.stack(xs, stack_dim), lambda *xs: torch.stack(xs, stack_dim), inputs, rng
    )


@given(
    shape=shapes(min_dims=1, max_dims=3, max_side=7),
    data=st.data(),
    layout=layouts,
    seed=seeds,
)
@FAST
def test_split_and_chunk_match_torch(shape, data, layout, seed):
    rng = np.random.default_rng(seed)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[dim]
    split_size = data.draw(st.integers(1, size + 1))
    chunks = data.draw(st.integers(1, size + 1))
    parts = data.draw(st.lists(st.integers(0, size), min_size=1, max_size=3))
    sizes = [*parts, size - sum(parts)] if sum(parts) <= size else [size]
    for h_fn, t_fn in [
        (lambda x: x.split(split_size, dim), lambda x: x.split(split_size, dim)),
        (lambda x: ht.split(x, sizes, dim), lambda x: torch.split(x, sizes, dim)),
        (lambda x: x.chunk(chunks, dim), lambda x: x.chunk(chunks, dim)),
        (lambda x: ht.chunk(x, chunks, dim), lambda x: torch.chunk(x, chunks, dim)),
    ]:
        p = make_pair(rng, shape, np.float64, layout)
        h_parts, t_parts = check_against_torch(h_fn, t_fn, [p], rng)
        assert [q.shape for q in h_parts] == [tuple(q.shape) for q in t_parts]
        assert all(q.untyped_storage_id() == p.h_leaf.untyped_storage_id() for q in h_parts)


def test_backward_through_only_some_split_pieces():
    p = make_pair(np.random.default_rng(0), (6, 2), np.float64)
    check_against_torch(lambda x: x.split(4)[1] * 3, lambda x: x.split(4)[1] * 3, [p])


def test_embedding_matches_torch_and_accumulates_repeated_rows():
    from hyperion.tensor import functional as F

    rng = np.random.default_rng(3)
    weight = make_pair(rng, (6, 4), np.float32)
    h_idx, t_idx = index_pair(np.array([[0, 2, 2], [5, 0, 2]]))
    check_against_torch(
        lambda w: F.embedding(h_idx, w), lambda w: torch.nn.functional.embedding(t_idx, w), [weight], rng
    )
    counts = np.bincount([0, 2, 2, 5, 0, 2], minlength=6)
    w = ht.ones(6, 4, requires_grad=True)
    F.embedding(h_idx, w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.repeat(counts[:, None], 4, 1).astype(np.float32))
