# ruff: noqa
"""Our own Python per launcher call, without CuPy's: the launch paths of rows_softmax, rows_layernorm (forward
and the one-launch backward) and matmul_auto run against a stand-in ``cupy`` whose arrays, allocations and
launches do nothing (their cost, ~0.3 µs an array, is included). Run with PYTHONPATH naming one tree's sources;
run_ab.sh runs the tree before this session's change and the tree with it in turns, so the difference is ours.
"""
import sys
import timeit
import types

import numpy as np


class Pointer:
    __slots__ = ("ptr",)

    def __init__(self, ptr):
        self.ptr = ptr

    def __add__(self, offset):
        return Pointer(self.ptr + offset)


HELD = Pointer(4096)


class Array:
    __slots__ = ("shape", "dtype", "data", "ndim", "_c_contiguous", "size")

    def __init__(self, shape, dtype, memptr=None):
        self.shape, self.dtype, self.data, self.ndim, self._c_contiguous = shape, dtype, memptr or HELD, len(shape), True
        self.size = shape[0] if len(shape) == 1 else shape[0] * shape[1]


stream = types.SimpleNamespace(ptr=0)
fake = types.ModuleType("cupy")
fake.ndarray = Array
fake.cuda = types.SimpleNamespace(alloc=lambda n: Pointer(8192), get_current_stream=lambda: stream,
                                  get_device_id=lambda: 0)
sys.modules["cupy"] = fake

from hyperion.kernels import matmul as mm
from hyperion.kernels import rows as rk


class Launch:  # a PackedLaunch that launches nothing
    def __call__(self, *args):
        pass


F32 = np.dtype(np.float32)
x, dy, a = Array((64, 1024), F32), Array((64, 1024), F32), Array((256, 256), F32)
w, stats = Array((1024,), F32), Array((64,), F32)


def plan(kind, **extra):
    kept = rk.RowPlan(Launch(), 64, 1024, **extra)
    kept.workspaces[0] = (0, 16, None)
    rk._PLANS[(kind, "f32", 64, 1024, None, 0, True)] = kept


pair = {}
if hasattr(rk, "OutputBlock"):  # the tree with this session's change: the plans carve mean/rstd and dw/db
    from hyperion.kernels._launch import OutputBlock

    pair = {"pair": OutputBlock(((64,), F32), ((64,), F32))}
plan("softmax")
plan("ln_fwd", **pair)
plan("ln_bwd", parts=1, last_block=True, **({"pair": OutputBlock(((1024,), F32), ((1024,), F32))} if pair else {}))
mm._AUTO_PLANS[(256, 256, 256, True, None)] = (mm._Bound(Launch(), (256, 256, 256, 1)), None)
calls = {
    "rows_softmax": lambda: rk.rows_softmax(x),
    "rows_layernorm": lambda: rk.rows_layernorm(x, w, w),
    "rows_layernorm_backward": lambda: rk.rows_layernorm_backward(dy, x, w, stats, stats),
    "matmul_auto": lambda: mm.matmul_auto(a, a),
    "the stand-in's array alone": lambda: Array((64, 1024), F32),
}
for name, fn in calls.items():
    n = 20000
    print(f"{min(timeit.repeat(fn, number=n, repeat=15)) / n * 1e6:6.2f} µs  {name}", flush=True)
