"""The autograd engine: deep graphs, accumulation, no_grad, detach, backward(gradient), retain_graph."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperion.tensor as ht


def test_a_chain_of_100000_ops_backpropagates_without_recursion_error():
    x = ht.tensor(1.0, dtype=ht.float64, requires_grad=True)
    y = x
    start = time.perf_counter()
    for _ in range(50_000):
        y = y * 1.0 + 0.0  # two ops per step: 100,000 nodes in one chain
    assert sys.getrecursionlimit() < 100_000
    y.backward()
    elapsed = time.perf_counter() - start
    assert x.grad.item() == 1.0
    assert elapsed < 20, f"100,000-op chain took {elapsed:.1f}s"


def test_gradients_accumulate_across_backward_calls_and_zero_resets():
    x = ht.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2 + 3, 4 + 3])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 3])


def test_no_grad_records_nothing_and_restores_the_mode():
    x = ht.ones(2, requires_grad=True)
    with ht.no_grad():
        y = x * 2
        assert not ht.is_grad_enabled()
        with ht.enable_grad():
            z = x * 2
    assert ht.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad and z.grad_fn is not None
    with ht.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    with pytest.raises(RuntimeError), ht.no_grad():
        raise RuntimeError("leaving by an exception")
    assert ht.is_grad_enabled()


def test_detach_shares_storage_and_cuts_the_graph():
    x = ht.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    assert d.untyped_storage_id() == y.untyped_storage_id()
    (d * y).sum().backward()  # d is a constant here
    np.testing.assert_array_equal(x.grad.numpy(), [9, 18])


def test_backward_with_a_gradient_for_non_scalars_matches_torch():
    data = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    g = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 0.5]])
    x, tx = ht.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    (x * x).backward(ht.tensor(g))
    (tx * tx).backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    y = ht.ones(3, requires_grad=True)
    (y * 2).backward(np.array([1.0, 0.0, 2.0], np.float32))  # array-likes accepted
    assert y.grad.tolist() == [2.0, 0.0, 4.0]
    z = ht.ones(1, requires_grad=True)
    (z * 5).backward()  # one element: no gradient needed
    assert z.grad.tolist() == [5.0]


def test_retain_graph():
    x = ht.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()  # the retained graph can be used again: the gradients double
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(ht.AutogradError, match="freed.*retain_graph=True"):
        y.backward()


def test_second_backward_without_retain_graph_is_a_clear_error():
    x = ht.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(ht.AutogradError, match="retain_graph=True"):
        y.backward()


def test_diamond_graph_and_a_tensor_used_many_times_match_torch():
    def f(lib, x):
        a = x * 2
        b = lib.exp(a)
        c = a * b + a / (b + 1)  # a reaches c along three paths
        d = c * x + x * x * x  # x used four times
        return (d + a).sum()

    data = np.array([0.3, -0.7, 1.1])
    x, tx = ht.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    f(ht, x).backward()
    f(torch, tx).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_wide_fan_out_accumulates_every_use():
    x = ht.tensor(2.0, dtype=ht.float64, requires_grad=True)
    total = sum((x * i for i in range(1, 1001)), ht.tensor(0.0, dtype=ht.float64))
    total.backward()
    assert x.grad.item() == sum(range(1, 1001))


def test_requires_grad_propagates():
    a = ht.ones(2, requires_grad=True)
    b = ht.ones(2)
    assert (a + b).requires_grad and (b * a).requires_grad and not (b * 2).requires_grad
    assert a.is_leaf and not (a + b).is_leaf and (a + b).grad_fn is not None
    assert a[0].requires_grad and a.T.requires_grad and a.view(2, 1).requires_grad
    assert ht.cat([b, a]).requires_grad and ht.stack([b, b]).requires_grad is False
    b.requires_grad_()
    assert b.requires_grad
    with pytest.raises(ht.AutogradError, match="leaf"):
        (a * 2).requires_grad_(False)
    (a * b).sum().backward()
    assert a.grad is not None and b.grad is not None


def test_gradient_only_reaches_leaves_that_require_it():
    a, b = ht.ones(2, requires_grad=True), ht.ones(2)
    (a * b).sum().backward()
    assert b.grad is None
    mid = a * 3
    (mid * 2).sum().backward()
    assert mid.grad is None  # non-leaf: not kept unless asked


def test_retain_grad_keeps_an_intermediate_gradient():
    a = ht.ones(2, requires_grad=True)
    mid = a * 3
    mid.retain_grad()
    (mid * mid).sum().backward()
    assert mid.grad.tolist() == [6.0, 6.0] and a.grad.tolist() == [18.0, 18.0]


def test_gradients_through_views_of_a_leaf_sum_back_to_it():
    w = ht.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    tw = torch.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    for lib_w, out in ((w, None), (tw, None)):
        out = (lib_w.T[1:] * lib_w[0, 1:].unsqueeze(1)).sum() + (lib_w.reshape(6)[::2] ** 2).sum()
        out.backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_a_custom_function_plugs_into_the_engine():
    class Cube(ht.Function):
        def forward(self, x):
            self.x = x
            return x**3

        def backward(self, grad):
            return 3 * self.x**2 * grad

    x = ht.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x)
    assert repr(y.grad_fn) == "<CubeBackward>"
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 12.0]


def test_in_place_change_of_a_saved_tensor_is_caught_in_backward():
    x = ht.randn(3)
    w = ht.randn(3, requires_grad=True)
    y = (x * w).sum()  # Mul saves x for w's gradient
    with ht.no_grad():
        x[0] = 5.0  # a write through a view reaches the saved storage too
    with pytest.raises(ht.AutogradError, match=r"MulBackward.*modified in place"):
        y.backward()


def test_in_place_change_of_a_tensor_no_backward_reads_is_allowed():
    x = ht.randn(3)
    w = ht.randn(3, requires_grad=True)
    y = (x + w).sum()  # Add needs no values for its backward
    x.add_(1.0)
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones(3, dtype=np.float32))


def test_optimizer_step_between_forward_and_backward_is_caught():
    w = ht.randn(3, requires_grad=True)
    y = (w * w).sum()
    with ht.no_grad():
        w.sub_(0.1)
    with pytest.raises(ht.AutogradError, match="modified in place"):
        y.backward()


def test_backward_lets_go_of_each_intermediate_once_it_is_done():
    # a finished op keeps neither its saved values nor its parents: activations die during backward,
    # not when the loss tensor does (PyTorch frees them the same way)
    import weakref

    x = ht.tensor(np.linspace(-1.0, 1.0, 6), requires_grad=True)
    h = x * 2.0
    seen = weakref.ref(h)
    y = (h.exp() * h).sum()
    del h
    assert seen() is not None  # y's graph holds it until backward
    y.backward()
    assert seen() is None
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * x.detach().numpy()) * (1 + 2 * x.detach().numpy()))
    with pytest.raises(ht.AutogradError, match="retain_graph=True"):
        y.backward()


def test_op_hook_runs_the_op_and_the_engine_work_passed_as_finish():
    from hyperion.tensor import autograd

    calls = []

    def hook(ctx, phase, arrays, options, finish):
        result = ctx.backward(*arrays) if phase == "backward" else ctx.forward(*arrays, **options)
        finished = finish(result)
        calls.append((type(ctx).__name__, phase, type(finished).__name__))
        return finished

    previous = autograd.set_op_hook(hook)
    try:
        x = ht.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
    finally:
        autograd.set_op_hook(previous)
    assert ("Mul", "forward", "Tensor") in calls  # finish made the Tensor and recorded the graph
    assert y._ctx is not None and y.requires_grad
    assert ("Sum", "backward", "NoneType") in calls  # finish handed the gradient on
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_a_leaf_keeps_its_first_gradient_without_a_copy_only_when_nothing_else_holds_it(monkeypatch):
    backend = ht.get_backend("cpu")
    copies = []
    monkeypatch.setattr(backend, "copy", lambda a: copies.append(a.shape) or np.array(a, copy=True))
    w = ht.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    b = ht.tensor(np.zeros(3, np.float32), requires_grad=True)
    x = ht.tensor(np.arange(8, dtype=np.float32).reshape(2, 4))
    (x @ w + b).sum().backward()  # both gradients are fresh arrays only the engine holds: kept, not copied
    assert copies == []
    np.testing.assert_array_equal(w.grad.numpy(), np.repeat(x.numpy().sum(0)[:, None], 3, axis=1))
    # Add's backward hands one (fresh) array to both inputs: the first leaf visited copies it, the last keeps it
    p, q = (ht.tensor(np.ones(3, np.float32), requires_grad=True) for _ in range(2))
    ((p + q) * ht.tensor(np.full(3, 3.0, np.float32))).sum().backward()
    assert len(copies) == 1 and not np.shares_memory(p.grad.numpy(), q.grad.numpy())
    p.grad.numpy()[:] = 7.0
    np.testing.assert_array_equal(q.grad.numpy(), np.full(3, 3.0))
    # a tensor that retains its gradient passes the same array on to its op: it keeps a copy
    r = ht.tensor(np.ones(3, np.float32), requires_grad=True)
    s = r * 2.0
    s.retain_grad()
    (s * s).sum().backward()
    np.testing.assert_array_equal(s.grad.numpy(), np.full(3, 4.0))
    np.testing.assert_array_equal(r.grad.numpy(), np.full(3, 8.0))
    assert not np.shares_memory(s.grad.numpy(), r.grad.numpy())


def test_slices_of_one_tensor_add_their_gradients_into_one_array(monkeypatch):
    """q, k, v = split(qkv): the first slice's backward makes the zeros, the others add into them."""
    backend = ht.get_backend("cpu")
    zeros = []
    real_zeros = backend.zeros
    monkeypatch.setattr(backend, "zeros", lambda shape, dtype: zeros.append(shape) or real_zeros(shape, dtype))
    rng = np.random.default_rng(0)
    data = rng.standard_normal((2, 5, 12)).astype(np.float32)
    weights = [rng.standard_normal((2, 5, 4)).astype(np.float32) for _ in range(3)]
    x = ht.tensor(data, requires_grad=True)
    y = x * 2.0
    pieces = ht.split(y, 4, dim=-1)
    sum(((p * ht.tensor(w)).sum() for p, w in zip(pieces, weights, strict=True)), ht.tensor(0.0)).backward()
    assert zeros == [(2, 5, 12)]  # one (2, 5, 12) array for three slices (before: three, and two sums)
    xt = torch.tensor(data, requires_grad=True)
    yt = xt * 2.0
    sum((p * torch.tensor(w)).sum() for p, w in zip(yt.split(4, dim=-1), weights, strict=True)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    # integer, None and ... keys, overlapping slices, and the same slice twice: summed like PyTorch
    x = ht.tensor(data, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    for t in (x, xt):
        z = t * 1.5
        (z[1].sum() * 2 + z[0, 2, 3] + z[..., 2:7].sum() + z[:, None, 1:3].sum() + z[..., 2:7].sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


def test_gradients_are_summed_in_place_only_into_an_array_nothing_else_holds():
    """The engine adds a tensor's second gradient into its first only when it alone holds the first."""

    class Handed(ht.Function):  # backward hands on an array someone else keeps (here: a list)
        kept: list = []

        def forward(self, x):
            return x * 1.0

        def backward(self, grad):
            out = np.ones_like(grad)
            Handed.kept.append(out)
            return out

    x = ht.tensor(np.zeros(3, np.float32), requires_grad=True)
    y = x * 1.0
    (Handed.apply(y).sum() + (y * 2.0).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 3.0))
    np.testing.assert_array_equal(Handed.kept[0], np.ones(3))  # not the sum: it was never written into
    # the gradient handed to backward() stays the caller's, however many ops use the root
    seed = np.ones(3, np.float32)
    u = ht.tensor(np.ones(3, np.float32), requires_grad=True)
    v = u * 1.0
    w = v + v * 2.0  # v feeds two ops: its gradients 1 and 2 are summed
    g = ht.tensor(seed)
    w.backward(g)
    np.testing.assert_array_equal(g.numpy(), np.ones(3))
    np.testing.assert_array_equal(u.grad.numpy(), np.full(3, 3.0))
    # an op's retained graph keeps what it saved: two backward passes give the same gradients
    a = ht.tensor(np.arange(3, dtype=np.float32), requires_grad=True)
    b = a * a
    c = b + b * 3.0
    c.sum().backward(retain_graph=True)
    first = a.grad.numpy().copy()
    a.grad = None
    c.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), first)
    np.testing.assert_array_equal(first, 8 * np.arange(3.0))


def test_a_kept_gradient_is_not_a_view_of_memory_another_tensor_uses():
    base = ht.tensor(np.arange(6, dtype=np.float64), requires_grad=True)
    leaf = ht.tensor(np.ones(3), requires_grad=True)
    total = (base[:3] * leaf).sum() + base.sum()
    total.backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), np.arange(3.0))
    np.testing.assert_array_equal(base.grad.numpy(), [2.0, 2.0, 2.0, 1.0, 1.0, 1.0])
    for t in (base, leaf):
        assert t.grad.numpy().base is None or not np.shares_memory(t.grad.numpy(), base.numpy())


# ---- random graphs with shared subexpressions, slices and reuse, against PyTorch ------------------------
OPS = ("add", "mul", "tanh", "scale", "slices", "split3", "row", "self", "transposed")


def _run_program(lib, x, program):
    """Apply ``program`` (op name, operand indices) to a pool that starts as [x, 2x]; return the loss."""
    pool = [x, x * 2.0]
    for op, i, j in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if op == "add":
            out = a + b
        elif op == "mul":  # (tanh keeps every value within a factor of 3 per op: no overflow in 12 ops)
            out = a * b.tanh()
        elif op == "tanh":
            out = a.tanh()
        elif op == "scale":
            out = a * 0.5 + 1.0
        elif op == "slices":  # two slices of one tensor, put back side by side with different weights
            out = lib.cat([a[:, :3] * 2.0, a[:, 3:] - b[:, 3:]], 1)
        elif op == "split3":  # q, k, v = a.split(2, -1), used unevenly
            q, k, v = a.split(2, dim=-1)
            out = lib.cat([q * k.tanh(), v, q], 1)
        elif op == "transposed":  # gradients that are views of one array (Add hands the same one to both)
            out = (a.T + b.T).T
        elif op == "row":  # an integer index and a broadcast back
            out = a + a[1] * b[2:3].tanh()
        else:  # a tensor with itself
            out = a * a.tanh() + a
        pool.append(out)
    # a weight array per pool entry: each entry's gradient starts as a fresh array (not a broadcast view)
    weights = np.linspace(-1.0, 1.0, 24).reshape(4, 6)
    # only the last entries enter the loss: the others get gradients through the graph alone, in any order
    terms = [(p * lib.tensor(weights * (k + 1))).sum() for k, p in enumerate(pool[-2:])]
    loss = terms[0]
    for term in terms[1:]:
        loss = loss + term
    return loss


@given(program=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 20), st.integers(0, 20)),
                        min_size=1, max_size=12),
       seed=st.integers(0, 2**16))
@settings(max_examples=60, deadline=None)
def test_random_graphs_with_reuse_and_slices_match_pytorch(program, seed):
    """The engine's in-place sums and slice accumulation on arbitrary sharing patterns: gradients equal
    PyTorch's (float64, up to the order of additions)."""
    data = np.random.default_rng(seed).uniform(-0.9, 0.9, (4, 6))
    x = ht.tensor(data, dtype=ht.float64, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    _run_program(ht, x, program).backward()
    _run_program(torch, xt, program).backward()
    want = xt.grad.numpy()
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(want).max()))
