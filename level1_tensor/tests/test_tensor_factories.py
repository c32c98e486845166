"""Factories, dtypes and seeded randomness."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hyperion.tensor as ht


def test_tensor_infers_dtypes_like_torch():
    cases = [
        ([1.0, 2.0], torch.float32),
        (1.5, torch.float32),
        ([[1, 2], [3, 4]], torch.int64),
        (3, torch.int64),
        ([True, False], torch.bool),
        (np.array([1.0, 2.0]), torch.float64),  # numpy float64 arrays keep float64
        (np.array([1.0], np.float32), torch.float32),
        (np.array([1.0], np.float16), torch.float16),
        (np.array([1, 2], np.int32), torch.int64),
        (np.float64(2.0), torch.float64),
    ]
    for data, expected in cases:
        ours = ht.tensor(data)
        assert ours.dtype == torch.empty(0, dtype=expected).numpy().dtype, (data, ours.dtype)
        np.testing.assert_array_equal(ours.numpy(), np.asarray(data))
    assert ht.tensor([1, 2], dtype=ht.float64).dtype == ht.float64
    assert ht.tensor([1.7], dtype="int64").tolist() == [1]
    assert ht.tensor([[1.0]]).shape == (1, 1) and ht.tensor(2.0).shape == ()


@pytest.mark.parametrize("dtype", [ht.float16, ht.float32, ht.float64, ht.int64, ht.bool_])
def test_every_dtype_round_trips(dtype):
    x = ht.tensor([[0, 1], [1, 0]], dtype=dtype)
    assert x.dtype == dtype and x.numpy().dtype == dtype and x.element_size() == dtype.itemsize
    assert x.T.contiguous().dtype == dtype
    assert ht.zeros(2, dtype=dtype).dtype == dtype
    assert ht.tensor(x).dtype == dtype


def test_dtype_names_and_refusals():
    assert ht.zeros(1, dtype="float64").dtype == ht.float64
    assert ht.zeros(1, dtype=np.float16).dtype == ht.float16
    assert ht.zeros(1, dtype=float).dtype == ht.float32 and ht.zeros(1, dtype=int).dtype == ht.int64
    assert ht.zeros(1, dtype=bool).dtype == ht.bool_
    with pytest.raises(ht.DTypeError, match="complex128 is not supported"):
        ht.zeros(1, dtype=np.complex128)
    with pytest.raises(ht.DTypeError, match="uint8 is not supported"):
        ht.from_numpy(np.zeros(2, np.uint8))


def test_zeros_ones_full_match_torch():
    pairs = [
        (ht.zeros(2, 3), torch.zeros(2, 3)),
        (ht.zeros((2, 3)), torch.zeros((2, 3))),
        (ht.ones(4), torch.ones(4)),
        (ht.ones(2, 2, dtype=ht.int64), torch.ones(2, 2, dtype=torch.int64)),
        (ht.full((2, 2), 1.5), torch.full((2, 2), 1.5)),
        (ht.full((3,), 7), torch.full((3,), 7)),
        (ht.full((2,), True), torch.full((2,), True)),
        (ht.empty(2, 3), torch.empty(2, 3)),
        (ht.eye(3), torch.eye(3)),
        (ht.eye(2, 3), torch.eye(2, 3)),
        (ht.zeros(0, 3), torch.zeros(0, 3)),
        (ht.zeros(()), torch.zeros(())),
    ]
    for ours, theirs in pairs:
        assert ours.shape == tuple(theirs.shape) and ours.dtype == theirs.numpy().dtype
        if ours is not pairs[7][0]:
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("args", [(5,), (1, 5), (0, 1, 0.25), (2, 11, 3), (-1.0, 1.0, 0.5), (5, 0, -1)])
def test_arange_matches_torch(args):
    ours, theirs = ht.arange(*args), torch.arange(*args)
    assert ours.dtype == theirs.numpy().dtype
    np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_like_factories_copy_shape_dtype_and_requires_grad():
    x = ht.zeros(2, 3, dtype=ht.float64)
    for fn in (ht.zeros_like, ht.ones_like, ht.empty_like, ht.randn_like, ht.rand_like):
        y = fn(x)
        assert y.shape == (2, 3) and y.dtype == ht.float64 and not y.requires_grad
    assert ht.zeros_like(x, dtype=ht.float32).dtype == ht.float32
    assert ht.ones_like(x, requires_grad=True).requires_grad
    np.testing.assert_array_equal(ht.ones_like(x).numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(ht.full_like(x, 2.5).numpy(), np.full((2, 3), 2.5))
    assert ht.full_like(ht.zeros(2, dtype=ht.int64), 3).tolist() == [3, 3]


def test_random_factories_have_the_right_distribution_and_dtype():
    ht.manual_seed(0)
    n = ht.randn(200, 500)
    u = ht.rand(200, 500)
    assert n.dtype == u.dtype == ht.float32
    assert abs(n.numpy().mean()) < 0.01 and abs(n.numpy().std() - 1) < 0.01
    assert u.numpy().min() >= 0 and u.numpy().max() < 1 and abs(u.numpy().mean() - 0.5) < 0.01
    assert ht.randn(3, dtype=ht.float64).dtype == ht.float64
    assert ht.rand(2, 2, requires_grad=True).requires_grad
    r = ht.randint(0, 5, (1000,))
    assert r.dtype == ht.int64 and set(r.tolist()) == {0, 1, 2, 3, 4}


def test_manual_seed_makes_every_random_factory_reproducible():
    def draw():
        return [ht.randn(3, 4).numpy(), ht.rand(5).numpy(), ht.randint(0, 9, 6).numpy(),
                ht.randn_like(ht.zeros(2)).numpy(), ht.zeros(3).normal_().numpy(), ht.zeros(3).uniform_().numpy()]

    ht.manual_seed(42)
    first = draw()
    ht.manual_seed(42)
    second = draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(draw()[0], first[0])


def test_generators_are_independent_streams():
    g1, g2 = ht.Generator(5), ht.Generator(5)
    a = ht.randn(4, generator=g1).numpy()
    ht.manual_seed(0)
    ht.randn(10)  # the default stream does not disturb g2
    np.testing.assert_array_equal(ht.randn(4, generator=g2).numpy(), a)
    assert not np.array_equal(ht.randn(4, generator=g1).numpy(), a)
    g1.manual_seed(5)
    np.testing.assert_array_equal(ht.rand(4, generator=g1).numpy(), ht.rand(4, generator=ht.Generator(5)).numpy())
    assert isinstance(ht.manual_seed(1), ht.Generator)


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(ht.AutogradError, match="floating-point.*int64"):
        ht.tensor([1, 2], requires_grad=True)
    with pytest.raises(ht.AutogradError, match="floating-point.*bool"):
        ht.zeros(2, dtype=ht.bool_, requires_grad=True)
    with pytest.raises(ht.AutogradError, match="floating-point.*int64"):
        ht.arange(3).requires_grad_()
    x = ht.ones(3, requires_grad=True)
    assert not x.long().requires_grad and not (x > 0).requires_grad and not x.argmax().requires_grad


def test_repr_names_dtype_device_and_grad():
    assert repr(ht.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "dtype=float64" in repr(ht.tensor(np.zeros(2)))
    assert "requires_grad=True" in repr(ht.ones(1, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(ht.ones(1, requires_grad=True) * 2)
