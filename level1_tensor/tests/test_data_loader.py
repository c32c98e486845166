"""Tests for Dataset, TensorDataset, Subset, DataLoader and transforms (numpy batches; Tensors when available)."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperion.data import (
    Compose,
    DataLoader,
    Dataset,
    Flatten,
    Normalize,
    Reshape,
    Subset,
    TensorDataset,
    ToFloat,
    collate,
)


def _has_tensor() -> bool:
    try:
        from hyperion.tensor import Tensor, tensor
    except ImportError:
        return False
    return isinstance(Tensor, type) and callable(tensor) and not isinstance(tensor, ModuleType)


def index_loader(n: int, **kwargs) -> DataLoader:
    """A loader over the indices 0..n-1 themselves, yielding numpy batches."""
    return DataLoader(TensorDataset(np.arange(n)), as_tensor=False, **kwargs)


def epoch_indices(loader: DataLoader) -> list[np.ndarray]:
    return [batch[0] for batch in loader]


# --- batching -------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(0, 120),
    batch_size=st.integers(1, 40),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_index_exactly_once_per_epoch(n, batch_size, shuffle, drop_last, seed):
    loader = index_loader(n, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
    for _ in range(2):
        batches = epoch_indices(loader)
        assert len(batches) == len(loader)
        sizes = [len(b) for b in batches]
        if drop_last:
            assert len(loader) == n // batch_size
            assert all(s == batch_size for s in sizes)
        else:
            assert len(loader) == -(-n // batch_size)
            assert all(s == batch_size for s in sizes[:-1])
            if sizes:
                assert 1 <= sizes[-1] <= batch_size
        seen = np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)
        assert len(np.unique(seen)) == len(seen)  # no index twice
        if drop_last:
            assert len(seen) == n - n % batch_size
            assert set(seen.tolist()) <= set(range(n))
        else:
            assert sorted(seen.tolist()) == list(range(n))
        if not shuffle:
            assert seen.tolist() == list(range(len(seen)))


def test_len_is_number_of_batches():
    assert len(index_loader(10, batch_size=3)) == 4
    assert len(index_loader(10, batch_size=3, drop_last=True)) == 3
    assert len(index_loader(9, batch_size=3, drop_last=True)) == 3
    assert len(index_loader(2, batch_size=3, drop_last=True)) == 0
    assert list(index_loader(2, batch_size=3, drop_last=True)) == []
    assert len(index_loader(0, batch_size=3)) == 0


def test_last_batch_kept_or_dropped():
    kept = epoch_indices(index_loader(10, batch_size=4))
    assert [b.tolist() for b in kept] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    dropped = epoch_indices(index_loader(10, batch_size=4, drop_last=True))
    assert [b.tolist() for b in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        index_loader(10, batch_size=bad)


# --- shuffling ------------------------------------------------------------------------------------


def test_seeded_shuffle_is_reproducible_and_new_each_epoch():
    a = index_loader(100, batch_size=10, shuffle=True, seed=123)
    b = index_loader(100, batch_size=10, shuffle=True, seed=123)
    epochs_a = [np.concatenate(epoch_indices(a)) for _ in range(3)]
    epochs_b = [np.concatenate(epoch_indices(b)) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(epochs_a[0], epochs_a[1])
    assert not np.array_equal(epochs_a[1], epochs_a[2])
    assert not np.array_equal(epochs_a[0], np.arange(100))


def test_different_seeds_differ():
    a = np.concatenate(epoch_indices(index_loader(100, batch_size=7, shuffle=True, seed=0)))
    b = np.concatenate(epoch_indices(index_loader(100, batch_size=7, shuffle=True, seed=1)))
    assert not np.array_equal(a, b)


def test_generator_argument():
    a = index_loader(50, batch_size=5, shuffle=True, generator=np.random.default_rng(7))
    b = index_loader(50, batch_size=5, shuffle=True, seed=7)
    np.testing.assert_array_equal(np.concatenate(epoch_indices(a)), np.concatenate(epoch_indices(b)))
    with pytest.raises(ValueError, match="seed or generator"):
        index_loader(5, shuffle=True, seed=1, generator=np.random.default_rng(1))


def test_unseeded_shuffle_still_a_permutation():
    seen = np.concatenate(epoch_indices(index_loader(30, batch_size=4, shuffle=True)))
    assert sorted(seen.tolist()) == list(range(30))


# --- datasets -------------------------------------------------------------------------------------


def test_tensor_dataset_items_and_batches():
    x = np.arange(12.0).reshape(6, 2)
    y = np.arange(6) % 2
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, x[4])
    assert yi == y[4]
    xb, yb = ds.get_batch(np.array([5, 0, 3]))
    np.testing.assert_array_equal(xb, x[[5, 0, 3]])
    np.testing.assert_array_equal(yb, y[[5, 0, 3]])
    assert "6 samples" in repr(ds)


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 2\).*\(4,\)"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-dimensional"):
        TensorDataset(np.float64(3.0))


def test_tensor_dataset_accepts_objects_with_numpy_method():
    class FakeTensor:
        def __init__(self, a):
            self.a = a

        def numpy(self):
            return self.a

    ds = TensorDataset(FakeTensor(np.arange(4)), [10, 11, 12, 13])
    assert ds[2] == (2, 12)


def test_dataset_is_abstract():
    with pytest.raises(TypeError):
        Dataset()


def test_subset():
    ds = Subset(TensorDataset(np.arange(10) * 10), [9, 2, 4])
    assert len(ds) == 3
    assert ds[0][0] == 90
    assert [b[0].tolist() for b in DataLoader(ds, batch_size=2, as_tensor=False)] == [[90, 20], [40]]
    with pytest.raises(IndexError):
        Subset(TensorDataset(np.arange(3)), [3])


class CountingDataset(TensorDataset):
    def __init__(self, *arrays):
        super().__init__(*arrays)
        self.item_calls = 0
        self.batch_calls = 0

    def __getitem__(self, index):
        self.item_calls += 1
        return super().__getitem__(index)

    def get_batch(self, indices):
        self.batch_calls += 1
        return super().get_batch(indices)


def test_array_backed_datasets_are_fetched_one_batch_at_a_time():
    ds = CountingDataset(np.zeros((1000, 3)), np.zeros(1000))
    loader = DataLoader(ds, batch_size=100, shuffle=True, seed=0, as_tensor=False)
    assert sum(len(y) for _, y in loader) == 1000
    assert ds.item_calls == 0
    assert ds.batch_calls == 10


class PlainDataset:
    """Duck-typed: no base class, no get_batch; the loader must fetch and collate item by item."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2, 2), i, dtype=np.float32), i


def test_per_item_fallback_matches_fast_path():
    slow = DataLoader(PlainDataset(7), batch_size=3, shuffle=True, seed=5, as_tensor=False)
    x = np.stack([np.full((2, 2), i, dtype=np.float32) for i in range(7)])
    fast = DataLoader(TensorDataset(x, np.arange(7)), batch_size=3, shuffle=True, seed=5, as_tensor=False)
    for (xs, ys), (xf, yf) in zip(slow, fast, strict=True):
        np.testing.assert_array_equal(xs, xf)
        np.testing.assert_array_equal(ys, yf)
        assert xs.shape[1:] == (2, 2) and ys.dtype == np.int64


def test_collate_structures():
    batch = collate([{"x": np.ones(2), "y": 1}, {"x": np.zeros(2), "y": 0}])
    assert batch["x"].shape == (2, 2) and batch["y"].tolist() == [1, 0]
    assert collate([np.ones(3), np.ones(3)]).shape == (2, 3)
    with pytest.raises(ValueError, match="zero samples"):
        collate([])
    with pytest.raises(ValueError, match="different numbers of fields"):
        collate([(1, 2), (1,)])


# --- transforms -----------------------------------------------------------------------------------


def test_to_float():
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    y = ToFloat()(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x / 255.0, rtol=1e-6)
    assert x.tolist() == [[0, 128, 255]]  # input untouched
    z = np.ones((1, 2))
    assert ToFloat(scale=2.0, dtype=np.float64)(z) is not z
    assert ToFloat(scale=2.0, dtype=np.float64)(z).tolist() == [[2.0, 2.0]]
    with pytest.raises(TypeError):
        ToFloat(dtype=np.int32)


def test_normalize_scalar_and_per_channel():
    rng = np.random.default_rng(0)
    x = rng.random((4, 3, 5, 5)).astype(np.float32)
    y = Normalize(0.5, 0.25)(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, (x - 0.5) / 0.25, rtol=1e-6, atol=1e-6)
    mean, std = [0.1, 0.2, 0.3], [1.0, 2.0, 4.0]
    y = Normalize(mean, std)(x)
    expected = (x - np.array(mean)[None, :, None, None]) / np.array(std)[None, :, None, None]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="ToFloat"):
        Normalize(0.5, 0.5)(np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="positive"):
        Normalize(0.0, 0.0)


def test_flatten_reshape_compose():
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    assert Flatten()(x).shape == (2, 784)
    assert Reshape(1, 28, 28)(x).shape == (2, 1, 28, 28)
    pipeline = Compose([ToFloat(), Normalize(0.5, 0.5), Flatten()])
    y = pipeline(x)
    assert y.shape == (2, 784) and y.dtype == np.float32
    np.testing.assert_allclose(
        y, ((x.astype(np.float32) / 255 - 0.5) / 0.5).reshape(2, 784), rtol=1e-5, atol=1e-6
    )
    assert "Flatten()" in repr(pipeline)


def test_loader_transform_applies_to_inputs_only():
    x = np.full((6, 2, 2), 255, dtype=np.uint8)
    y = np.arange(6)
    loader = DataLoader(
        TensorDataset(x, y), batch_size=4, transform=Compose([ToFloat(), Flatten()]), as_tensor=False
    )
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 4) and xb.dtype == np.float32 and np.all(xb == 1.0)
    assert yb.tolist() == [0, 1, 2, 3]


# --- Tensors --------------------------------------------------------------------------------------


@pytest.mark.skipif(not _has_tensor(), reason="hyperion.tensor is not importable yet")
def test_batches_are_tensors_with_the_right_dtypes():
    from hyperion.tensor import Tensor

    x = np.arange(24, dtype=np.uint8).reshape(6, 4)
    ds = TensorDataset(x, np.arange(6, dtype=np.uint8), np.ones((6, 2)))
    loader = DataLoader(ds, batch_size=4, transform=ToFloat())
    xb, yb, zb = next(iter(loader))
    assert all(isinstance(t, Tensor) for t in (xb, yb, zb))
    assert tuple(xb.shape) == (4, 4) and np.dtype(xb.numpy().dtype) == np.float32
    assert np.dtype(yb.numpy().dtype) == np.int64  # integers become int64 labels
    assert np.dtype(zb.numpy().dtype) == np.float64
    np.testing.assert_allclose(xb.numpy(), x[:4] / 255.0, rtol=1e-6)
