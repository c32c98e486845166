"""OutputBlock's layout (no GPU): every array on a 256-byte boundary, none overlapping, the scratch after them;
its call carves the arrays from one allocation (a stand-in ``cupy`` records what it is asked for)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from hyperion.kernels._launch import OutputBlock


def test_layout_aligned_and_disjoint() -> None:
    block = OutputBlock(((3, 5), np.float16), ((7,), np.float32), ((0,), np.float32), ((64,), np.float64),
                        scratch=12)
    spans = [(offset, offset + int(np.prod(shape)) * dtype.itemsize) for shape, dtype, offset in block.layout]
    assert [offset for offset, _ in spans] == [0, 256, 512, 512]
    assert all(offset % OutputBlock.ALIGN == 0 for offset, _ in spans)
    assert all(end <= nxt for (_, end), (nxt, _) in zip(spans, spans[1:]))
    assert block.nbytes == 512 + 512 + 12  # 64 float64 = 512 bytes, then the scratch


class _Pointer:
    def __init__(self, ptr: int) -> None:
        self.ptr = ptr

    def __add__(self, offset: int) -> _Pointer:
        return _Pointer(self.ptr + offset)


@pytest.fixture
def fake_cupy(monkeypatch: pytest.MonkeyPatch) -> list:
    asked: list = []
    module = types.SimpleNamespace(
        cuda=types.SimpleNamespace(alloc=lambda n: asked.append(("alloc", n)) or _Pointer(1 << 20)),
        ndarray=lambda shape, dtype, memptr: ("array", shape, dtype, memptr.ptr))
    monkeypatch.setitem(sys.modules, "cupy", module)
    return asked


def test_call_carves_one_allocation(fake_cupy: list) -> None:
    block = OutputBlock(((2, 3), np.float16), ((2,), np.float32), scratch=8)
    a, b, scratch = block()
    assert fake_cupy == [("alloc", 256 + 256 + 8)]
    assert a == ("array", (2, 3), np.dtype(np.float16), 1 << 20)
    assert b == ("array", (2,), np.dtype(np.float32), (1 << 20) + 256)
    assert scratch == (1 << 20) + 512


def test_call_without_scratch_returns_only_arrays(fake_cupy: list) -> None:
    assert len(OutputBlock(((4,), np.float32),)()) == 1
