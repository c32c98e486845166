"""A seedable source of randomness shared by factories, initialisers and dropout.

Numbers are drawn on the host with numpy's PCG64 and then moved to the device, so a seed gives
the same tensors on CPU and CUDA.
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


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, which every random op uses unless given another."""
    return default_generator.manual_seed(seed)
