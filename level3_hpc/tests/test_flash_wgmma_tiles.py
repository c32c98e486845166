"""The Hopper FlashAttention tile tables (CPU): every head dimension has a tile, and every tile the tables or
the suite's sweeps name fits an SM's shared memory (227 KB on Hopper) — a launch would fail otherwise."""

from __future__ import annotations

import pytest

from hyperion.kernels.attention import (
    BWD_TILES,
    DQ_TILES,
    SHORT_TILES,
    WGMMA_DIMS,
    WGMMA_TILES,
    bwd_shared_bytes,
    forward_tile,
    shared_bytes,
)
from hyperion.kernels.suite import BWD_SWEEP, WGMMA_SWEEP

HOPPER_SMEM = 227 * 1024


@pytest.mark.parametrize("d", WGMMA_DIMS)
def test_every_head_dimension_has_tiles_that_fit(d):
    assert shared_bytes(d, WGMMA_TILES[d]) <= HOPPER_SMEM
    assert bwd_shared_bytes(d, BWD_TILES[d]) <= HOPPER_SMEM
    assert bwd_shared_bytes(d, DQ_TILES[d]) <= HOPPER_SMEM
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


def test_causal_block_order_groups_heads_only_when_causal():
    from hyperion.kernels.attention import CAUSAL_GROUP, _group

    assert _group(False, None) == 1 and _group(False, 7) == 1  # equal blocks: the plain order
    assert _group(True, None) == CAUSAL_GROUP and _group("bottom_right", 3) == 3
    with pytest.raises(ValueError, match="positive number of heads"):
        _group(True, 0)


def test_launch_grid_stays_inside_cuda_and_32_bit_limits():
    """08/09's grid is (tiles, batch x heads): y at most 65535, and block_tile counts blocks in 32 bits."""
    from hyperion.kernels.attention import _grid

    assert _grid(1000, 128, 64) == (8, 64)
    assert _grid(1, 64, 65535) == (1, 65535)
    with pytest.raises(ValueError, match="too large a grid"):
        _grid(64, 64, 65536)
    with pytest.raises(ValueError, match="too large a grid"):
        _grid((2**31 // 1000 + 1) * 64, 64, 1000)  # tiles x heads reaches 2^31


def test_short_sequences_take_the_short_tile_only_where_it_was_faster():
    """SHORT_TILES' bounds: d = 128 not causal up to N_q 2048, causal up to 512; other d, longer N: the table."""
    longest, longest_causal, tile = SHORT_TILES[128]
    assert (longest, longest_causal) == (2048, 512) and shared_bytes(128, tile) <= HOPPER_SMEM
    assert forward_tile(128, 1024, False) == forward_tile(128, 2048, False) == tile
    assert forward_tile(128, 2049, False) == forward_tile(128, 1024, True) == WGMMA_TILES[128]
    assert forward_tile(128, 512, "bottom_right") == tile and forward_tile(128, 513, True) == WGMMA_TILES[128]
    assert all(forward_tile(d, 64, False) == WGMMA_TILES[d] for d in WGMMA_DIMS if d not in SHORT_TILES)
