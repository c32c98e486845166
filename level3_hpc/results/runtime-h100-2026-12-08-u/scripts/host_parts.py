# ruff: noqa
"""Host microseconds per call, piece by piece, and candidate calls with one pool allocation for all their
outputs (carved into arrays by offset) against the library's calls. Three rounds, side by side."""
import json
import struct
import sys
import threading

import cupy
import numpy as np
import torch

from hyperion.kernels import matmul as mm
from hyperion.kernels import rows as rk
from hyperion.kernels import attention as fh
from hyperion.kernels.attention import planned
from hyperion.kernels.suite import host_us

from hyperion.tensor.cuda_build import cupy_module


def import_cupy():
    import cupy

    return cupy


F32, F16 = np.dtype(np.float32), np.dtype(np.float16)
rng = cupy.random.default_rng(0)
x = rng.standard_normal((64, 1024), dtype=np.float32)
dy = rng.standard_normal((64, 1024), dtype=np.float32)
w, b = cupy.ones(1024, np.float32), cupy.zeros(1024, np.float32)
a = rng.standard_normal((256, 256), dtype=np.float32)
q = rng.standard_normal((1, 2, 128, 64), dtype=np.float32).astype(cupy.float16)
tx, ta = torch.from_dlpack(x), torch.from_dlpack(a)
tw, tb = torch.from_dlpack(w), torch.from_dlpack(b)
mem = cupy.cuda.alloc(64 * 1024 * 4 + 1024)
stats = cupy.ndarray((2, 64), F32)


def up(n: int) -> int:
    return -(-n // 256) * 256


# ---- candidates -------------------------------------------------------------------------------------------
def ln_fwd_before(x, w, b, eps=1e-5, dtype="f32"):
    """rows_layernorm before OutputBlock: y, mean, rstd, three allocations."""
    x = rk._check(x, dtype, "x")
    rows, C = x.shape
    w, b = rk._vector(w, C, "weight"), rk._vector(b, C, "bias")
    y = cupy.ndarray(x.shape, x.dtype)
    mean, rstd = cupy.ndarray((rows,), np.float32), cupy.ndarray((rows,), np.float32)
    vec = x.data.ptr % 16 == y.data.ptr % 16
    plan = rk._plan("ln_fwd", dtype, rows, C, None, x.data.ptr % 16, vec)
    wp, bp = w.data.ptr, b.data.ptr
    plan.launch(x.data.ptr, wp, bp, y.data.ptr, mean.data.ptr, rstd.data.ptr, rows, C, eps, vec,
                wp % 16 == 0 and bp % 16 == 0)
    return y, mean, rstd


def ln_fwd_all_one(x, w, b, eps=1e-5, dtype="f32"):
    """y, mean and rstd from one allocation (not taken: y's memory would live as long as the statistics)."""
    x = rk._check(x, dtype, "x")
    rows, C = x.shape
    w, b = rk._vector(w, C, "weight"), rk._vector(b, C, "bias")
    ybytes = up(x.nbytes)
    m = cupy.cuda.alloc(ybytes + up(4 * rows) + 4 * rows)
    y = cupy.ndarray(x.shape, x.dtype, memptr=m)
    mean = cupy.ndarray((rows,), F32, memptr=m + ybytes)
    rstd = cupy.ndarray((rows,), F32, memptr=m + (ybytes + up(4 * rows)))
    xp = x.data.ptr
    vec = xp % 16 == 0
    plan = rk._plan("ln_fwd", dtype, rows, C, None, xp % 16, vec)
    wp, bp = w.data.ptr, b.data.ptr
    plan.launch(xp, wp, bp, y.data.ptr, mean.data.ptr, rstd.data.ptr, rows, C, eps, vec, wp % 16 == 0 and bp % 16 == 0)
    return y, mean, rstd


def ln_bwd_before(dy, x, w, mean, rstd, dtype="f32"):
    """rows_layernorm_backward (one-launch form) before OutputBlock: dx, dw, db, three allocations."""
    x, dy = rk._check(x, dtype, "x"), rk._check(dy, dtype, "grad")
    rows, C = x.shape
    w, mean, rstd = rk._vector(w, C, "weight"), rk._vector(mean, rows, "mean"), rk._vector(rstd, rows, "rstd")
    dx = cupy.ndarray(x.shape, x.dtype)
    p = x.data.ptr % 16
    vec = dy.data.ptr % 16 == p and dx.data.ptr % 16 == p
    plan = rk._plan("ln_bwd", dtype, rows, C, None, p, vec)
    assert plan.last_block
    counter, pp = plan.workspace(cupy.cuda.get_current_stream().ptr)
    dw, db = cupy.ndarray((C,), np.float32), cupy.ndarray((C,), np.float32)
    wp = w.data.ptr
    plan.launch(dy.data.ptr, x.data.ptr, wp, mean.data.ptr, rstd.data.ptr, dx.data.ptr, pp, dw.data.ptr,
                db.data.ptr, counter, rows, C, vec, wp % 16 == 0)
    return dx, dw, db


def mm_auto_is(a, b):
    if not (type(a) is cupy.ndarray and type(b) is cupy.ndarray and a.dtype is F32 and b.dtype is F32
            and a.ndim == 2 and b.ndim == 2 and a._c_contiguous and b._c_contiguous and a.shape[1] == b.shape[0]):
        raise TypeError("slow path not in this sketch")
    (m, k), n = a.shape, b.shape[1]
    c = cupy.ndarray((m, n), F32)
    vec = k % 4 == 0 and n % 4 == 0 and (a.data.ptr | b.data.ptr | c.data.ptr) % 16 == 0
    product, summer = mm._AUTO_PLANS[(m, n, k, vec, None)]
    product(a.data.ptr, b.data.ptr, c.data.ptr)
    return c


def flash_fwd_before(q, k, v):
    """The planned forward's call before OutputBlock: two arrays, two pool allocations."""
    plan = planned._FORWARD[planned._key((q, k, v), False, None, None)]
    qp, kp, vp = q.data.ptr, k.data.ptr, v.data.ptr
    out, lse = cupy.ndarray(q.shape, F16), cupy.ndarray(q.shape[:3], F32)
    if plan.tma:
        plan.launch(plan.maps(qp, kp, vp, *plan.geometry), plan.no_pad, out.data.ptr, lse.data.ptr)
    else:
        plan.launch(qp, kp, vp, plan.no_pad, out.data.ptr, lse.data.ptr)
    return out, lse


def flash_bwd_before(q, k, v, out, lse, dout):
    """The planned backward's call before OutputBlock: four arrays (delta one of them), four allocations."""
    plan = planned._BACKWARD[planned._key((q, k, v, out, lse, dout), False, None, None)]
    delta = cupy.ndarray(lse.shape, F32)
    dq, dk, dv = cupy.ndarray(q.shape, F16), cupy.ndarray(k.shape, F16), cupy.ndarray(k.shape, F16)
    plan.launch(q.data.ptr, k.data.ptr, v.data.ptr, dout.data.ptr, out.data.ptr, lse.data.ptr, delta.data.ptr,
                plan.no_pad, dq.data.ptr, dk.data.ptr, dv.data.ptr)
    return dq, dk, dv


# ---- correctness of the candidates (the same bits as the library) ------------------------------------------
y0, m0, r0 = rk.rows_layernorm(x, w, b)
y1, m1, r1 = ln_fwd_before(x, w, b)
y2, m2, r2 = ln_fwd_all_one(x, w, b)
g0 = rk.rows_layernorm_backward(dy, x, w, m0, r0)
g1 = ln_bwd_before(dy, x, w, m0, r0)
c0, c1 = mm.matmul_auto(a, a), mm_auto_is(a, a)
o0, l0 = fh.flash_forward_hopper(q, q, q)
o1, l1 = flash_fwd_before(q, q, q)
d0 = fh.flash_backward_hopper(q, q, q, o0, l0, q)
d1 = flash_bwd_before(q, q, q, o0, l0, q)
same = {name: bool(all(cupy.array_equal(u, v) for u, v in zip(p, r))) for name, p, r in (
    ("ln_fwd", (y0, m0, r0), (y1, m1, r1)), ("ln_fwd_all_one", (y0, m0, r0), (y2, m2, r2)), ("ln_bwd", g0, g1), ("matmul", (c0,), (c1,)),
    ("flash_fwd", (o0, l0), (o1, l1)), ("flash_bwd", d0, d1))}
print(json.dumps({"same_bits": same}), flush=True)
print("plans: flash fwd", planned._FORWARD[planned._key((q, q, q), False, None, None)].kernel,
      "bwd", planned._BACKWARD[planned._key((q, q, q, o0, l0, q), False, None, None)].kernel,
      "mm", mm._AUTO_PLANS[(256, 256, 256, True, None)][0].launch.kernel, flush=True)

fwd_block = planned._FORWARD[planned._key((q, q, q), False, None, None)].outputs
bwd_block = planned._BACKWARD[planned._key((q, q, q, o0, l0, q), False, None, None)].outputs
plan = rk._plan("softmax", "f32", 64, 1024, None, x.data.ptr % 16, True)
y = cupy.empty_like(x)
pl = plan.launch
lock = threading.Lock()
slots = np.zeros(11, np.uint64)
F11 = "<" + "Q" * 6 + "i4x" * 2 + "f4x" + "i4x" * 2
stream_ptr = cupy.cuda.get_current_stream().ptr
head, params = pl.head, pl._params_ptr
pl(x.data.ptr, y.data.ptr, 64, 1024, 1)
launch = cupy.cuda.driver.launchKernel
mm_plan = mm._AUTO_PLANS[(256, 256, 256, True, None)][0]
c_ = cupy.empty((256, 256), F32)
ap, cp_ = a.data.ptr, c_.data.ptr

cases = {
    "alloc: cupy.ndarray((64,1024), np.float32)": lambda: cupy.ndarray((64, 1024), np.float32),
    "alloc: cupy.ndarray((64,1024), F32 dtype)": lambda: cupy.ndarray((64, 1024), F32),
    "alloc: cupy.ndarray(x.shape, x.dtype)": lambda: cupy.ndarray(x.shape, x.dtype),
    "alloc: cupy.ndarray((64,), F32)": lambda: cupy.ndarray((64,), F32),
    "alloc: cupy.empty((64,1024), F32)": lambda: cupy.empty((64, 1024), F32),
    "alloc: cupy.cuda.alloc(262144)": lambda: cupy.cuda.alloc(262144),
    "view: ndarray on a given memptr": lambda: cupy.ndarray((64, 1024), F32, memptr=mem),
    "view: memptr + 256": lambda: mem + 256,
    "view: ndarray((64,)) on memptr + 262144": lambda: cupy.ndarray((64,), F32, memptr=mem + 262144),
    "view: stats[0]": lambda: stats[0],
    "check: import cupy (in a function)": import_cupy,
    "check: cupy_module()": cupy_module,
    "check: a.dtype == np.float32": lambda: a.dtype == np.float32,
    "check: a.dtype is F32": lambda: a.dtype is F32,
    "check: x.data.ptr % 16": lambda: x.data.ptr % 16,
    "check: rk._check(x)": lambda: rk._check(x, "f32", "x"),
    "check: rk._plan look-up": lambda: rk._plan("ln_fwd", "f32", 64, 1024, None, 0, True),
    "launch: get_current_stream().ptr": lambda: cupy.cuda.get_current_stream().ptr,
    "launch: struct.pack_into 11 slots": lambda: struct.pack_into(F11, slots, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1.0, 1, 1),
    "launch: lock": lambda: lock.__enter__() or lock.__exit__(None, None, None),
    "launch: driver.launchKernel alone (softmax 06)": lambda: launch(*head, stream_ptr, params, 0),
    "launch: PackedLaunch (softmax 06)": lambda: pl(x.data.ptr, y.data.ptr, 64, 1024, 1),
    "mm: _checked_pair": lambda: mm._checked_pair(a, a, np.float32, "matmul"),
    "mm: _out": lambda: mm._out(None, (256, 256)),
    "mm: plan get": lambda: mm._AUTO_PLANS.get((256, 256, 256, True, None)),
    "mm: product(ptrs) (the _Bound)": lambda: mm_plan(ap, ap, cp_),
    "mm: PackedLaunch alone (08)": lambda: mm_plan.launch(ap, ap, cp_, 256, 256, 256, 1),
    "mm: driver.launchKernel alone (08)": lambda: launch(*mm_plan.launch.head, stream_ptr, mm_plan.launch._params_ptr, 0),
    "torch: empty((64,1024))": lambda: torch.empty((64, 1024), device="cuda"),
    "torch: softmax": lambda: torch.softmax(tx, -1),
    "torch: layer_norm": lambda: torch.nn.functional.layer_norm(tx, (1024,), tw, tb),
    "torch: matmul 256^2": lambda: ta @ ta,
    "ours: rows_softmax": lambda: rk.rows_softmax(x),
    "ours: rows_layernorm (library: mean+rstd one OutputBlock)": lambda: rk.rows_layernorm(x, w, b),
    "ours: rows_layernorm before (three allocations)": lambda: ln_fwd_before(x, w, b),
    "ours: rows_layernorm all three in one allocation": lambda: ln_fwd_all_one(x, w, b),
    "ours: rows_layernorm_backward (library: dw+db one OutputBlock)": lambda: rk.rows_layernorm_backward(dy, x, w, m0, r0),
    "ours: rows_layernorm_backward before (three allocations)": lambda: ln_bwd_before(dy, x, w, m0, r0),
    "ours: matmul_auto 256^3 (library)": lambda: mm.matmul_auto(a, a),
    "ours: matmul_auto 256^3 is-dtype": lambda: mm_auto_is(a, a),
    "ours: flash fwd planned (library: OutputBlock)": lambda: fh.flash_forward_hopper(q, q, q),
    "ours: flash fwd planned before (two allocations)": lambda: flash_fwd_before(q, q, q),
    "ours: flash bwd planned (library: OutputBlock, delta scratch)": lambda: fh.flash_backward_hopper(q, q, q, o0, l0, q),
    "ours: flash bwd planned before (four allocations)": lambda: flash_bwd_before(q, q, q, o0, l0, q),
    "view: OutputBlock of 2 (flash fwd's)": lambda: fwd_block(),
    "view: OutputBlock of 3 + scratch (flash bwd's)": lambda: bwd_block(),
}
results = {name: [] for name in cases}
for _ in range(3):
    for name, fn in cases.items():
        results[name].append(round(host_us(fn), 2))
for name, v in results.items():
    print(f"{min(v):7.2f}  {v}  {name}", flush=True)
json.dump(results, open(sys.argv[1], "w"), indent=1) if len(sys.argv) > 1 else None
