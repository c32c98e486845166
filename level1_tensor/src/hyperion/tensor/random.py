"""A seedable source of randomness shared by factories, initialisers and dropout.

Factories and initialisers draw on the host with numpy's PCG64 and move the numbers to the device,
so a seed gives the same parameters on CPU and CUDA. Dropout masks, as large as the activations, are
drawn on the device from a seed taken from this stream (``seed_for_device``): reproducible on one
device, different between CPU and CUDA.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator

import numpy as np


class Generator:
    """A random stream; ``manual_seed`` restarts it."""

    def __init__(self, seed: int = 0) -> None:
        self.manual_seed(seed)
        _LIVE.add(self)

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


_LIVE: weakref.WeakSet[Generator] = weakref.WeakSet()  # every generator, so that one snapshot covers all
default_generator = Generator(0)


def get_rng_state() -> dict[Generator, tuple[int, dict]]:
    """The position of every live generator (the default one and any given to dropout or a factory)."""
    return {g: (g.seed, g.rng.bit_generator.state) for g in list(_LIVE)}


def set_rng_state(states: dict[Generator, tuple[int, dict]]) -> None:
    """Put each generator in ``states`` back where :func:`get_rng_state` found it."""
    for g, (seed, state) in states.items():
        g.seed = seed
        g.rng.bit_generator.state = state


@contextlib.contextmanager
def replay_rng(states: dict[Generator, tuple[int, dict]]) -> Iterator[None]:
    """Run the body from ``states`` (the same draws again), then resume every stream where it was.

    Gradient checkpointing recomputes a forward in backward: dropout inside it must draw the masks
    of the first run (as ``torch.utils.checkpoint``'s ``preserve_rng_state``), and the draws the
    program makes afterwards must not change because a recomputation happened.
    """
    now = get_rng_state()
    set_rng_state(states)
    try:
        yield
    finally:
        set_rng_state(now)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator, which every random op uses unless given another."""
    return default_generator.manual_seed(seed)
