"""A seedable source of randomness shared by factories, initialisers and dropout.

Factories and initialisers draw on the host with numpy's PCG64 and move the numbers to the device,
so a seed gives the same parameters on CPU and CUDA. Dropout masks, as large as the activations, are
drawn on the device from a seed taken from this stream (``seed_for_device``): reproducible on one
device, different between CPU and CUDA.
"""

from __future__ import annotations

import numpy as np


class Generator:
    """A random stream; ``manual_seed`` restarts it."""

    def __init__(self, seed: int = 0) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> Generator:
        self.seed = int(seed)
        self.rng = np.random.Generator(np.random.PCG64(self.seed))
        return self

    def normal(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return self.rng.standard_normal(shape, dtype=np.float64).astype(dtype, copy=False)

    def uniform(self, shape: tuple[int, ...], low: float, high: float, dtype: np.dtype) -> np.ndarray:
        return self.rng.uniform(low, high, shape).astype(dtype, copy=False)

    def permutation(self, n: int) -> np.ndarray:
        return self.rng.permutation(n)

    def seed_for_device(self) -> int:
        """A fresh 63-bit seed from this stream, for a generator that draws on the device."""
        return int(self.rng.integers(0, 2**63 - 1))


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, which every random op uses unless given another."""
    return default_generator.manual_seed(seed)
