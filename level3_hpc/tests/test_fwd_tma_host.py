"""10_flash_fwd_tma's and 11_flash_bwd_tma's host side without a GPU: the tensor maps' arguments to the driver (a
3-D map per tensor, so a tile past a head's end reads zeros) and the parameter block handed to cuLaunchKernel
(three or four 128-byte maps on 64-byte boundaries, then one 8-byte slot per pointer and scalar). The driver and
CuPy are replaced by recorders."""

from __future__ import annotations

import ctypes
import sys
import types

import pytest

from hyperion.kernels.attention import bwd_tma, fwd_tma
from hyperion.kernels.matmul import tma


class _Encoder:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def cuTensorMapEncodeTiled(self, out, dtype, rank, ptr, dims, strides, box, elem_strides, *rest):  # noqa: N802
        rank = rank.value
        self.calls.append({"rank": rank, "ptr": ptr.value, "dims": list(dims), "strides": list(strides),
                           "box": list(box), "elem_strides": list(elem_strides)})
        return 0


def test_flash_maps_are_3d_one_head_a_box(monkeypatch):
    enc = _Encoder()
    monkeypatch.setattr(tma, "_driver", lambda: enc)
    fwd_tma._MAPS.clear()
    maps = fwd_tma._maps(0x1000, 0x2000, 0x3000, d=80, n_q=300, n_k=77, bh=6, rows=128, bc=64)
    assert len(maps) == 3 and all(len(m) == 128 for m in maps)
    q, k, v = enc.calls
    assert q == {"rank": 3, "ptr": 0x1000, "dims": [80, 300, 6], "strides": [160, 300 * 160], "box": [64, 128, 1],
                 "elem_strides": [1, 1, 1]}
    assert k["dims"] == [80, 77, 6] and k["strides"] == [160, 77 * 160] and k["box"] == [64, 64, 1]
    assert v["ptr"] == 0x3000 and v["dims"] == k["dims"]
    fwd_tma._maps(0x1000, 0x2000, 0x3000, d=80, n_q=300, n_k=77, bh=6, rows=128, bc=64)
    assert len(enc.calls) == 3  # the same addresses and shape: the cached maps


def test_matmul_maps_stay_2d(monkeypatch):
    enc = _Encoder()
    monkeypatch.setattr(tma, "_driver", lambda: enc)
    tma.tensor_map(0x4000, 1024, 512, 64, 128)
    assert enc.calls == [{"rank": 2, "ptr": 0x4000, "dims": [1024, 512], "strides": [2048], "box": [64, 128],
                          "elem_strides": [1, 1]}]


def test_a_failed_encode_names_the_shape(monkeypatch):
    enc = _Encoder()
    enc.cuTensorMapEncodeTiled = lambda *a: 1  # CUDA_ERROR_INVALID_VALUE
    monkeypatch.setattr(tma, "_driver", lambda: enc)
    with pytest.raises(RuntimeError, match=r"CUresult 1 \(inner 64, outer 10, depth 3"):
        tma.tensor_map(0x10, 64, 10, 64, 64, depth=3)


@pytest.mark.parametrize(("n_maps", "n_pointers"), [(3, 3), (4, 5), (4, 6)])  # 10; 11's dK/dV and dQ kernels
def test_plan_parameter_block(monkeypatch, n_maps, n_pointers):
    seen = []
    n_slots = n_maps + n_pointers + 7

    def launch(fn_ptr, gx, gy, gz, bx, by, bz, smem, stream, params, extra):
        slot = (ctypes.c_uint64 * n_slots).from_address(params)
        first_scalar = n_maps + n_pointers
        seen.append({
            "head": (fn_ptr, gx, gy, gz, bx, by, bz, smem, stream, extra),
            "maps": [ctypes.string_at(slot[i], 128) for i in range(n_maps)],
            "aligned": [slot[i] % 64 for i in range(n_maps)],
            "pointers": [ctypes.c_uint64.from_address(slot[i]).value for i in range(n_maps, first_scalar)],
            "ints": [ctypes.c_int32.from_address(slot[first_scalar + i]).value for i in (0, 1, 2, 4, 5, 6)],
            "scale": ctypes.c_float.from_address(slot[first_scalar + 3]).value})

    stream = types.SimpleNamespace(ptr=77)
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(driver=types.SimpleNamespace(launchKernel=launch),
                                                           get_current_stream=lambda: stream))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    fwd_tma._PLANS.clear()
    kernel = types.SimpleNamespace(kernel=types.SimpleNamespace(ptr=5))
    scalars = (16, 1000, 999, 0.125, 2, 1, 16)
    first = fwd_tma.plan(kernel, (3, 64), 384, 165888, *scalars, maps=n_maps, pointers=n_pointers)
    assert fwd_tma.plan(kernel, (3, 64), 384, 165888, *scalars) is first  # one plan per geometry and scalars
    assert fwd_tma.plan(kernel, (3, 64), 384, 165888, 16, 1000, 999, 0.25, 2, 1, 16, maps=n_maps,
                        pointers=n_pointers) is not first
    maps = tuple(bytes([i + 1]) * 128 for i in range(n_maps))
    first(maps, *(0xA0 + 0x10 * i for i in range(n_pointers)))
    other = tuple(bytes([i + 7]) * 128 for i in range(n_maps))
    first(other, *(0xA1 + 0x10 * i for i in range(n_pointers)))  # new operands: their maps and pointers replace
    for call, m, base in ((seen[0], maps, 0xA0), (seen[1], other, 0xA1)):
        assert call["head"] == (5, 3, 64, 1, 384, 1, 1, 165888, 77, 0)
        assert call["maps"] == list(m) and call["aligned"] == [0] * n_maps
        assert call["pointers"] == [base + 0x10 * i for i in range(n_pointers)]
        assert call["ints"] == [16, 1000, 999, 2, 1, 16] and call["scale"] == 0.125


def test_backward_maps_one_box_shape_for_both_kernels(monkeypatch):
    enc = _Encoder()
    monkeypatch.setattr(tma, "_driver", lambda: enc)
    bwd_tma._MAPS.clear()
    maps = bwd_tma._maps(0x1000, 0x2000, 0x3000, 0x4000, d=96, n_q=300, n_k=77, bh=6)
    assert len(maps) == 4 and all(len(m) == 128 for m in maps)
    assert [c["ptr"] for c in enc.calls] == [0x1000, 0x2000, 0x3000, 0x4000]
    assert [c["dims"] for c in enc.calls] == [[96, 300, 6], [96, 77, 6], [96, 77, 6], [96, 300, 6]]
    assert all(c["box"] == [64, 64, 1] and c["strides"][0] == 192 for c in enc.calls)
    bwd_tma._maps(0x1000, 0x2000, 0x3000, 0x4000, d=96, n_q=300, n_k=77, bh=6)
    assert len(enc.calls) == 4  # cached


def test_shared_memory_and_threads_of_the_tables():
    for d, tile in fwd_tma.TMA_TILES.items():
        per_sm = fwd_tma.shared_bytes(d, tile) * tile["FLASH_MIN_BLOCKS"]
        assert per_sm <= 227 * 1024, (d, tile, per_sm)  # Hopper's shared memory an SM
        assert fwd_tma.threads(tile) == 128 * (tile["FLASH_WG"] + 1)
    assert set(fwd_tma.TMA_FROM_N) <= set(fwd_tma.TMA_TILES)
    for d, tile in [*bwd_tma.BWD_TMA_TILES.items(), *bwd_tma.DQ_TMA_TILES.items()]:
        assert bwd_tma.shared_bytes(d, tile) * tile["FLASH_MIN_BLOCKS"] <= 227 * 1024, (d, tile)
