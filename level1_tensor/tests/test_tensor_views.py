"""Views share storage and copy nothing; strides and offsets equal PyTorch's; reshape copies only when
PyTorch does; writes through views reach the base; contiguous/numpy/item/tolist."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_compare import FAST, effective_strides, seeds

import hyperion.tensor as ht


def _same_storage(a: ht.Tensor, b: ht.Tensor) -> bool:
    return a.untyped_storage_id() == b.untyped_storage_id()


def _torch_shares(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


VIEWS = {
    "view": lambda x: x.view(6, 4),
    "reshape": lambda x: x.reshape(3, 2, 4),
    "transpose": lambda x: x.transpose(0, 2),
    "permute": lambda x: x.permute(1, 2, 0),
    "T": lambda x: x[0].T,
    "mT": lambda x: x.mT,
    "expand": lambda x: x[:, :1].expand(2, 7, 4),
    "unsqueeze": lambda x: x.unsqueeze(1),
    "squeeze": lambda x: x[:, :1].squeeze(1),
    "flatten": lambda x: x.flatten(),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "index": lambda x: x[1, ::2, -1],
    "index_none_ellipsis": lambda x: x[None, ..., 1:3],
    "split": lambda x: x.split(2, 2)[1],
    "chunk": lambda x: x.chunk(3, 1)[2],
    "detach": lambda x: x.detach(),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_ops_share_storage_and_match_torch_strides(name):
    base = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    h, t = ht.tensor(base), torch.tensor(base)
    hv, tv = VIEWS[name](h), VIEWS[name](t)
    assert _same_storage(hv, h) and _torch_shares(tv, t)
    assert np.shares_memory(hv.numpy(), h.numpy())
    assert hv.shape == tuple(tv.shape)
    assert effective_strides(hv.shape, hv.stride()) == effective_strides(hv.shape, tv.stride())
    assert hv.storage_offset() == tv.storage_offset() == hv.offset
    np.testing.assert_array_equal(hv.numpy(), tv.numpy())


def test_views_allocate_no_new_storage():
    import tracemalloc

    x = ht.zeros(1000, 1000)  # 4 MB
    tracemalloc.start()
    views = [x.T, x[::2], x.view(100, 10000), x.reshape(-1), x[None].expand(3, -1, -1), x.permute(1, 0)[5:]]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100_000, f"views allocated {peak} bytes"
    assert all(_same_storage(v, x) for v in views)


# ---- random chains of views, applied to both frameworks -------------------------------------------
@st.composite
def view_chain(draw):
    """A starting shape and a list of view steps, each valid for the shape it is applied to."""
    start = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=4)))
    shape = list(start)
    steps = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["transpose", "permute", "slice", "int", "unsqueeze", "expand", "squeeze"]))
        nd = len(shape)
        if kind == "transpose" and nd >= 2:
            d0, d1 = draw(st.integers(-nd, nd - 1)), draw(st.integers(-nd, nd - 1))
            steps.append(("transpose", d0, d1))
            shape[d0], shape[d1] = shape[d1], shape[d0]
        elif kind == "permute":
            dims = draw(st.permutations(range(nd)))
            steps.append(("permute", tuple(dims)))
            shape = [shape[d] for d in dims]
        elif kind == "slice":
            d = draw(st.integers(0, nd - 1))
            begin = draw(st.integers(-shape[d], shape[d] - 1))
            step = draw(st.integers(1, 3))
            steps.append(("slice", d, begin, step))
            shape[d] = len(range(*slice(begin, None, step).indices(shape[d])))
        elif kind == "int" and nd >= 2:
            d = draw(st.integers(0, nd - 1))
            steps.append(("int", d, draw(st.integers(-shape[d], shape[d] - 1))))
            del shape[d]
        elif kind == "unsqueeze" and nd < 5:
            d = draw(st.integers(-nd - 1, nd))
            steps.append(("unsqueeze", d))
            shape.insert(d % (nd + 1), 1)
        elif kind == "expand":
            new = [draw(st.integers(1, 3)) if n == 1 else n for n in shape]
            steps.append(("expand", tuple(new)))
            shape = new
        elif kind == "squeeze" and 1 in shape and nd >= 2:
            d = shape.index(1)
            steps.append(("squeeze", d))
            del shape[d]
    return start, steps


def apply_step(x, step):
    kind, *args = step
    if kind == "transpose":
        return x.transpose(*args)
    if kind == "permute":
        return x.permute(*args[0])
    if kind == "slice":
        d, start, step_ = args
        return x[(slice(None),) * d + (slice(start, None, step_),)]
    if kind == "int":
        d, i = args
        return x[(slice(None),) * d + (i,)]
    if kind == "unsqueeze":
        return x.unsqueeze(args[0])
    if kind == "expand":
        return x.expand(*args[0])
    return x.squeeze(args[0])


@given(chain=view_chain(), data=st.data(), seed=seeds)
@FAST
def test_random_view_chains_match_torch_and_reshape_copies_only_when_torch_does(chain, data, seed):
    start, steps = chain
    base = np.random.default_rng(seed).standard_normal(start).astype(np.float32)
    h, t = ht.tensor(base), torch.tensor(base)
    for step in steps:
        h, t = apply_step(h, step), apply_step(t, step)
        assert h.shape == tuple(t.shape)
        assert effective_strides(h.shape, h.strides) == effective_strides(h.shape, t.stride()), step
        assert h.storage_offset() == t.storage_offset()
        assert h.is_contiguous() == t.is_contiguous()
    np.testing.assert_array_equal(h.numpy(), t.numpy())
    # reshape to a random shape with the same number of elements: view exactly when torch views
    n = h.numel()
    factors = [f for f in range(1, n + 1) if n % f == 0]
    first = data.draw(st.sampled_from(factors))
    second = data.draw(st.sampled_from([f for f in factors if (n // first) % f == 0]))
    new_shape = (first, second, n // first // second)
    hr, tr = h.reshape(new_shape), t.reshape(new_shape)
    torch_viewed = _torch_shares(tr, t)
    assert _same_storage(hr, h) == torch_viewed, (h.shape, h.strides, new_shape)
    np.testing.assert_array_equal(hr.numpy(), tr.numpy())
    if torch_viewed:
        assert h.view(new_shape).shape == new_shape
    else:
        with pytest.raises(ht.ShapeError, match="view"):
            h.view(new_shape)


# ---- writes through views -----------------------------------------------------------------------
def test_setitem_through_a_view_is_seen_by_the_base():
    x = ht.zeros(3, 4)
    row = x[1]
    row[2] = 5.0
    col = x.T[3]
    col[0] = 7.0
    x[2, ::2] = ht.tensor([1.0, 2.0])
    x[0:1, 1] = 9.0
    expected = np.zeros((3, 4), np.float32)
    expected[1, 2], expected[0, 3], expected[2, ::2], expected[0, 1] = 5, 7, [1, 2], 9
    np.testing.assert_array_equal(x.numpy(), expected)
    assert row[2].item() == 5.0


def test_setitem_with_advanced_index_and_mask_writes_the_base():
    x = ht.zeros(5)
    x[ht.tensor([0, 3])] = 2.0
    x[x > 1.0] = 4.0
    np.testing.assert_array_equal(x.numpy(), [4, 0, 0, 4, 0])


def test_in_place_ops_under_no_grad_through_a_view_reach_the_base_and_leaf():
    w = ht.ones(2, 3, requires_grad=True)
    with ht.no_grad():
        w.T[1].add_(1.0)
        w[0].mul_(3.0)
        w[:, 2:].sub_(ht.tensor([[0.5], [0.5]]))
        w.view(6)[0].div_(2)
    np.testing.assert_array_equal(w.detach().numpy(), [[1.5, 6, 2.5], [1, 2, 0.5]])
    assert w.is_leaf and w.requires_grad


def test_in_place_zero_fill_copy_and_operators():
    x = ht.arange(6).view(2, 3).float()
    x[0].zero_()
    x[1, :2].fill_(-1.0)
    x.T[2].copy_(ht.tensor([7.0, 8.0]))
    y = x.view(6)
    y += 1
    y *= 2
    np.testing.assert_array_equal(x.numpy(), [[2, 2, 16], [0, 0, 18]])
    x.clamp_(1, 10)
    np.testing.assert_array_equal(x.numpy(), [[2, 2, 10], [1, 1, 10]])


def test_from_numpy_and_numpy_share_memory_both_ways():
    a = np.zeros((2, 2), np.float32)
    t = ht.from_numpy(a)
    a[0, 0] = 3
    assert t[0, 0].item() == 3
    t.numpy()[1, 1] = 4
    assert a[1, 1] == 4
    assert np.shares_memory(t.numpy(), a)
    assert not np.shares_memory(ht.tensor(a).numpy(), a)  # tensor() copies


# ---- contiguity and conversions -----------------------------------------------------------------
def test_contiguous_copies_only_non_contiguous_tensors():
    x = ht.randn(3, 4)
    assert x.is_contiguous() and x.contiguous() is x
    t = x.T
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and not _same_storage(c, x)
    assert c.strides == (3, 1)
    np.testing.assert_array_equal(c.numpy(), x.numpy().T)
    assert x[:, :1].is_contiguous() == torch.zeros(3, 4)[:, :1].is_contiguous()
    assert x[1:2].is_contiguous() and x[None].is_contiguous() and x[:, None].is_contiguous()
    assert not x[:, ::2].is_contiguous()
    assert not x[None].expand(2, 3, 4).is_contiguous()


def test_clone_copies_and_keeps_values():
    x = ht.arange(6).view(2, 3)
    y = x.T.clone()
    assert not _same_storage(x, y) and y.is_contiguous()
    y[0, 0] = 100
    assert x[0, 0].item() == 0


def test_numpy_item_tolist():
    x = ht.tensor([[1.5, 2.0], [3.0, 4.25]])
    assert x.tolist() == [[1.5, 2.0], [3.0, 4.25]]
    assert x.T.tolist() == [[1.5, 3.0], [2.0, 4.25]]
    assert x[1, 1].item() == 4.25 and isinstance(x[1, 1].item(), float)
    assert ht.tensor([3]).item() == 3 and isinstance(ht.tensor([3]).item(), int)
    assert ht.tensor(True).item() is True
    assert float(x[0, 0]) == 1.5 and int(ht.tensor(7)) == 7
    assert x.numpy().dtype == np.float32 and x.T.numpy().strides == (4, 8)
    assert ht.tensor(2.5).tolist() == 2.5
    with pytest.raises(ht.ShapeError, match=r"one element.*\(2, 2\)"):
        x.item()
    with pytest.raises(ht.AutogradError, match="detach"):
        ht.ones(2, requires_grad=True).numpy()
    assert ht.ones(2, requires_grad=True).detach().numpy().tolist() == [1.0, 1.0]


def test_reshape_of_contiguous_is_a_view_and_of_transposed_is_a_copy():
    x = ht.arange(12).view(3, 4)
    assert _same_storage(x.reshape(2, 6), x)
    assert not _same_storage(x.T.reshape(12), x)
    assert _same_storage(x.T.reshape(4, 3, 1), x)  # only adds a size-1 dim: still a view
    with pytest.raises(ht.ShapeError, match=r"view.*\(12,\).*reshape"):
        x.T.view(12)
