"""fp32 and complex64 matmul on cuBLAS through ctypes, with a handle of our own: callable inside a CUDA-graph capture.

CuPy refuses every cuBLAS call while the current stream captures ("calling cuBLAS API during stream
capture is currently unsupported": its ``cublas.setStream`` checks), although cuBLAS itself supports
capture (cuBLAS docs, "CUDA Graphs Support") given a workspace that is not allocated mid-capture.
PyTorch captures cuBLAS the same way: its own handle, its own workspace.

:func:`plan` turns two row-major operands (any batch shape, broadcast batch dims, transposed
views) into one ``cublasGemmStridedBatchedEx`` call on the column-major view of the same memory:
row-major ``C = A @ B`` is column-major ``Cᵀ = Bᵀ Aᵀ``, so B goes first. An operand whose matrices
are neither row- nor column-major, or whose batch does not step by one stride, is copied first. A batch of
row-major matrices times one matrix (a Linear layer on (B, T, C) activations) whose rows follow each other at
one stride is one (B·T) × C product, not B small ones.
:class:`CublasGemm` makes the call (``CUBLAS_COMPUTE_32F``: no TF32, as CuPy and the PyTorch twin); complex64
operands (the FNO's per-mode spectral products) take the same call with ``CUDA_C_32F``, strides in elements.
The call is planned once per operand layout (shapes, strides, dtype): by default a ``cublasLtMatmul`` with
its descriptors and the algorithm cuBLASLt's heuristic picks for that layout (found once, kept), else -- where
cuBLASLt offers none, or with ``CublasGemm(lt=False)`` -- the ``cublasGemmStridedBatchedEx`` call, which
chooses its algorithm again on every call. A later call with the same layout converts three pointers and
calls cuBLAS. That is why level 3's backend runs its cuBLAS matmuls here outside graphs too.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import Any

from hyperion.tensor.cuda_build import cupy_module

OP_N, OP_T = 0, 1
CUDA_R_32F, CUDA_C_32F, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT = 0, 4, 68, -1
WORKSPACE_BYTES = 32 * 2**20


@dataclass(frozen=True)
class Operand:
    """One operand as cuBLAS reads it: transpose flag, leading dimension, batch stride (elements)."""

    op: int
    ld: int
    batch_stride: int


def matrix_layout(rows: int, cols: int, row_stride: int, col_stride: int) -> tuple[int, int] | None:
    """(op, ld) reading a row-major ``rows × cols`` matrix with these element strides as the column-
    major ``cols × rows`` matrix cuBLAS wants (op N) or its transpose (op T); None if neither fits."""
    if col_stride == 1 or cols == 1:
        ld = row_stride if rows > 1 else cols
        if ld >= max(1, cols):
            return OP_N, ld
    if row_stride == 1 or rows == 1:
        ld = col_stride if cols > 1 else rows
        if ld >= max(1, rows):
            return OP_T, ld
    return None


def batch_stride(shape: tuple[int, ...], strides: tuple[int, ...]) -> int | None:
    """The one element stride stepping through the flattened batch dims, or None if there is none."""
    dims = [(n, s) for n, s in zip(shape, strides) if n > 1]
    if not dims:
        return 0
    if all(s == 0 for _, s in dims):
        return 0
    for (_, s_outer), (n_inner, s_inner) in zip(dims, dims[1:]):
        if s_outer != s_inner * n_inner:
            return None
    return dims[-1][1]


def plan(shape: tuple[int, ...], strides: tuple[int, ...], batch: tuple[int, ...]) -> Operand | None:
    """How cuBLAS reads an operand (element ``strides``) broadcast to ``batch`` + its matrix shape."""
    rows, cols = shape[-2], shape[-1]
    layout = matrix_layout(rows, cols, strides[-2], strides[-1])
    if layout is None:
        return None
    pad = len(batch) - (len(shape) - 2)
    bshape = (1,) * pad + tuple(shape[:-2])
    bstrides = (0,) * pad + tuple(strides[:-2])
    full = tuple(0 if n == 1 and b > 1 else s for n, b, s in zip(bshape, batch, bstrides))
    step = batch_stride(batch, full)
    if step is None:
        return None
    return Operand(layout[0], layout[1], step)


class CublasGemm:
    """``__call__(a, b)``: ``a @ b`` for two fp32 or two complex64 CuPy arrays of ≥ 2 dims, on the current
    stream."""

    def __init__(self, lt: bool = True) -> None:
        cupy = cupy_module()
        import cupy_backends.cuda.libs.cublas  # noqa: F401 - loads libcublas into the process

        self.cupy = cupy
        cupy.cuda.device.get_cublas_handle()  # CuPy's own handle: libcublas is loaded after this
        self.lib = ctypes.CDLL(_loaded_library("libcublas.so"))
        self.handle = ctypes.c_void_p()
        _check(self.lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        self.workspace = cupy.empty(WORKSPACE_BYTES, cupy.uint8)  # before any capture
        self.stream = None
        pair = ctypes.c_float * 2  # a cuComplex: (re, im)
        self.scalars = {"float32": (CUDA_R_32F, ctypes.c_float(1.0), ctypes.c_float(0.0)),
                        "complex64": (CUDA_C_32F, pair(1.0, 0.0), pair(0.0, 0.0))}  # type, alpha, beta
        self.calls = 0
        self.plans: dict[tuple, _Call | _LtCall] = {}  # operand layout -> the planned call
        self.function = self.lib.cublasGemmStridedBatchedEx
        self.lt = _Lt(self.workspace) if lt else None  # libcublasLt is loaded with libcublas

    def __call__(self, a: Any, b: Any) -> Any:
        cupy = self.cupy
        key = (a.shape, a.strides, b.shape, b.strides, a.dtype, b.dtype)
        call = self.plans.get(key)
        if call is None:
            call = self._plan(a, b)
            if call is None:  # an operand cuBLAS cannot read as it is: copied, then planned again (uncached)
                return self._copy_then_call(a, b)
            self.plans[key] = call
        out = cupy.ndarray(call.out_shape, a.dtype)
        stream = cupy.cuda.get_current_stream().ptr
        ptr = ctypes.c_void_p
        if type(call) is _LtCall:
            status = call.matmul(*call.head, ptr(b.data.ptr), call.b_layout, ptr(a.data.ptr), call.a_layout,
                                 call.beta, ptr(out.data.ptr), call.c_layout, ptr(out.data.ptr), call.c_layout,
                                 *call.tail, ptr(stream))
            _check(status, "cublasLtMatmul")
        else:
            if stream != self.stream:
                self._use_stream(stream)
            status = self.function(*call.head, ptr(b.data.ptr), *call.b_args, ptr(a.data.ptr), *call.a_args,
                                   ptr(out.data.ptr), *call.tail)
            _check(status, "cublasGemmStridedBatchedEx")
        self.calls += 1
        return out

    def _plan(self, a: Any, b: Any) -> _Call | _LtCall | None:
        """The cuBLAS call for operands of ``a``'s and ``b``'s shapes, strides and dtype, all but the three
        pointers; None if an operand must be copied first (or the product is empty: CuPy computes it)."""
        if a.dtype != b.dtype or a.dtype.name not in self.scalars:
            raise TypeError(f"CublasGemm: two float32 or two complex64 arrays, got {a.dtype} and {b.dtype}")
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ValueError(f"CublasGemm: operands of shapes {a.shape} and {b.shape} do not multiply")
        kind, one, zero = self.scalars[a.dtype.name]
        batch = tuple(int(n) for n in _broadcast(a.shape[:-2], b.shape[:-2]))
        (m, k), n = a.shape[-2:], b.shape[-1]
        pa, pb = plan(a.shape, _elements(a), batch), plan(b.shape, _elements(b), batch)
        if pa is None or pb is None or 0 in (m, n, k, *batch):
            return None
        out_shape, count = batch + (m, n), math.prod(batch)
        if count > 1 and b.ndim == 2 and pa.op == OP_N and pa.batch_stride == m * pa.ld:
            m, count = count * m, 1  # a's rows follow each other at one stride: one (batch·m) × k product
        if self.lt is not None:
            call = self.lt.plan(kind, one, zero, pa, pb, m, n, k, count, out_shape)
            if call is not None:
                return call
        c_int, c_ll = ctypes.c_int, ctypes.c_longlong
        return _Call(out_shape,
                     (self.handle, c_int(pb.op), c_int(pa.op), c_int(n), c_int(m), c_int(k), ctypes.byref(one)),
                     (c_int(kind), c_int(pb.ld), c_ll(pb.batch_stride)),
                     (c_int(kind), c_int(pa.ld), c_ll(pa.batch_stride), ctypes.byref(zero)),
                     (c_int(kind), c_int(n), c_ll(m * n), c_int(count), c_int(CUBLAS_COMPUTE_32F),
                      c_int(CUBLAS_GEMM_DEFAULT)))

    def _copy_then_call(self, a: Any, b: Any) -> Any:
        cupy = self.cupy
        batch = tuple(int(n) for n in _broadcast(a.shape[:-2], b.shape[:-2]))
        (m, k), n = a.shape[-2:], b.shape[-1]
        if 0 in (m, n, k, *batch):
            return cupy.matmul(a, b)
        if plan(a.shape, _elements(a), batch) is None:
            a = cupy.ascontiguousarray(cupy.broadcast_to(a, batch + (m, k)))
        if plan(b.shape, _elements(b), batch) is None:
            b = cupy.ascontiguousarray(cupy.broadcast_to(b, batch + (k, n)))
        return self(a, b)

    def _use_stream(self, stream: int) -> None:
        _check(self.lib.cublasSetStream_v2(self.handle, ctypes.c_void_p(stream)), "cublasSetStream")
        _check(self.lib.cublasSetWorkspace_v2(self.handle, ctypes.c_void_p(self.workspace.data.ptr),
                                              ctypes.c_size_t(WORKSPACE_BYTES)), "cublasSetWorkspace")
        self.stream = stream


@dataclass(frozen=True)
class _Call:
    """One planned ``cublasGemmStridedBatchedEx``: the output's shape and the arguments around the pointers
    (B's, A's and C's), built once per operand layout so that a call converts only three pointers."""

    out_shape: tuple[int, ...]
    head: tuple[Any, ...]
    b_args: tuple[Any, ...]
    a_args: tuple[Any, ...]
    tail: tuple[Any, ...]


# cublasLt.h: matmul-descriptor, layout and preference attributes; the heuristic result is 96 bytes (an algo of
# 8 uint64, its workspace size, status, waves, 4 reserved ints)
LT_TRANSA, LT_TRANSB, LT_BATCH_COUNT, LT_BATCH_STRIDE, LT_MAX_WORKSPACE = 3, 4, 5, 6, 1
LT_RESULT_BYTES = 96


@dataclass(frozen=True)
class _LtCall:
    """One planned ``cublasLtMatmul``: its descriptors and the algorithm cuBLASLt's heuristic chose, found once
    per operand layout. ``cublasGemmStridedBatchedEx`` repeats that choice on every call (about 17 µs of host
    time for a 128x784 @ 784x256 product on an H100 host, of the call's 20); a planned Lt call does not."""

    out_shape: tuple[int, ...]
    matmul: Any  # the cublasLtMatmul function
    head: tuple[Any, ...]  # handle, descriptor, alpha
    b_layout: Any
    a_layout: Any
    beta: Any
    c_layout: Any
    tail: tuple[Any, ...]  # algorithm, workspace, its size
    keep: tuple[Any, ...]  # what the pointers above point into


class _Lt:
    """cuBLASLt: a handle and the planning of one ``cublasLtMatmul`` per operand layout."""

    def __init__(self, workspace: Any) -> None:
        self.lib = ctypes.CDLL(_loaded_library("libcublasLt.so"))
        self.handle = ctypes.c_void_p()
        _check(self.lib.cublasLtCreate(ctypes.byref(self.handle)), "cublasLtCreate")
        self.workspace = workspace

    def _layout(self, kind: int, rows: int, cols: int, ld: int, count: int, stride: int) -> ctypes.c_void_p:
        layout = ctypes.c_void_p()
        _check(self.lib.cublasLtMatrixLayoutCreate(ctypes.byref(layout), ctypes.c_int(kind), ctypes.c_uint64(rows),
                                                   ctypes.c_uint64(cols), ctypes.c_int64(ld)), "layout")
        if count > 1:
            self._set(self.lib.cublasLtMatrixLayoutSetAttribute, layout, LT_BATCH_COUNT, ctypes.c_int32(count))
            self._set(self.lib.cublasLtMatrixLayoutSetAttribute, layout, LT_BATCH_STRIDE, ctypes.c_int64(stride))
        return layout

    @staticmethod
    def _set(setter: Any, target: Any, attribute: int, value: Any) -> None:
        _check(setter(target, ctypes.c_int(attribute), ctypes.byref(value), ctypes.c_size_t(ctypes.sizeof(value))),
               f"cublasLt attribute {attribute}")

    def plan(self, kind: int, one: Any, zero: Any, pa: Operand, pb: Operand, m: int, n: int, k: int, count: int,
             out_shape: tuple[int, ...]) -> _LtCall | None:
        """The planned call (column-major ``Cᵀ = op(B) op(A)``, as the GemmEx call), or None where cuBLASLt
        offers no algorithm for it."""
        lib = self.lib
        desc = ctypes.c_void_p()
        _check(lib.cublasLtMatmulDescCreate(ctypes.byref(desc), ctypes.c_int(CUBLAS_COMPUTE_32F), ctypes.c_int(kind)),
               "cublasLtMatmulDescCreate")
        self._set(lib.cublasLtMatmulDescSetAttribute, desc, LT_TRANSA, ctypes.c_int32(pb.op))
        self._set(lib.cublasLtMatmulDescSetAttribute, desc, LT_TRANSB, ctypes.c_int32(pa.op))
        b_rows, b_cols = (n, k) if pb.op == OP_N else (k, n)  # as stored (column-major), before the op
        a_rows, a_cols = (k, m) if pa.op == OP_N else (m, k)
        b_layout = self._layout(kind, b_rows, b_cols, pb.ld, count, pb.batch_stride)
        a_layout = self._layout(kind, a_rows, a_cols, pa.ld, count, pa.batch_stride)
        c_layout = self._layout(kind, n, m, n, count, m * n)
        preference = ctypes.c_void_p()
        _check(lib.cublasLtMatmulPreferenceCreate(ctypes.byref(preference)), "cublasLtMatmulPreferenceCreate")
        self._set(lib.cublasLtMatmulPreferenceSetAttribute, preference, LT_MAX_WORKSPACE,
                  ctypes.c_uint64(WORKSPACE_BYTES))
        result, found = (ctypes.c_char * LT_RESULT_BYTES)(), ctypes.c_int(0)
        status = lib.cublasLtMatmulAlgoGetHeuristic(self.handle, desc, b_layout, a_layout, c_layout, c_layout,
                                                    preference, ctypes.c_int(1), result, ctypes.byref(found))
        lib.cublasLtMatmulPreferenceDestroy(preference)
        if status != 0 or found.value < 1:
            return None
        workspace = (ctypes.c_void_p(self.workspace.data.ptr), ctypes.c_size_t(WORKSPACE_BYTES))
        return _LtCall(out_shape, lib.cublasLtMatmul, (self.handle, desc, ctypes.byref(one)), b_layout, a_layout,
                       ctypes.byref(zero), c_layout, (ctypes.byref(result), *workspace),
                       (desc, b_layout, a_layout, c_layout, result, one, zero))


def _elements(x: Any) -> tuple[int, ...]:
    return tuple(s // x.itemsize for s in x.strides)


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    import numpy as np

    return tuple(np.broadcast_shapes(*shapes))


def _check(status: int, what: str) -> None:
    if status != 0:
        raise RuntimeError(f"{what} failed with cuBLAS status {status}")


def _loaded_library(stem: str) -> str:
    """The path of the shared library ``stem`` (e.g. libcublas.so) this process has loaded."""
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            path = line.split()[-1] if line.strip() else ""
            name = path.rsplit("/", 1)[-1]
            if name.startswith(stem):  # libcublasLt.so does not match libcublas.so
                return path
    raise RuntimeError(f"{stem} is not loaded in this process (is CuPy's cuBLAS available?)")
