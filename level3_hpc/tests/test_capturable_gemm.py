"""The layout planner of the capturable cuBLAS matmul, checked on the CPU by running what it plans
(a column-major strided-batched GEMM, emulated with numpy on the operands' raw memory) against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.runtime.capturable_gemm import OP_N, matrix_layout, plan


def _column_major(memory: np.ndarray, offset: int, op: int, ld: int, rows: int, cols: int) -> np.ndarray:
    """op(X) where X is column-major at ``offset`` with leading dimension ``ld`` (rows × cols after op)."""
    stored = (rows, cols) if op == OP_N else (cols, rows)
    x = np.array([[memory[offset + i + j * ld] for j in range(stored[1])] for i in range(stored[0])])
    return x if op == OP_N else x.T


def _emulate(a: np.ndarray, b: np.ndarray, memory: np.ndarray) -> np.ndarray:
    """What CublasGemm asks cuBLAS for, done in numpy: Cᵀ = op(B) op(A) per batch entry."""
    batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    (m, k), n = a.shape[-2:], b.shape[-1]
    elements = lambda x: tuple(s // x.itemsize for s in x.strides)  # noqa: E731
    pa, pb = plan(a.shape, elements(a), batch), plan(b.shape, elements(b), batch)
    assert pa is not None and pb is not None
    base = memory.__array_interface__["data"][0]
    oa = (a.__array_interface__["data"][0] - base) // memory.itemsize
    ob = (b.__array_interface__["data"][0] - base) // memory.itemsize
    out = np.empty((int(np.prod(batch, dtype=int)), m, n), dtype=np.result_type(a, b))
    for i in range(out.shape[0]):
        bt = _column_major(memory, ob + i * pb.batch_stride, pb.op, pb.ld, n, k)  # (n, k)
        at = _column_major(memory, oa + i * pa.batch_stride, pa.op, pa.ld, k, m)  # (k, m)
        out[i] = (bt @ at).T  # column-major n × m with ldc = n is row-major m × n
    return out.reshape(batch + (m, n))


def _views(memory: np.ndarray):
    rng = np.random.default_rng(0)
    memory[:] = rng.standard_normal(memory.size)
    a = memory[:24].reshape(4, 6)
    yield a, memory[100:130].reshape(6, 5)  # plain
    yield a, memory[100:130].reshape(5, 6).T  # B transposed (x @ W.T)
    yield memory[200:224].reshape(6, 4).T, memory[100:130].reshape(6, 5)  # A transposed
    yield memory[:120].reshape(2, 3, 4, 5), memory[300:420].reshape(2, 3, 4, 5).swapaxes(-1, -2)  # q @ kᵀ
    yield memory[:72].reshape(3, 4, 6), memory[100:130].reshape(6, 5)  # batch × one matrix
    yield memory[:24].reshape(4, 6), memory[300:390].reshape(3, 6, 5)  # one matrix × batch
    yield memory[:72].reshape(3, 4, 6).transpose(0, 2, 1)[:, :, :3], memory[100:118].reshape(3, 6)  # strided


@pytest.mark.parametrize("case", range(7))
def test_the_planned_gemm_computes_the_matmul(case):
    memory = np.empty(1000)
    a, b = list(_views(memory))[case]
    np.testing.assert_allclose(_emulate(a, b, memory), a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", range(7))
def test_the_planned_gemm_computes_the_complex_matmul(case):
    """complex64 operands (the FNO's spectral products) take the same plan, strides counted in elements."""
    memory = np.empty(1000, dtype=np.complex64)
    a, b = list(_views(memory))[case]
    memory += 1j * np.random.default_rng(1).standard_normal(memory.size).astype(np.float32)
    np.testing.assert_allclose(_emulate(a, b, memory), a @ b, rtol=1e-5, atol=1e-5)


def test_layouts_that_cublas_cannot_read_are_refused():
    assert matrix_layout(4, 6, 12, 2) is None  # every other column: neither row- nor column-major
    x = np.empty((2, 3, 4, 5)).transpose(1, 0, 2, 3)  # batch dims out of order: no single batch stride
    assert plan(x.shape, tuple(s // 8 for s in x.strides), (3, 2)) is None
