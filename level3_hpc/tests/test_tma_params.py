"""The host side of ``matmul/14_wgmma_tma.cu``'s launch, on the CPU: the parameter block ``TmaLaunch`` hands
``cuLaunchKernel`` (two 128-byte tensor maps, C's pointer, M, N, K, each where the kernel reads it). A wrong
offset here gave K = 0 on the GPU (2026-12-06, call 9): every product came out zero."""

from __future__ import annotations

import ctypes
import sys
import types

import numpy as np

from hyperion.kernels.matmul import tma


def _fake_cupy(launches: list) -> types.ModuleType:
    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(
        driver=types.SimpleNamespace(launchKernel=lambda *args: launches.append((args, _params(args[9])))),
        get_current_stream=lambda: types.SimpleNamespace(ptr=1234))
    return cupy


def _params(params_ptr: int) -> tuple[bytes, bytes, int, int, int, int]:
    pointers = np.frombuffer(ctypes.string_at(params_ptr, 6 * 8), np.uint64)
    read = [ctypes.string_at(int(p), n) for p, n in zip(pointers, (128, 128, 8, 4, 4, 4))]
    c_ptr = int(np.frombuffer(read[2], np.uint64)[0])
    m, n, k = (int(np.frombuffer(r, np.int32)[0]) for r in read[3:])
    return read[0], read[1], c_ptr, m, n, k


def test_the_parameter_block_holds_each_argument_where_the_kernel_reads_it(monkeypatch):
    launches: list = []
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(launches))
    encoded = []

    def fake_map(ptr, inner, outer, box_inner, box_outer):
        encoded.append((ptr, inner, outer, box_inner, box_outer))
        return bytes([len(encoded)]) * 128

    monkeypatch.setattr(tma, "tensor_map", fake_map)
    kernel = types.SimpleNamespace(kernel=types.SimpleNamespace(ptr=99))
    cfg = tma.TMA_CONFIGS[0]
    launch = tma.TmaLaunch(kernel, cfg, 1001, 1008, 1000)
    launch(0x1000, 0x2000, 0x3000)
    launch(0x1000, 0x2000, 0x4000)  # same operands: no new maps
    launch(0x5000, 0x2000, 0x6000)  # a new A: its maps
    assert encoded == [(0x1000, 1000, 1001, 64, cfg["TC_BM"]), (0x2000, 1008, 1000, 64, 64),
                       (0x5000, 1000, 1001, 64, cfg["TC_BM"]), (0x2000, 1008, 1000, 64, 64)]
    assert len(launches) == 3
    grid = -(-1008 // cfg["TC_BN"]) * -(-1001 // cfg["TC_BM"])
    expected = ((1, 2, 0x3000), (1, 2, 0x4000), (3, 4, 0x6000))  # (map A's byte, map B's, C) as each launch read
    for (args, block), (a_byte, b_byte, c_ptr) in zip(launches, expected):
        assert args[:8] == (99, grid, 1, 1, tma.threads(cfg), 1, 1, tma.shared_bytes(cfg)) and args[8] == 1234
        assert block == (bytes([a_byte]) * 128, bytes([b_byte]) * 128, c_ptr, 1001, 1008, 1000)


def test_3xtf32_maps_read_the_stacked_splits_in_fp32_boxes(monkeypatch):
    """15's maps: the (2M x KP) and (2N x KP) hi|lo matrices, 4-byte values, (32, BM) and (32, BN) boxes; its
    launch takes 15's shared memory and the padded K."""
    from hyperion.kernels.matmul import tf32x3

    launches: list = []
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(launches))
    encoded = []

    def fake_map(ptr, inner, outer, box_inner, box_outer, elem_bytes=2):
        encoded.append((ptr, inner, outer, box_inner, box_outer, elem_bytes))
        return bytes([len(encoded)]) * 128

    monkeypatch.setattr(tf32x3, "tensor_map", fake_map)
    kernel = types.SimpleNamespace(kernel=types.SimpleNamespace(ptr=7))
    cfg = tf32x3.CONFIGS[0]
    kp = tf32x3.padded_k(1003)
    assert kp == 1004
    launch = tma.TmaLaunch(kernel, cfg, 1001, 999, kp, tf32x3.shared_bytes(cfg), tf32x3.split_maps)
    launch(0x1000, 0x9000, 0x3000)
    assert encoded == [(0x1000, 1004, 2002, 32, cfg["TC_BM"], 4), (0x9000, 1004, 1998, 32, cfg["TC_BN"], 4)]
    (args, block), = launches
    assert args[7] == tf32x3.shared_bytes(cfg) <= 227 * 1024 and args[4] == tma.threads(cfg)
    assert block == (bytes([1]) * 128, bytes([2]) * 128, 0x3000, 1001, 999, 1004)


def test_fp32_products_go_to_15_only_on_hopper_and_only_when_large():
    from hyperion.kernels import matmul as mm

    big = (1001, 1003, 999)  # the suite's 1001x999x1003: 1.003e9 multiply-adds
    assert 1001 * 1003 * 999 >= mm.TF32X3_MIN_MACS > 1000 * 1001 * 999
    assert mm.choose_fp32(*big, hopper=True) == ("15_wgmma_3xtf32", 0)
    assert mm.choose_fp32(*big, hopper=False)[0] != "15_wgmma_3xtf32"
    assert mm.choose_fp32(1000, 1001, 999, hopper=True)[0] != "15_wgmma_3xtf32"  # 9.99999e8: below it
    assert mm.choose_fp32(8192, 8192, 8192) == mm.FP32_TABLE[(8192, 8192, 8192)]  # no GPU kind given: the table


def test_3xtf32_keeps_one_workspace_per_stream_and_allocates_past_the_limit(monkeypatch):
    """15's scratch: kept per stream between calls (no allocation, maps in place), grown for a larger split,
    fresh each call past ``KEEP_BYTES``; the split writes where the product's maps read."""
    from hyperion.kernels.matmul import tf32x3

    launches: list = []
    cupy = _fake_cupy(launches)
    stream = types.SimpleNamespace(ptr=1234)
    cupy.cuda.get_current_stream = lambda: stream
    allocations: list[int] = []

    def empty(words, dtype):
        allocations.append(words)
        return types.SimpleNamespace(size=words, data=types.SimpleNamespace(ptr=0x100000 * len(allocations)))

    cupy.empty = empty
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    encoded = []
    monkeypatch.setattr(tf32x3, "tensor_map", lambda ptr, *rest: encoded.append(ptr) or bytes(128))
    kernel = types.SimpleNamespace(kernel=types.SimpleNamespace(ptr=7))
    monkeypatch.setattr(tf32x3, "_kernels", lambda items: (kernel, kernel))
    monkeypatch.setattr(tf32x3, "_WORKSPACES", {})
    small, large = tf32x3.Plan(64, 32, 30, tf32x3.CONFIGS[0]), tf32x3.Plan(128, 64, 30, tf32x3.CONFIGS[0])
    assert small.words == 2 * (64 + 32) * 32 and small.b_offset == 2 * 64 * 32 * 4

    def split_pointers() -> list[int]:
        args, _ = launches[-2]
        slots = np.frombuffer(ctypes.string_at(int(np.frombuffer(ctypes.string_at(args[9], 8), np.uint64)[0]), 32),
                              np.uint64)
        return [int(p) for p in slots]

    small(0xA, 0xB, 0xC)
    small(0xA, 0xB, 0xD)
    assert allocations == [small.words] and encoded == [0x100000, 0x100000 + small.b_offset]
    assert split_pointers() == [0xA, 0x100000, 0xB, 0x100000 + small.b_offset]
    large(0xA, 0xB, 0xC)  # grows this stream's workspace
    small(0xA, 0xB, 0xC)  # and the smaller split fits in it
    assert allocations == [small.words, large.words] and split_pointers()[1] == 0x200000
    stream.ptr = 5678  # another stream: its own
    small(0xA, 0xB, 0xC)
    assert allocations[-1] == small.words and len(allocations) == 3
    tf32x3.release_workspaces()
    stream.ptr = 1234
    small(0xA, 0xB, 0xC)
    assert len(allocations) == 4
    monkeypatch.setattr(tf32x3, "KEEP_BYTES", small.words * 4 - 4)
    over = tf32x3.Plan(64, 32, 30, tf32x3.CONFIGS[0])
    over(0xA, 0xB, 0xC)
    over(0xA, 0xB, 0xC)
    assert len(allocations) == 6 and len(launches) == 2 * 8  # eight calls, two launches each


def test_persistent_launch_takes_one_block_per_sm_at_most(monkeypatch):
    """16_wgmma_persistent's launch: min(tiles, SMs) blocks (the kernel's blocks walk the rest); 14's: one a tile."""
    launches: list = []
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(launches))
    monkeypatch.setattr(tma, "tensor_map", lambda *args: bytes(128))
    monkeypatch.setattr(tma, "sm_count", lambda: 132)
    monkeypatch.setattr(tma, "tma_kernel", lambda dtype, items, version: types.SimpleNamespace(
        kernel=types.SimpleNamespace(ptr={"14_wgmma_tma": 14, "16_wgmma_persistent": 16}[version])))
    cfg = tma.TMA_CONFIGS[0]  # 128 x 256 tiles
    for version, m, n, grid in (("16_wgmma_persistent", 4096, 4096, 132), ("16_wgmma_persistent", 1000, 1000, 32),
                                ("14_wgmma_tma", 4096, 4096, 512)):
        tma.tma_launch(version, "bf16", cfg, m, n, 64)(0x1000, 0x2000, 0x3000)
        assert launches[-1][0][:2] == (int(version[:2]), grid)
    tma.tma_launch("16_wgmma_persistent", "bf16", cfg, 4096, 4096, 64, blocks=3)(0x1000, 0x2000, 0x3000)
    assert launches[-1][0][1] == 3


def test_matmul_tma_names_a_bad_version_or_block_count(monkeypatch):
    import pytest

    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy([]))
    with pytest.raises(ValueError, match="version must be one of"):
        tma.matmul_tma(None, None, "bf16", version="13_split_k")
    with pytest.raises(ValueError, match="blocks .* is for 16_wgmma_persistent only"):
        tma.matmul_tma(None, None, "bf16", blocks=4)
    with pytest.raises(ValueError, match="at least 1"):
        tma.matmul_tma(None, None, "bf16", version="16_wgmma_persistent", blocks=0)


def test_padded_b_and_a_narrower_c_share_one_launch(monkeypatch):
    """A product of zero-padded operands (B 1008 columns wide, C 1003): the maps read B at its padded width, the
    kernel gets C's width as N (its stores' bound and stride) and as many column tiles; a C wider than B, or
    one tile narrower, is refused."""
    import pytest

    launches: list = []
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(launches))
    encoded = []
    monkeypatch.setattr(tma, "tensor_map", lambda p, inner, outer, bi, bo: encoded.append((inner, outer)) or bytes(128))
    kernel = types.SimpleNamespace(kernel=types.SimpleNamespace(ptr=5))
    cfg = tma.TMA_CONFIGS[1]  # 128 x 128 tiles
    tma.TmaLaunch(kernel, cfg, 1001, 1008, 1000, c_cols=1003)(0x1000, 0x2000, 0x3000)
    (args, block), = launches
    assert encoded == [(1000, 1001), (1008, 1000)] and block[3:] == (1001, 1003, 1000)
    assert args[1] == 8 * 8
    for bad in (1009, 896, 0):
        with pytest.raises(ValueError, match="C's width"):
            tma.TmaLaunch(kernel, cfg, 1001, 1008, 1000, c_cols=bad)
