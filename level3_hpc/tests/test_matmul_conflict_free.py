"""Matmul 15 (conflict-free shared memory) run on the CPU through the CUDA emulator: the real ``.cu``, its
swizzled stores, quad fragments and register double buffering, at aligned and ragged shapes, with K cut
into slices, against float64 numpy. (Its speed is measured on a GPU by the suite; here only the answer.)"""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.kernels import emulate
from hyperion.kernels._launch import cdiv
from hyperion.kernels.matmul import CONFLICT_FREE_CONFIGS

pytestmark = pytest.mark.skipif(not emulate.available(), reason="the CUDA emulator needs g++ on PATH")

SHAPES = [(128, 128, 64), (67, 45, 53), (1, 130, 9), (200, 17, 256), (259, 261, 75)]  # (M, N, K); the last:
# ragged rows (vec = 0) with whole tiles inside, which load without bounds tests


def _run(a: np.ndarray, b: np.ndarray, cfg: dict[str, int], slices: int) -> np.ndarray:
    (m, k), n = a.shape, b.shape[1]
    kslice = cdiv(cdiv(k, slices), cfg["BK"]) * cfg["BK"]
    slices = cdiv(k, kslice)
    parts = np.full((slices, m, n), np.nan, np.float32)  # every element must be written
    kernel = emulate.get_kernel("matmul/15_conflict_free.cu", "matmul_conflict_free", **cfg)
    vec = int(k % 4 == 0 and n % 4 == 0)
    grid = (cdiv(n, cfg["BN"]), cdiv(m, cfg["BM"]), slices)
    kernel(grid, (cfg["NTHREADS"],), (a, b, parts, np.int32(m), np.int32(n), np.int32(k), np.int32(kslice),
                                      np.int32(vec)))
    return parts.sum(axis=0, dtype=np.float64)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("index", range(len(CONFLICT_FREE_CONFIGS)))
def test_every_configuration_multiplies(shape, index):
    m, n, k = shape
    rng = np.random.default_rng(m * n + k)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    got = _run(a, b, CONFLICT_FREE_CONFIGS[index], slices=1)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-4 * np.sqrt(k))


@pytest.mark.parametrize("switches", [dict(QUADS=0), dict(A_PAD=0), dict(FRAG_DB=0)], ids=str)
def test_each_idea_alone_keeps_the_answer(switches):
    """The three ideas can be switched off one at a time (the suite's ablation): still the product."""
    a = np.random.default_rng(1).standard_normal((130, 70)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((70, 129)).astype(np.float32)
    got = _run(a, b, {**CONFLICT_FREE_CONFIGS[0], **switches}, slices=1)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("slices", [2, 3])
def test_split_k_partials_add_up(slices):
    a = np.random.default_rng(3).standard_normal((96, 200)).astype(np.float32)
    b = np.random.default_rng(4).standard_normal((200, 72)).astype(np.float32)
    got = _run(a, b, CONFLICT_FREE_CONFIGS[0], slices=slices)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-3)
