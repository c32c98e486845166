"""The Hopper FlashAttention tile tables (CPU): every head dimension has a tile, and every tile the tables or
the suite's sweeps name fits an SM's shared memory (227 KB on Hopper) — a launch would fail otherwise."""

from __future__ import annotations

import pytest

from hyperion.kernels.attention import BWD_TILES, WGMMA_DIMS, WGMMA_TILES, bwd_shared_bytes, shared_bytes
from hyperion.kernels.suite import BWD_SWEEP, WGMMA_SWEEP

HOPPER_SMEM = 227 * 1024


@pytest.mark.parametrize("d", WGMMA_DIMS)
def test_every_head_dimension_has_tiles_that_fit(d):
    assert shared_bytes(d, WGMMA_TILES[d]) <= HOPPER_SMEM
    assert bwd_shared_bytes(d, BWD_TILES[d]) <= HOPPER_SMEM
    for tile in WGMMA_SWEEP:
        assert shared_bytes(d, tile) <= HOPPER_SMEM, tile
    for tile in BWD_SWEEP:
        assert bwd_shared_bytes(d, tile) <= HOPPER_SMEM, tile


def test_shared_bytes_counts_slabs():
    """d = 64 is one 64-column slab, 80 .. 128 two: Q (64 rows a warpgroup) + 2 stages of K and V + 1 KB."""
    tile = {"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 1}
    assert shared_bytes(64, tile) == 128 * (128 + 4 * 128) + 1024
    assert shared_bytes(80, tile) == shared_bytes(128, tile) == 2 * 128 * (128 + 4 * 128) + 1024
    bwd = {"FLASH_BT": 64, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 1}
    assert bwd_shared_bytes(128, bwd) == 2 * 128 * (2 * 128 + 4 * 64) + 16 * 64 + 1024
