"""Transforms: small callables applied to a whole numpy batch of inputs.

They run on batches, not single samples, because one vectorised numpy call on 64 images is far
cheaper than 64 calls on one image each. The first axis is always the batch axis.

A typical MNIST pipeline scales bytes to [0, 1] and then standardises, so that inputs have roughly
zero mean and unit variance, which keeps the first layer's activations (and gradients) in a sane range::

    Compose([ToFloat(), Normalize(MNIST_MEAN, MNIST_STD), Flatten()])   # (B, 28, 28) uint8 -> (B, 784)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["Compose", "Flatten", "Normalize", "Reshape", "ToFloat", "Transform"]

Transform = Callable[[np.ndarray], np.ndarray]


class Compose:
    """Apply transforms in order: ``Compose([f, g])(x) == g(f(x))``."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose([{', '.join(repr(t) for t in self.transforms)}])"


class ToFloat:
    """Cast to a floating dtype and multiply by ``scale`` (default 1/255: bytes to [0, 1])."""

    def __init__(self, scale: float = 1 / 255, dtype: np.dtype | type = np.float32) -> None:
        self.scale = scale
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"ToFloat: dtype must be floating, got {self.dtype}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.asarray(x).astype(self.dtype)  # always a new array, so scaling in place is safe
        out *= self.dtype.type(self.scale)
        return out

    def __repr__(self) -> str:
        return f"ToFloat(scale={self.scale:.6g}, dtype={self.dtype.name})"


class Normalize:
    """``(x - mean) / std``; a sequence of means/stds is one per channel, the axis after the batch axis."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if self.mean.ndim > 1 or self.std.ndim > 1:
            raise ValueError("Normalize: mean and std must be numbers or 1-D sequences (one per channel)")
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {std}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"Normalize: expected a floating batch, got {x.dtype}; apply ToFloat() first")
        mean, std = self.mean, self.std
        if mean.ndim or std.ndim:  # per channel: broadcast along axis 1 of (B, C, ...)
            trailing = (1,) * (x.ndim - 2)
            mean, std = mean.reshape(-1, *trailing), std.reshape(-1, *trailing)
        return ((x - mean.astype(x.dtype)) / std.astype(x.dtype)).astype(x.dtype, copy=False)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Reshape:
    """Reshape each sample, keeping the batch axis: ``Reshape(1, 28, 28)`` gives (B, 1, 28, 28)."""

    def __init__(self, *shape: int) -> None:
        self.shape = shape

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return x.reshape(x.shape[0], *self.shape)

    def __repr__(self) -> str:
        return f"Reshape{self.shape}"


class Flatten(Reshape):
    """Flatten each sample to a vector: (B, 28, 28) -> (B, 784)."""

    def __init__(self) -> None:
        super().__init__(-1)

    def __repr__(self) -> str:
        return "Flatten()"
