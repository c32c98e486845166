"""hyperion.data: datasets, mini-batch loading, transforms, and MNIST with no download.

Typical use::

    from hyperion.data import MNIST, MNIST_MEAN, MNIST_STD, DataLoader, transforms as T

    train = MNIST("train", transform=T.Compose([T.ToFloat(), T.Normalize(MNIST_MEAN, MNIST_STD), T.Flatten()]))
    for x, y in DataLoader(train, batch_size=128, shuffle=True, seed=0):
        ...  # x: float32 Tensor (128, 784), y: int64 Tensor (128,)
"""

from hyperion.data import transforms
from hyperion.data.collate import collate
from hyperion.data.convert import to_tensor
from hyperion.data.dataloader import DataLoader
from hyperion.data.dataset import Dataset, Subset, TensorDataset
from hyperion.data.errors import CorruptDatasetError, DatasetNotFoundError, IdxFormatError
from hyperion.data.idx import read_idx, write_idx
from hyperion.data.mnist import MNIST, MNIST_MEAN, MNIST_STD, load_mnist
from hyperion.data.transforms import Compose, Flatten, Normalize, Reshape, ToFloat

__all__ = [
    "MNIST",
    "MNIST_MEAN",
    "MNIST_STD",
    "Compose",
    "CorruptDatasetError",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "Flatten",
    "IdxFormatError",
    "Normalize",
    "Reshape",
    "Subset",
    "TensorDataset",
    "ToFloat",
    "collate",
    "load_mnist",
    "read_idx",
    "to_tensor",
    "transforms",
    "write_idx",
]
