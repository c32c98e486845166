"""A planned launcher call runs no ``import`` statement (each cost ~1 µs of host time per call: issue 14's
budget is 15 µs a call). CuPy is a stand-in here and the plans launch nothing; ``builtins.__import__`` counts."""

from __future__ import annotations

import builtins
import math
import sys
import types

import numpy as np
import pytest

from hyperion.kernels import matmul as mm
from hyperion.kernels import rows as rk
from hyperion.kernels._launch import OutputBlock

F32 = np.dtype(np.float32)


class _Pointer:
    def __init__(self, ptr: int) -> None:
        self.ptr = ptr

    def __add__(self, offset: int) -> _Pointer:
        return _Pointer(self.ptr + offset)


class _Array:
    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, memptr: _Pointer | None = None) -> None:
        self.shape, self.dtype, self.ndim, self._c_contiguous = shape, dtype, len(shape), True
        self.data = memptr or _Pointer(4096)
        self.size = math.prod(shape)


class _Launch:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, *args: object) -> None:
        self.calls.append(args)


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> dict[str, _Launch]:
    stream = types.SimpleNamespace(ptr=0)
    fake = types.SimpleNamespace(ndarray=_Array, cuda=types.SimpleNamespace(
        alloc=lambda n: _Pointer(1 << 20), get_current_stream=lambda: stream))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(rk, "_PLANS", {})
    monkeypatch.setattr(mm, "_AUTO_PLANS", {})
    launches = {name: _Launch() for name in ("softmax", "ln_fwd", "ln_bwd", "matmul")}
    for kind, extra in (("softmax", {}), ("ln_fwd", {"pair": OutputBlock(((64,), F32), ((64,), F32))}),
                        ("ln_bwd", {"parts": 1, "last_block": True,
                                    "pair": OutputBlock(((1024,), F32), ((1024,), F32))})):
        plan = rk.RowPlan(launches[kind], 64, 1024, **extra)
        plan.workspaces[0] = (0, 16, None)
        rk._PLANS[(kind, "f32", 64, 1024, None, 0, True)] = plan
    mm._AUTO_PLANS[(256, 256, 256, True, None)] = (mm._Bound(launches["matmul"], (256, 256, 256, 1)), None)
    return launches


def test_planned_calls_launch_once_and_import_nothing(planned: dict[str, _Launch]) -> None:
    x, a = _Array((64, 1024), F32), _Array((256, 256), F32)
    w, stats = _Array((1024,), F32), _Array((64,), F32)
    calls = [lambda: rk.rows_softmax(x), lambda: rk.rows_layernorm(x, w, w),
             lambda: rk.rows_layernorm_backward(x, x, w, stats, stats), lambda: mm.matmul_auto(a, a)]
    imported: list[str] = []
    real_import = builtins.__import__

    def counting_import(name: str, *args: object, **kwargs: object) -> object:
        imported.append(name)
        return real_import(name, *args, **kwargs)

    builtins.__import__ = counting_import  # by hand: monkeypatch itself imports on setattr
    try:
        results = [call() for call in calls]
    finally:
        builtins.__import__ = real_import
    assert imported == []
    assert [len(launch.calls) for launch in planned.values()] == [1, 1, 1, 1]
    y, mean, rstd = results[1]
    assert mean.data.ptr == 1 << 20 and rstd.data.ptr == (1 << 20) + 256  # carved from one allocation
    assert planned["ln_fwd"].calls[0][4:6] == (mean.data.ptr, rstd.data.ptr)  # the kernel writes those two
