"""Every matmul version against float64 numpy, on sizes that are not multiples of any tile."""

from __future__ import annotations

import numpy as np
import pytest
from level3_gpu import rel_err, skip_without_gpu

skip_without_gpu()
import cupy  # noqa: E402

from hyperion.kernels import matmul as mm  # noqa: E402

SHAPES = [(1, 1, 1), (67, 45, 33), (128, 128, 128), (257, 129, 63), (100, 260, 36), (300, 64, 520)]


def _inputs(M, K, N, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32)


def _tc_operands(a, b, dtype):
    """16-bit device copies of fp32 ``a``, ``b`` (bf16 patterns or fp16) and the fp32 values they hold."""
    if dtype == "bf16":
        da, db = mm.to_bf16_bits(cupy.asarray(a)), mm.to_bf16_bits(cupy.asarray(b))
        return da, db, mm.from_bf16_bits(da).get(), mm.from_bf16_bits(db).get()
    da, db = cupy.asarray(a, dtype=np.float16), cupy.asarray(b, dtype=np.float16)
    return da, db, da.get().astype(np.float32), db.get().astype(np.float32)


@pytest.mark.parametrize("version", list(mm.VERSIONS))
@pytest.mark.parametrize("shape", SHAPES)
def test_fp32_versions(version, shape):
    a, b = _inputs(*shape, seed=hash((version, shape)) % 2**32)
    out = cupy.full((shape[0], shape[2]), np.nan, np.float32)  # poisoned: every element must be written
    c = mm.matmul(cupy.asarray(a), cupy.asarray(b), version, out=out)
    assert rel_err(c.get(), a.astype(np.float64) @ b) < 1e-5


@pytest.mark.parametrize("version", mm.TUNED)
@pytest.mark.parametrize(
    "cfg",
    mm.WARPTILE_CONFIGS,
    ids=lambda c: f"{c['BM']}x{c['BN']}x{c['BK']}_{c['TM']}x{c['TN']}t{c['NTHREADS']}",
)
def test_tuned_configs(version, cfg):
    for shape in [(257, 129, 63), (300, 64, 520)]:
        a, b = _inputs(*shape, seed=1)
        out = cupy.full((shape[0], shape[2]), np.nan, np.float32)
        c = mm.matmul(cupy.asarray(a), cupy.asarray(b), version, cfg, out=out)
        assert rel_err(c.get(), a.astype(np.float64) @ b) < 1e-5


@pytest.mark.parametrize(
    ("version", "cfg"),
    [(v, c) for v in mm.TC_VERSIONS for c in mm.tc_configs(v)],
    ids=lambda p: (
        p
        if isinstance(p, str)
        else (
            f"{p['TC_BM']}x{p['TC_BN']}x{p.get('TC_BK', 64)}w{p.get('TC_WM', 64)}x{p.get('TC_WN', p['TC_BN'])}"
            f"s{p['TC_STAGES']}b{p.get('TC_MINB', 1)}g{p.get('TC_GROUP_M', 8)}"
        )
    ),
)
@pytest.mark.parametrize("dtype", ["bf16", "f16"])
@pytest.mark.parametrize("shape", [(67, 45, 33), (256, 128, 64), (300, 136, 520), (130, 264, 200)])
def test_tensorcore(version, dtype, cfg, shape):
    if version == "12_wgmma" and cupy.cuda.Device().compute_capability != "90":
        pytest.skip("12_wgmma needs a Hopper GPU (sm_90a)")
    a, b = _inputs(*shape, seed=2)
    da, db, ra, rb = _tc_operands(a, b, dtype)
    out = cupy.full((shape[0], shape[2]), np.nan, np.float32)
    c = mm.matmul_tc(da, db, dtype, cfg, out=out, version=version)
    assert rel_err(c.get(), ra.astype(np.float64) @ rb) < 1e-5


def test_bf16_rounding_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal(1000).astype(np.float32) * 100
    bits = mm.to_bf16_bits(cupy.asarray(x)).get()
    expected = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(bits, expected)


def test_bad_inputs_name_the_problem():
    a = cupy.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match="inner dimensions"):
        mm.matmul(a, cupy.ones((4, 5), np.float32), "03_smem_tiling")
    with pytest.raises(TypeError, match="float32"):
        mm.matmul(a.astype(np.float64), cupy.ones((5, 2)), "03_smem_tiling")
    with pytest.raises(ValueError, match="unknown matmul version"):
        mm.matmul(a, cupy.ones((5, 2), np.float32), "99_magic")


@pytest.mark.parametrize("group_m", [1, 8, 16])
def test_wgmma_rasterisation_covers_every_block(group_m):
    """12_wgmma maps a 1-D grid onto block tiles in groups of TC_GROUP_M block rows; with 9 block rows
    and 3 block columns the last group is partial: every element must still be written exactly right."""
    if cupy.cuda.Device().compute_capability != "90":
        pytest.skip("12_wgmma needs a Hopper GPU (sm_90a)")
    a, b = _inputs(1100, 264, 700, seed=4)
    da, db = mm.to_bf16_bits(cupy.asarray(a)), mm.to_bf16_bits(cupy.asarray(b))
    ra, rb = mm.from_bf16_bits(da).get(), mm.from_bf16_bits(db).get()
    out = cupy.full((1100, 700), np.nan, np.float32)
    cfg = dict(mm.TC12_CONFIGS[0], TC_GROUP_M=group_m)
    c = mm.matmul_tc(da, db, "bf16", cfg, out=out, version="12_wgmma")
    assert rel_err(c.get(), ra.astype(np.float64) @ rb) < 1e-5


@pytest.mark.parametrize("choice", [("13_split_k", sk) for sk in mm.SPLIT_K_CONFIGS] + [("08_double_buffered", 5)])
@pytest.mark.parametrize("shape", [(67, 45, 33), (257, 1000, 63), (100, 999, 36), (64, 7, 64)])
def test_matmul_auto_and_split_k(choice, shape):
    """13_split_k (K cut into slices, partials summed) and the cached plans of matmul_auto are exact."""
    a, b = _inputs(*shape, seed=3)
    out = cupy.full((shape[0], shape[2]), np.nan, np.float32)
    c = mm.matmul_auto(cupy.asarray(a), cupy.asarray(b), out=out, choice=choice)
    assert rel_err(c.get(), a.astype(np.float64) @ b) < 1e-5
    c2 = mm.matmul_auto(cupy.asarray(a), cupy.asarray(b), choice=choice)  # the cached plan, a new output
    assert rel_err(c2.get(), a.astype(np.float64) @ b) < 1e-5


def _misaligned(x):
    view = cupy.empty(x.size + 1, x.dtype)[1:].reshape(x.shape)
    view[...] = x
    return view


@pytest.mark.parametrize("dtype", ["bf16", "f16"])
@pytest.mark.parametrize("shape", [(1001, 999, 1003), (1000, 1000, 1000), (67, 45, 33), (64, 64, 60), (5, 8, 3),
                                   (256, 3, 128)])
@pytest.mark.parametrize("offset", [0, 1])
def test_matmul_tc_auto_pads_unaligned_products(dtype, shape, offset):
    """matmul_tc_auto: aligned shapes on the planned kernel; K or N not a multiple of 8, or an operand starting
    2 bytes past a 16-byte boundary (``offset``), on zero-padded copies -- the same product either way."""
    if cupy.cuda.Device().compute_capability != "90":
        pytest.skip("matmul_tc_auto's kernel is 12_wgmma: a Hopper GPU (sm_90a)")
    m, k, n = shape
    a, b = _inputs(m, k, n, seed=5)
    da, db, ra, rb = _tc_operands(a, b, dtype)
    if offset:  # both operands copied to start 2 bytes past a 16-byte boundary
        da, db = _misaligned(da), _misaligned(db)
        assert da.data.ptr % 16 == 2 and db.data.ptr % 16 == 2 and da._c_contiguous and db._c_contiguous
    for out in (cupy.full((m, n), np.nan, np.float32), None):  # a poisoned output, then a new one
        c = mm.matmul_tc_auto(da, db, dtype, out=out)
        assert c.shape == (m, n) and rel_err(c.get(), ra.astype(np.float64) @ rb) < 1e-5


@pytest.mark.parametrize("cfg", range(4))
@pytest.mark.parametrize("dtype", ["bf16", "f16"])
@pytest.mark.parametrize("shape", [(67, 48, 40), (256, 128, 64), (300, 520, 136), (1100, 704, 264), (1, 8, 8)])
@pytest.mark.parametrize("version", mm.TMA_VERSIONS)
def test_tma_kernel(version, cfg, dtype, shape):
    """14_wgmma_tma and 16_wgmma_persistent: the copy engine's tiles (zero-filled past every edge) give the
    float64 product."""
    if cupy.cuda.Device().compute_capability != "90":
        pytest.skip("14 and 16 need a Hopper GPU (sm_90a)")
    from hyperion.kernels.matmul.tma import TMA_CONFIGS

    assert len(TMA_CONFIGS) == 4, "a configuration was added or removed: parametrize cfg over all of them"
    a, b = _inputs(*shape, seed=6)
    da, db, ra, rb = _tc_operands(a, b, dtype)
    out = cupy.full((shape[0], shape[2]), np.nan, np.float32)
    c = mm.matmul_tc(da, db, dtype, TMA_CONFIGS[cfg], out=out, version=version)
    assert rel_err(c.get(), ra.astype(np.float64) @ rb) < 1e-5


@pytest.mark.parametrize("blocks", [1, 3, 7])
@pytest.mark.parametrize("cfg", range(4))
def test_persistent_blocks_walk_every_tile(cfg, blocks):
    """16_wgmma_persistent with fewer blocks than tiles: each block walks many tiles through one ring (phases
    carried across tiles, the last stage of each tile released), every tile of C written once and right -- in
    two calls, the second on a poisoned output."""
    if cupy.cuda.Device().compute_capability != "90":
        pytest.skip("16_wgmma_persistent needs a Hopper GPU (sm_90a)")
    from hyperion.kernels.matmul.tma import TMA_CONFIGS, matmul_tma

    shape = (520, 328, 776)  # 5 x 4 to 5 x 13 tiles, 6 k-tiles: stages reused within and across tiles
    a, b = _inputs(*shape, seed=9)
    da, db, ra, rb = _tc_operands(a, b, "bf16")
    for _ in range(2):
        out = cupy.full((shape[0], shape[2]), np.nan, np.float32)
        c = matmul_tma(da, db, "bf16", TMA_CONFIGS[cfg], out, "16_wgmma_persistent", blocks)
        assert rel_err(c.get(), ra.astype(np.float64) @ rb) < 1e-5


def test_tma_refuses_unaligned_operands():
    from hyperion.kernels.matmul.tma import matmul_tma

    a, b = cupy.zeros((4, 12), np.uint16), cupy.zeros((12, 8), np.uint16)
    with pytest.raises(ValueError, match="multiples of 8"):
        matmul_tma(a, b)
    with pytest.raises(ValueError, match="inner dimensions"):
        matmul_tma(cupy.zeros((4, 16), np.uint16), b)
