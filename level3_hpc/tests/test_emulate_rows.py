"""The row kernels rows.py dispatches, run on the CPU by the CUDA emulator, against PyTorch CPU.

Softmax 06, LayerNorm 05 (forward) and 14 (backward; with 15's column sums when two-pass) in fp32, fp16 and
bf16 with the launch geometry rows.py computes (``fit_config``, ``backward_blocks``, ``backward_shared_bytes``,
``column_splits``), on small shapes that reach every regime: groups of 4-16 lanes, one warp and several warps
per row, several rows per block, several chunks per thread, raw 16-bit caching, the re-reading, the shared-sum
and the two-pass backward, widths that are not a multiple of a 16-byte chunk, arrays that start off a 16-byte
boundary, and a persistent backward grid whose groups take several rows each. Also the one-launch backward
(LayerNorm 14 with LAST_BLOCK_REDUCE: the last block adds the partial sums) against a float64 reference and
the two launches, the block-per-row kernels a LEGACY table entry keeps (softmax 01-05, LayerNorm 03, 04, 13)
and bias+GELU.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
import torch

from hyperion.kernels import emulate
from hyperion.kernels import rows as rk
from hyperion.kernels.softmax import cache_vec

pytestmark = pytest.mark.skipif(not emulate.available(), reason="the CUDA emulator needs g++ on PATH")

TORCH = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
TOL = {"f32": 2e-6, "f16": 2e-3, "bf16": 1.5e-2}  # a few roundings of the output type (as test_rows_gpu.py)
R = rk.RowConfig
# (kind, rows, C, config): each config a regime rows.py can choose (default_config or a sweep candidate)
CASES = [
    ("softmax", 9, 37, R(4, 128, 2)),            # 4-lane groups, 32 rows a block, a partial last block
    ("softmax", 5, 100, R(16, 256, 2, raw=1)),    # 16-lane groups, raw 16-bit chunks
    ("softmax", 3, 1001, R(32, 128, 8)),          # a warp per row, 8 chunks a thread
    ("softmax", 3, 1000, R(128, 128, 2)),         # 4 warps per row (shared-memory step), a block per row
    ("softmax", 2, 4097, R(512, 512, 4, raw=1)),  # 16 warps per row, raw chunks
    ("softmax", 3, 1000, R(64, 128, 4, stream=1)),  # streaming-hint loads and stores
    ("softmax", 70, 37, R(4, 32, 2, iters=3)),    # 3 rows a group, the next loaded during this one; last block partial
    ("softmax", 7, 1000, R(128, 128, 2, iters=2)),  # a block per 2 rows, the last with one row past the end
    ("softmax", 5, 100, R(16, 64, 2, raw=1, iters=2)),
    ("ln_fwd", 9, 37, R(4, 128, 2)),
    ("ln_fwd", 5, 100, R(16, 256, 2, raw=1)),
    ("ln_fwd", 3, 1001, R(32, 256, 8)),
    ("ln_fwd", 3, 1000, R(128, 256, 1)),          # 2 rows a block of 4-warp groups, 1 chunk a thread
    ("ln_fwd", 2, 4097, R(256, 256, 5, raw=1)),
    ("ln_fwd", 70, 37, R(4, 32, 2, iters=3)),
    ("ln_fwd", 7, 1000, R(128, 128, 2, iters=2)),
    ("ln_fwd", 5, 4097, R(256, 256, 5, raw=1, iters=2)),
    ("ln_bwd", 37, 37, R(4, 128, 2)),             # persistent groups: several rows each
    ("ln_bwd", 21, 100, R(16, 256, 2, reload=1)),  # re-reading backward
    ("ln_bwd", 19, 1001, R(32, 256, 4)),
    ("ln_bwd", 19, 1001, R(32, 256, 4, stream=1)),
    ("ln_bwd", 9, 1000, R(128, 256, 1)),
    ("ln_bwd", 9, 1001, R(128, 128, 2, smem_acc=1)),  # sums in shared memory (one group a block)
    ("ln_bwd", 21, 100, R(32, 32, 1, smem_acc=1)),  # the same, a warp a block, 3 rows a group
    ("ln_bwd", 11, 1000, R(256, 256, 1, smem_acc=1)),
    ("ln_bwd", 5, 4097, R(1024, 1024, 1)),        # a block of 1024 per row (the fp16 4097 entry until 12-05)
    ("ln_bwd", 5, 16384, R(1024, 1024, 2, reload=1)),  # re-reading 16384-wide rows (likewise)
    ("ln_bwd", 9, 4097, R(256, 256, 3, reload=1, smem_acc=1)),  # shared sums, the row re-read after the sums
    ("ln_bwd", 37, 37, R(4, 128, 2, two_pass=1)),  # two passes: dx alone, then LayerNorm 15's column sums
    ("ln_bwd", 70, 4097, R(256, 256, 3, two_pass=1)),  # 70 rows: full and partial 4-row steps in each split
]
# every configuration rows.ROW_TABLE holds, at its own width (a few rows), in the dtypes it serves
TABLE = sorted({(kind, "f32" if dtype == "f32" else "f16", C, config)
                for (kind, dtype, _, C), config in rk.ROW_TABLE.items() if config != rk.LEGACY}, key=str)
DTYPES = ["f32", "f16", "bf16"]
HEADS = (0, 3)  # elements from a 16-byte boundary to the start of x (and of y, dy, dx)
RESIDENT = 2  # blocks "the device holds" for the backward grid: small, so each group takes several rows


def _defines(config: rk.RowConfig, **extra: int) -> dict:
    return dict(config.defines(), **extra, ROW_DTYPE=0)  # one module for the three dtypes (rows.py builds one each)


def _kernel(kind: str, config: rk.RowConfig, name: str, **extra: int):
    return emulate.get_kernel(rk.SOURCES[kind][0], name, **_defines(config, **extra))


def _fitted(kind: str, C: int, config: rk.RowConfig) -> list[rk.RowConfig]:
    """The configs a case launches: for each dtype and both alignments, as rows.py fits them."""
    return [rk.fit_config(dtype, C, config, head * TORCH[dtype].itemsize, True) for dtype in DTYPES for head in HEADS]


def _shifts(kind: str, C: int) -> set[tuple]:
    """The W_SHIFT defines rows.py adds for a case (LayerNorm only), over the dtypes and alignments."""
    return {tuple(rk.w_shift(kind, dtype, C, head * TORCH[dtype].itemsize, True).items()) for dtype in DTYPES
            for head in HEADS}


@pytest.fixture(scope="module", autouse=True)
def _compiled_in_parallel():
    """Every module the tests use, compiled first, two g++ at a time (the disk cache keeps them)."""
    jobs = {(kind, c, s) for kind, _, C, config in CASES for c in _fitted(kind, C, config) for s in _shifts(kind, C)}
    jobs |= {(kind, c, s) for kind, _, C, config in TABLE for c in _fitted(kind, C, config) for s in _shifts(kind, C)}
    for _, C, config, head in ONE_LAUNCH:  # the one-launch kernel and the two launches it is compared with
        fitted = {rk.fit_config(dtype, C, config, head * TORCH[dtype].itemsize, True) for dtype in DTYPES}
        jobs |= {("ln_bwd", c, s + extra) for c in fitted for s in _shifts("ln_bwd", C)
                 for extra in ((), (("LAST_BLOCK_REDUCE", 1),))}
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda job: emulate.load_module(rk.SOURCES[job[0]][0], **_defines(job[1], **dict(job[2]))),
                      jobs))


def _to_np(t: torch.Tensor, dtype: str) -> np.ndarray:
    return t.view(torch.int16).numpy().view(np.uint16) if dtype == "bf16" else t.numpy()


def _to_torch(a: np.ndarray, dtype: str) -> torch.Tensor:
    t = torch.from_numpy(a.view(np.int16)).view(torch.bfloat16) if dtype == "bf16" else torch.from_numpy(a)
    return t.double()


def _offset(a: np.ndarray, elements: int) -> np.ndarray:
    """A copy of ``a`` whose data starts ``elements`` past a 16-byte boundary."""
    flat = np.zeros(a.size + 16, a.dtype)
    start = (-flat.ctypes.data % 16) // a.itemsize + elements
    out = flat[start : start + a.size].reshape(a.shape)
    out[...] = a
    return out


def rel_err(out, ref) -> float:
    out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
    assert np.isfinite(out).all(), "output has NaN/inf (an element was not written?)"
    return float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-300))


def run_softmax(x: np.ndarray, dtype: str, config: rk.RowConfig) -> np.ndarray:
    """rows_softmax's launch, on the emulator."""
    rows, C = x.shape
    y = _offset(np.zeros_like(x), x.ctypes.data % 16 // x.itemsize)
    config = rk.fit_config(dtype, C, config, x.ctypes.data % 16, True)
    grid = rk.forward_blocks(rows, config)
    _kernel("softmax", config, f"softmax_rows_{dtype}")((grid,), (config.block,), (x, y, rows, C, 1))
    return y


def run_layernorm(x, w, b, dtype, config, eps=1e-5):
    rows, C = x.shape
    y = _offset(np.zeros_like(x), x.ctypes.data % 16 // x.itemsize)
    mean, rstd = np.full(rows, np.nan, np.float32), np.full(rows, np.nan, np.float32)
    config = rk.fit_config(dtype, C, config, x.ctypes.data % 16, True)
    grid = rk.forward_blocks(rows, config)
    args = (x, w, b, y, mean, rstd, rows, C, np.float32(eps), 1, 1)
    shift = rk.w_shift("ln_fwd", dtype, C, x.ctypes.data % 16, True)
    _kernel("ln_fwd", config, f"layernorm_rows_{dtype}", **shift)((grid,), (config.block,), args)
    return y, mean, rstd


def run_layernorm_backward(dy, x, w, mean, rstd, dtype, config):
    """rows_layernorm_backward's launches: the row kernel, (two-pass) LayerNorm 15's column sums, then the
    reduction of the partial sums."""
    rows, C = x.shape
    dx = _offset(np.zeros_like(x), x.ctypes.data % 16 // x.itemsize)
    config = rk.fit_config(dtype, C, config, x.ctypes.data % 16, True)
    blocks = rk.backward_blocks(rows, config, RESIDENT)
    parts = rk.column_splits(rows, C, RESIDENT) if config.two_pass else blocks
    smem = rk.backward_shared_bytes(dtype, C, config)
    grads = np.full(2 * C, np.nan, np.float32)  # the first block of the kernel making the partials zeroes it
    partial = np.full(2 * parts * C, np.nan, np.float32)
    args = (dy, x, w, mean, rstd, dx, partial, grads, rows, C, 1, 1)
    shift = rk.w_shift("ln_bwd", dtype, C, x.ctypes.data % 16, True)
    _kernel("ln_bwd", config, f"layernorm_bwd_rows_{dtype}", **shift)((blocks,), (config.block,), args,
                                                                      shared_mem=smem)
    if config.two_pass:
        columns = emulate.get_kernel(rk.COLUMN_SOURCE, f"layernorm_bwd_columns_{dtype}", ROW_DTYPE=0)
        columns((rk.cdiv(C, 32), parts), (32, rk.COLUMN_SLICES), (dy, x, mean, rstd, partial, grads, rows, C))
    reduce = _kernel("ln_bwd", config, "layernorm_bwd_rows_reduce", **shift)
    reduce((rk.cdiv(C, 256), rk.cdiv(parts, 8)), (256,), (partial, grads, parts, C))
    return dx, grads[:C], grads[C:], blocks


def run_layernorm_backward_one_launch(dy, x, w, mean, rstd, dtype, config, blocks, work=None):
    """rows_layernorm_backward's one launch (LAST_BLOCK_REDUCE) on a grid of ``blocks``; ``work``: the
    ``(counter, partial)`` workspace of an earlier call to reuse, else a fresh one (counter zeroed, partial
    NaN: every entry the last block reads must have been written). Returns dx, dw, db and the workspace."""
    rows, C = x.shape
    dx = _offset(np.zeros_like(x), x.ctypes.data % 16 // x.itemsize)
    config = rk.fit_config(dtype, C, config, x.ctypes.data % 16, True)
    padded = rk.cdiv(C, 4) * 4  # partial rows of whole float4s, 16-byte aligned
    counter, partial = work or (np.zeros(1, np.uint32), _offset(np.full(2 * blocks * padded, np.nan, np.float32), 0))
    dw, db = np.full(C, np.nan, np.float32), np.full(C, np.nan, np.float32)
    args = (dy, x, w, mean, rstd, dx, partial, dw, db, counter, rows, C, 1, 1)
    shift = rk.w_shift("ln_bwd", dtype, C, x.ctypes.data % 16, True)
    kernel = _kernel("ln_bwd", config, f"layernorm_bwd_rows_{dtype}", LAST_BLOCK_REDUCE=1, **shift)
    kernel((blocks,), (config.block,), args, shared_mem=rk.backward_shared_bytes(dtype, C, config, True))
    return dx, dw, db, (counter, partial)


def reference_backward(dy, x, w, dtype):
    """dx, dw, db of LayerNorm in float64 numpy, from the (rounded) inputs the kernels read."""
    x64, dy64, w64 = (_to_torch(x, dtype).numpy(), _to_torch(dy, dtype).numpy(), w.astype(np.float64))
    xhat = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-5)
    g = dy64 * w64
    dx = (g - g.mean(1, keepdims=True) - xhat * (g * xhat).mean(1, keepdims=True)) / np.sqrt(
        x64.var(1, keepdims=True) + 1e-5)
    return dx, (dy64 * xhat).sum(0), dy64.sum(0)


def _data(rows, C, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(rows, C, generator=g) * 3 + 1).to(TORCH[dtype])
    dy = torch.randn(rows, C, generator=g).to(TORCH[dtype])
    return x, dy, torch.randn(C, generator=g), torch.randn(C, generator=g)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("head", HEADS, ids=["aligned", "offset"])
@pytest.mark.parametrize("kind,rows,C,config", CASES, ids=[f"{k}-{r}x{c}-{cf.threads}t" for k, r, c, cf in CASES])
def test_row_kernel_on_the_cpu_matches_torch(kind, rows, C, config, dtype, head):
    xt, dyt, wt, bt = _data(rows, C, dtype, seed=C)
    x, dy = _offset(_to_np(xt, dtype), head), _offset(_to_np(dyt, dtype), head)
    w, b = wt.numpy(), bt.numpy()
    xf = xt.double().requires_grad_()
    if kind == "softmax":
        assert rel_err(_to_torch(run_softmax(x, dtype, config), dtype), torch.softmax(xf.detach(), -1)) < TOL[dtype]
        return
    wr, br = wt.double().requires_grad_(), bt.double().requires_grad_()
    ref = torch.nn.functional.layer_norm(xf, (C,), wr, br, 1e-5)
    ref_mean, ref_rstd = xf.detach().mean(1), 1 / (xf.detach().var(1, unbiased=False) + 1e-5).sqrt()
    if kind == "ln_fwd":
        y, mean, rstd = run_layernorm(x, w, b, dtype, config)
        assert rel_err(_to_torch(y, dtype), ref.detach()) < TOL[dtype]
        assert rel_err(mean, ref_mean) < 1e-6
        assert rel_err(rstd, ref_rstd) < 1e-5
        return
    mean, rstd = ref_mean.float().numpy(), ref_rstd.float().numpy()  # as the forward saves them (fp32)
    ref.backward(dyt.double())
    dx, dw, db, blocks = run_layernorm_backward(dy, x, w, mean, rstd, dtype, config)
    assert rel_err(_to_torch(dx, dtype), xf.grad) < 4 * TOL[dtype]
    assert rel_err(dw, wr.grad) < 1e-5
    assert rel_err(db, br.grad) < 1e-5


@pytest.mark.parametrize("kind, dtype, C, config", TABLE,
                         ids=[f"{k}-{d}-{c}-{i}" for i, (k, d, c, _) in enumerate(TABLE)])
def test_every_table_entry_on_the_cpu(kind, dtype, C, config):
    """rows.ROW_TABLE's entries are configurations the sweep could choose (``candidates``), and each computes
    its own width correctly: fp32 entries in fp32, 16-bit entries in fp16 and bf16 (which takes fp16's)."""
    assert config in rk.candidates(kind, dtype, C)
    for dt in ["f32"] if dtype == "f32" else ["f16", "bf16"]:
        test_row_kernel_on_the_cpu_matches_torch(kind, 6 if kind == "ln_bwd" else 3, C, config, dt, 3)


def test_the_cases_reach_every_regime():
    """The claim of this file's docstring, checked on CASES and on the launches they make."""
    configs = [(kind, c) for kind, _, C, config in CASES for c in _fitted(kind, C, config)]
    for kind in ("softmax", "ln_fwd", "ln_bwd"):
        mine = [c for k, c in configs if k == kind]
        assert {c.threads < 32 for c in mine} == {True, False}
        assert any(c.threads == 32 for c in mine) and any(c.threads > 32 for c in mine)
        assert any(c.block // c.threads > 1 for c in mine) and any(c.block == c.threads for c in mine)
        assert any(c.cache > 1 for c in mine)
    assert any(c.raw for k, c in configs if k != "ln_bwd")
    assert any(c.reload for k, c in configs if k == "ln_bwd") and any(c.smem_acc for k, c in configs if k == "ln_bwd")
    assert any(c.two_pass for k, c in configs if k == "ln_bwd")
    assert any(c.reload and c.smem_acc for k, c in configs if k == "ln_bwd")
    bwd = [(rows, config) for kind, rows, _, config in CASES if kind == "ln_bwd"]
    assert any(rows > rk.backward_blocks(rows, c, RESIDENT) * (c.block // c.threads) for rows, c in bwd)
    assert any(C % 8 for _, _, C, _ in CASES) and any(C % 8 == 0 for _, _, C, _ in CASES)
    defaults = {(kind, rk.default_config(kind, "f32", C)) for kind, _, C, _ in CASES}
    assert any(d in configs for d in defaults)  # the rule rows.py uses off the table is among them


@pytest.mark.parametrize("version", ["01_naive", "02_block_reduce", "03_online_warp", "04_register_cached"])
@pytest.mark.parametrize("C", [7, 1000])
def test_softmax_progression_on_the_cpu(version, C):
    """Softmax 01-04 with softmax()'s launches (04 is what a LEGACY table entry runs for fp32)."""
    rows, block = 5, 64
    x = np.random.default_rng(C).standard_normal((rows, C)).astype(np.float32) * 4
    y = np.full_like(x, np.nan)
    args = (x, y, rows, C)
    if version == "01_naive":
        emulate.get_kernel("softmax/01_naive.cu", "softmax_naive")((1,), (block,), args)
    elif version == "02_block_reduce":
        emulate.get_kernel("softmax/02_block_reduce.cu", "softmax_block_reduce")((rows,), (block,), args,
                                                                                shared_mem=4 * block)
    elif version == "03_online_warp":
        emulate.get_kernel("softmax/03_online_warp.cu", "softmax_online")((rk.cdiv(rows, 2),), (block,), args)
    else:
        kernel = emulate.get_kernel("softmax/04_register_cached.cu", "softmax_register_cached",
                                    CACHE_VEC=cache_vec(C, block))
        kernel((rows,), (block,), (*args, int(C % 4 == 0)))
    assert rel_err(y, torch.softmax(torch.from_numpy(x).double(), -1)) < 2e-6


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_softmax_half_on_the_cpu(dtype):
    """Softmax 05 (a LEGACY entry's 16-bit kernel), a row longer than its register cache (it streams the tail)."""
    rows, C, block = 3, 1100, 64
    xt = _data(rows, C, dtype)[0]
    x = _offset(_to_np(xt, dtype), 1)
    y = _offset(np.zeros_like(x), 1)
    kernel = emulate.get_kernel("softmax/05_half.cu", f"softmax_half_{dtype}", CACHE_VEC=1)
    kernel((rows,), (block,), (x, y, rows, C, 1))
    assert rel_err(_to_torch(y, dtype), torch.softmax(xt.double(), -1)) < TOL[dtype]


def test_bias_gelu_on_the_cpu():
    rows, C = 7, 33
    rng = np.random.default_rng(1)
    x, b = rng.standard_normal((rows, C)).astype(np.float32), rng.standard_normal(C).astype(np.float32)
    dy, y, dx = rng.standard_normal((rows, C)).astype(np.float32), np.zeros((rows, C), np.float32), np.zeros_like(x)
    module = emulate.load_module("fused/bias_gelu.cu")
    module.get_function("bias_gelu")((3,), (32,), (x, b, y, rows * C, C))
    module.get_function("bias_gelu_bwd")((3,), (32,), (dy, x, b, dx, rows * C, C))
    xt = (torch.from_numpy(x).double() + torch.from_numpy(b).double()).requires_grad_()
    ref = torch.nn.functional.gelu(xt, approximate="tanh")
    ref.backward(torch.from_numpy(dy).double())
    assert rel_err(y, ref.detach()) < 1e-6
    assert rel_err(dx, xt.grad) < 1e-6


@pytest.mark.parametrize("C", [37, 1000])
def test_layernorm_block_per_row_kernels_on_the_cpu(C):
    """LayerNorm 03 (forward) and 13 (backward), what a LEGACY entry runs for fp32, with their launchers'
    geometry (layernorm_forward, _bwd13_kernel: 2 x C rounded to float4s of shared sums, 3 partial rows)."""
    rows, block, parts = 7, 64, 3
    xt, dyt, wt, bt = _data(rows, C, "f32", seed=C)
    x, dy, w, b = xt.numpy(), dyt.numpy(), wt.numpy(), bt.numpy()
    vec = int(C % 4 == 0)
    y, mean, rstd = np.full_like(x, np.nan), np.full(rows, np.nan, np.float32), np.full(rows, np.nan, np.float32)
    forward = emulate.get_kernel("layernorm/03_register_cached.cu", "layernorm_fwd", CACHE_VEC=rk.cdiv(C, 4 * block))
    forward((rows,), (block,), (x, w, b, y, mean, rstd, rows, C, np.float32(1e-5), vec))
    xf, wr, br = xt.double().requires_grad_(), wt.double().requires_grad_(), bt.double().requires_grad_()
    ref = torch.nn.functional.layer_norm(xf, (C,), wr, br, 1e-5)
    assert rel_err(y, ref.detach()) < 2e-6
    ref.backward(dyt.double())
    source = "layernorm/13_bwd_smem_partials.cu"
    backward = emulate.get_kernel(source, "layernorm_bwd_smem", CACHE_VEC=rk.cdiv(C, 4 * block), BWD_BLOCK=block)
    dx = np.full_like(x, np.nan)
    dw_part, db_part = np.full((parts, C), np.nan, np.float32), np.full((parts, C), np.nan, np.float32)
    backward((parts,), (block,), (dy, x, w, mean, rstd, dx, dw_part, db_part, rows, C, vec),
             shared_mem=2 * 4 * rk.cdiv(C, 4) * 4)
    dw, db = np.zeros(C, np.float32), np.zeros(C, np.float32)
    reduce = emulate.get_kernel(source, "layernorm_bwd_reduce")
    reduce((rk.cdiv(C, 256), 1), (256,), (dw_part, db_part, dw, db, parts, C))
    assert rel_err(dx, xf.grad) < 1e-5
    assert rel_err(dw, wr.grad) < 1e-5 and rel_err(db, br.grad) < 1e-5


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_layernorm_half_forward_on_the_cpu(dtype):
    """LayerNorm 04 (what a LEGACY entry runs for 16-bit rows), a row off a 16-byte boundary."""
    rows, C, block = 5, 1001, 64
    xt, _, wt, bt = _data(rows, C, dtype)
    x = _offset(_to_np(xt, dtype), 5)
    y = _offset(np.zeros_like(x), 5)
    mean, rstd = np.full(rows, np.nan, np.float32), np.full(rows, np.nan, np.float32)
    kernel = emulate.get_kernel("layernorm/04_half_fwd.cu", f"layernorm_half_fwd_{dtype}",
                                CACHE_VEC=rk.cdiv(rk.cdiv(C + 7, 8), block), HALF_BLOCK=block)
    kernel((rows,), (block,), (x, wt.numpy(), bt.numpy(), y, mean, rstd, rows, C, np.float32(1e-5), 1, 1))
    ref = torch.nn.functional.layer_norm(xt.double(), (C,), wt.double(), bt.double(), 1e-5)
    assert rel_err(_to_torch(y, dtype), ref) < TOL[dtype]


# (rows, C, config, head, blocks): the one-launch backward on grids rows.py would launch on a large GPU
# (backward_blocks with no cap), or on fewer blocks where a case says so.
ONE_LAUNCH = [
    (64, 1024, rk.default_config("ln_bwd", "f32", 1024), 0),  # the host-bound shape: 16 blocks of 4 groups
    (37, 37, R(4, 128, 2), 3),                  # 32 groups a block: 32 turns into the block's sums
    (21, 100, R(16, 256, 2, reload=1), 3),      # rows not a multiple of the groups, the re-reading kernel
    (19, 1001, R(32, 256, 4), 3),               # C odd, rows off a 16-byte boundary
    (9, 1001, R(128, 128, 2, smem_acc=1), 3),   # shared-memory sums: 8 blocks, the first with 2 rows
    (5, 3001, R(1024, 1024, 1), 0),             # a block per row, 3 of the 8 blocks empty
    (5, 1, R(4, 128, 1), 0),                    # C = 1: a grid of one block (it is the last)
]


def _one_launch_case(rows, C, config, head, dtype):
    xt, dyt, wt, _ = _data(rows, C, dtype, seed=rows + C)
    x, dy, w = _offset(_to_np(xt, dtype), head), _offset(_to_np(dyt, dtype), head), wt.numpy()
    x64 = xt.double()
    mean = x64.mean(1).float().numpy()
    rstd = (1 / (x64.var(1, unbiased=False) + 1e-5).sqrt()).float().numpy()
    return dy, x, w, mean, rstd


def _err(out, ref) -> float:
    """rel_err, its denominator at least 1 (C = 1: dx and dw are 0, exactly in the kernel)."""
    out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
    assert np.isfinite(out).all(), "output has NaN/inf (an element was not written?)"
    return float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,C,config,head", ONE_LAUNCH, ids=[f"{r}x{c}-{cf.threads}t" for r, c, cf, _ in ONE_LAUNCH])
def test_one_launch_backward_on_the_cpu(rows, C, config, head, dtype):
    """LAST_BLOCK_REDUCE: dx, dw, db against float64 numpy and against the two launches (dx the same bits: the
    same code; dw, db the same sums added in another order); a second call on the same workspace gives the same
    bits, and each call leaves the counter at 0."""
    dy, x, w, mean, rstd = _one_launch_case(rows, C, config, head, dtype)
    fitted = rk.fit_config(dtype, C, config, x.ctypes.data % 16, True)
    blocks = rk.backward_blocks(rows, fitted, rows)
    assert rk.last_block_reduce(dtype, rows, C, fitted)  # rows.py launches these shapes as one
    dx, dw, db, work = run_layernorm_backward_one_launch(dy, x, w, mean, rstd, dtype, config, blocks)
    assert work[0][0] == 0  # reset by the last block
    ref_dx, ref_dw, ref_db = reference_backward(dy, x, w, dtype)
    assert _err(_to_torch(dx, dtype), ref_dx) < 4 * TOL[dtype]
    assert _err(dw, ref_dw) < 1e-5 and _err(db, ref_db) < 1e-5
    dx2, dw2, db2, _ = run_layernorm_backward(dy, x, w, mean, rstd, dtype, config)
    assert np.array_equal(dx.view(np.uint8), dx2.view(np.uint8))
    assert _err(dw, dw2) < 1e-6 and _err(db, db2) < 1e-6
    again = run_layernorm_backward_one_launch(dy, x, w, mean, rstd, dtype, config, blocks, work)
    assert work[0][0] == 0
    for first, second in zip((dx, dw, db), again[:3]):
        assert np.array_equal(first.view(np.uint8), second.view(np.uint8))


def test_one_launch_cases_reach_every_regime():
    """ONE_LAUNCH's claims: several groups a block (turns) and one, shared-memory sums, re-reading, a grid of
    one block, grids with empty blocks, C odd and C = 1, aligned and offset rows."""
    configs = [config for _, _, config, _ in ONE_LAUNCH]
    grids = [(rows, rk.backward_blocks(rows, c, rows), c.block // c.threads) for rows, _, c, _ in ONE_LAUNCH]
    assert any(c.block // c.threads > 1 for c in configs) and any(c.block == c.threads for c in configs)
    assert any(c.smem_acc for c in configs) and any(c.reload for c in configs)
    assert any(blocks == 1 for _, blocks, _ in grids)
    assert any((blocks - 1) * groups >= rows for rows, blocks, groups in grids)  # the last block has no row
    assert any(C % 2 for _, C, _, _ in ONE_LAUNCH) and any(C == 1 for _, C, _, _ in ONE_LAUNCH)
    assert {head for *_, head in ONE_LAUNCH} == {0, 3}


def test_one_launch_is_chosen_for_small_reductions():
    """rows.py's rule: one launch where the largest grid's partial sums fit LAST_BLOCK_FLOATS (64 x 1024 fp32,
    the host-bound shape, does), two where they don't or where the kernel is two-pass."""
    cfg = rk.default_config("ln_bwd", "f32", 1024)  # 64 threads a row, 4 rows a block
    assert rk.backward_blocks(64, cfg, 64) == 16 and rk.last_block_reduce("f32", 64, 1024, cfg)
    assert rk.last_block_reduce("f16", 1, 1, rk.default_config("ln_bwd", "f16", 1))
    most = rk.LAST_BLOCK_FLOATS // 1024  # blocks of partial rows of 1024 that fit exactly
    assert rk.last_block_reduce("f32", 4 * most, 1024, cfg)
    assert not rk.last_block_reduce("f32", 4 * most + 8, 1024, cfg)
    assert not rk.last_block_reduce("f32", 64, 1024, replace(cfg, two_pass=1))
    for (kind, dtype, rows, C), entry in rk.ROW_TABLE.items():  # the suite's shapes are GPU-bound: two launches
        if kind == "ln_bwd" and entry != rk.LEGACY:
            assert not rk.last_block_reduce(dtype, rows, C, entry)
    big = rk.default_config("ln_bwd", "f16", 4096)
    assert not rk.last_block_reduce("f16", 4096, 4096, big)
    assert rk.last_block_reduce("f16", 8, 4096, big)  # 4 blocks x 4096, 2 groups: 64 KB of shared sums
    assert rk.backward_shared_bytes("f16", 4096, big, True) == 2 * rk.backward_shared_bytes("f16", 4096, big)
    many = R(4, 256, 8, reload=1)  # 64 groups of 4 threads, rows of 128: 64 KB of shared sums
    assert rk.last_block_reduce("f32", 64, 128, many)
    assert not rk.last_block_reduce("f32", 64, 256, replace(many, cache=16))  # 128 KB: two launches


def test_weight_shift_is_compiled_only_where_rows_can_start_off_16_bytes():
    """rows.w_shift: LayerNorm kernels of 16-bit rows, and fp32 backward rows, that are not a whole number of
    16-byte chunks (or an array that starts off 16 bytes) get W_SHIFT; aligned rows, fp32 forward, softmax and
    scalar (vec off) launches are compiled as before."""
    for kind in ("ln_fwd", "ln_bwd"):
        for dtype in ("f16", "bf16") if kind == "ln_fwd" else ("f16", "bf16", "f32"):
            assert rk.w_shift(kind, dtype, 4097, 0, True) == {"W_SHIFT": 1}
            assert rk.w_shift(kind, dtype, 4096, 4 if dtype == "f32" else 6, True) == {"W_SHIFT": 1}
            assert rk.w_shift(kind, dtype, 4096, 0, True) == {}
            assert rk.w_shift(kind, dtype, 4097, 0, False) == {}
    assert rk.w_shift("ln_fwd", "f32", 4097, 4, True) == {}
    assert rk.w_shift("softmax", "f16", 4097, 0, True) == {}
