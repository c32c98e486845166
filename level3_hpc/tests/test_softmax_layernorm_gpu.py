"""Softmax and LayerNorm (forward and backward) versions against float64 references / PyTorch CPU."""

from __future__ import annotations

import numpy as np
import pytest
from level3_gpu import rel_err, skip_without_gpu

skip_without_gpu()
import cupy  # noqa: E402

from hyperion.kernels import layernorm as ln  # noqa: E402
from hyperion.kernels import softmax as sm  # noqa: E402

SHAPES = [(1, 1), (3, 7), (33, 100), (17, 1023), (64, 4096), (5, 5000), (2, 20000)]


def _softmax_ref(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("version", sm.VERSIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax(version, shape):
    x = (np.random.default_rng(0).standard_normal(shape) * 4).astype(np.float32)
    y = cupy.full(shape, np.nan, np.float32)
    out = sm.softmax(cupy.asarray(x), version, out=y).get()
    tol = 5e-5 if version == "01_naive" else 1e-5  # 01 sums a row of up to 20000 terms sequentially in fp32
    assert rel_err(out, _softmax_ref(x.astype(np.float64))) < tol


@pytest.mark.parametrize("block", [32, 128, 1024])
def test_softmax_block_sizes(block):
    x = np.random.default_rng(1).standard_normal((9, 3001)).astype(np.float32)
    out = sm.softmax(cupy.asarray(x), "04_register_cached", block).get()
    assert rel_err(out, _softmax_ref(x.astype(np.float64))) < 1e-5


def test_softmax_handles_minus_inf_and_large_values():
    x = np.array([[-np.inf, 0.0, 1000.0, 999.0], [5.0, -np.inf, -np.inf, -np.inf]], np.float32)
    for v in sm.VERSIONS:
        out = sm.softmax(cupy.asarray(x), v).get()
        assert rel_err(out, _softmax_ref(x.astype(np.float64))) < 1e-6, v


def _ln_ref(x, w, b, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    rstd = 1 / np.sqrt(((x - mu) ** 2).mean(axis=1, keepdims=True) + eps)
    return (x - mu) * rstd * w + b, mu[:, 0], rstd[:, 0]


@pytest.mark.parametrize("version", ln.FORWARD_VERSIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_layernorm_forward(version, shape):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)
    w, b = rng.standard_normal(shape[1]).astype(np.float32), rng.standard_normal(shape[1]).astype(np.float32)
    y, mean, rstd = ln.layernorm_forward(cupy.asarray(x), cupy.asarray(w), cupy.asarray(b), version=version)
    ry, rmean, rrstd = _ln_ref(x.astype(np.float64), w, b)
    if shape[1] > 1:  # a row of one element has y = b exactly and rstd = 1/sqrt(eps)
        assert rel_err(y.get(), ry) < 1e-5
    assert rel_err(mean.get(), rmean) < 1e-5  # 01 sums a row sequentially in fp32: ~1e-6 off
    assert rel_err(rstd.get(), rrstd) < 1e-5


@pytest.mark.parametrize("version", ln.BACKWARD_VERSIONS)
@pytest.mark.parametrize("shape", [(3, 7), (33, 100), (17, 1023), (300, 4096), (5, 5000)])
def test_layernorm_backward_against_torch(version, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) + 1).astype(np.float32)
    w, b = rng.standard_normal(shape[1]).astype(np.float32), rng.standard_normal(shape[1]).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    tx, tw, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, w, b))
    torch.nn.functional.layer_norm(tx, (shape[1],), tw, tb, 1e-5).backward(
        torch.tensor(dy, dtype=torch.float64)
    )
    _, mean, rstd = ln.layernorm_forward(cupy.asarray(x), cupy.asarray(w), cupy.asarray(b))
    dx, dw, db = ln.layernorm_backward(
        cupy.asarray(dy), cupy.asarray(x), cupy.asarray(w), mean, rstd, version
    )
    assert rel_err(dx.get(), tx.grad.numpy()) < 1e-4
    assert rel_err(dw.get(), tw.grad.numpy()) < 1e-4
    assert rel_err(db.get(), tb.grad.numpy()) < 1e-5


@pytest.mark.parametrize(
    ("block", "min_blocks"), [(256, None), (512, None), (512, 2), (1024, None), (1024, 1)]
)
@pytest.mark.parametrize("shape", [(300, 4096), (41, 5000), (9, 20000)])
def test_layernorm_backward_13_configs(block, min_blocks, shape):
    """13 at every configuration the benchmark sweeps, and at a row wide enough for > 48 KiB of partials."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(shape) + 1).astype(np.float32)
    w = rng.standard_normal(shape[1]).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    _, mean, rstd = ln.layernorm_forward(cupy.asarray(x), cupy.asarray(w), cupy.asarray(w))
    if shape[1] > 4 * block * ln.MAX_CACHE_VEC:  # the row does not fit the registers: refused, clearly
        with pytest.raises(ValueError, match="exceed the register cache at block"):
            ln.layernorm_backward(cupy.asarray(dy), cupy.asarray(x), cupy.asarray(w), mean, rstd, block=block)
        return
    dx, dw, db = ln.layernorm_backward(
        cupy.asarray(dy),
        cupy.asarray(x),
        cupy.asarray(w),
        mean,
        rstd,
        "13_bwd_smem_partials",
        block=block,
        min_blocks=min_blocks,
    )
    ref = ln.layernorm_backward(
        cupy.asarray(dy), cupy.asarray(x), cupy.asarray(w), mean, rstd, "11_bwd_naive"
    )
    for got, want in zip((dx, dw, db), ref):
        assert rel_err(got.get(), want.get().astype(np.float64)) < 1e-5


def test_layernorm_shape_errors():
    x = cupy.ones((4, 8), np.float32)
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        ln.layernorm_forward(x, cupy.ones(7, np.float32), cupy.ones(8, np.float32))


# ---- 16-bit versions: softmax 05_half, LayerNorm 04_half_fwd --------------------------------------
# Inputs are rounded to the 16-bit type first and the float64 reference sees the same rounded values, so
# the only error left is the kernel's fp32 arithmetic (~1e-6) and one rounding of each output to 16 bits:
# at most the unit roundoff u = 2^-8 for bf16 (7 stored mantissa bits), 2^-11 for fp16. The norm-wise
# tolerance 1e-2 sits above bf16's 2^-8 = 3.9e-3; the element-wise check is the sharp one: every element
# within one rounding (u |ref|, plus fp16's subnormal spacing for tiny probabilities) of the reference.
from hyperion.kernels.matmul import from_bf16_bits, to_bf16_bits  # noqa: E402

HALF_SHAPES = [(1, 1), (3, 7), (4, 8), (33, 1003), (16, 4096), (5, 4097), (5, 5000), (2, 20000)]
UNIT_ROUNDOFF = {"f16": 2.0**-11, "bf16": 2.0**-8}
F16_SUBNORMAL_HALF_SPACING = 2.0**-25


def _to_half(x32: np.ndarray, dtype: str):
    """(device array of the 16-bit type, the same values as float64 on the host)."""
    if dtype == "f16":
        h = x32.astype(np.float16)
        return cupy.asarray(h), h.astype(np.float64)
    bits = to_bf16_bits(cupy.asarray(x32))
    return bits, from_bf16_bits(bits).get().astype(np.float64)


def _from_half(y, dtype: str) -> np.ndarray:
    return (y.astype(np.float32) if dtype == "f16" else from_bf16_bits(y)).get().astype(np.float64)


def _nan_like(x, dtype: str):
    return cupy.full(x.shape, np.nan, np.float16) if dtype == "f16" else cupy.full(x.shape, 0x7FC0, np.uint16)


def _assert_one_rounding(out, ref, dtype: str, floor=0.0):
    assert rel_err(out, ref) < 1e-2
    bound = (UNIT_ROUNDOFF[dtype] + 3e-5) * np.abs(ref) + floor
    if dtype == "f16":
        bound = bound + F16_SUBNORMAL_HALF_SPACING
    worst = np.max(np.abs(out - ref) - bound)
    assert worst <= 0, f"an element is off by more than one {dtype} rounding (excess {worst:.3g})"


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("shape", HALF_SHAPES)
def test_softmax_half(dtype, shape):
    x, x64 = _to_half((np.random.default_rng(5).standard_normal(shape) * 4).astype(np.float32), dtype)
    out = sm.softmax_half(x, dtype, out=_nan_like(x, dtype))
    _assert_one_rounding(_from_half(out, dtype), _softmax_ref(x64), dtype)


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize(
    ("block", "shape"), [(32, (9, 3001)), (128, (9, 3001)), (1024, (9, 3001)), (32, (3, 9001))]
)
def test_softmax_half_block_sizes(dtype, block, shape):
    """(3, 9001) at 32 threads is longer than the register cache: its tail streams from memory."""
    x, x64 = _to_half(np.random.default_rng(6).standard_normal(shape).astype(np.float32), dtype)
    out = sm.softmax_half(x, dtype, block=block, out=_nan_like(x, dtype))
    _assert_one_rounding(_from_half(out, dtype), _softmax_ref(x64), dtype)


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_softmax_half_output_aligned_unlike_input(dtype):
    """y one element past a 16-byte boundary, x on one: the kernel must fall back to scalar accesses."""
    x, x64 = _to_half(np.random.default_rng(7).standard_normal((6, 1000)).astype(np.float32), dtype)
    y = _nan_like(cupy.empty(x.size + 1), dtype)[1:].reshape(x.shape)
    sm.softmax_half(x, dtype, out=y)
    _assert_one_rounding(_from_half(y, dtype), _softmax_ref(x64), dtype)


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_softmax_half_handles_minus_inf_and_large_values(dtype):
    x32 = np.array([[-np.inf, 0.0, 1000.0, 999.0], [5.0, -np.inf, -np.inf, -np.inf]], np.float32)
    x, x64 = _to_half(x32, dtype)
    _assert_one_rounding(_from_half(sm.softmax_half(x, dtype), dtype), _softmax_ref(x64), dtype)


def test_softmax_half_errors():
    with pytest.raises(ValueError, match="dtype must be 'f16' or 'bf16'"):
        sm.softmax_half(cupy.ones((2, 3), np.float16), "fp8")
    with pytest.raises(TypeError, match="x must have dtype uint16"):
        sm.softmax_half(cupy.ones((2, 3), np.float32), "bf16")
    with pytest.raises(ValueError, match="out must be a cupy array of shape"):
        sm.softmax_half(cupy.ones((2, 3), np.float16), "f16", out=cupy.ones((2, 4), np.float16))


def _ln_floor(ry, w, b, mean, rstd):
    """Absolute fp32 error of y = (x - mean) * rstd * w + b before its rounding: a few fp32 ulps of each
    term, and of mean carried through rstd * w (what matters where y is near 0)."""
    return 1e-5 * (np.abs(ry - b) + np.abs(b) + np.abs(w) * (rstd * np.abs(mean))[:, None])


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize("shape", HALF_SHAPES)
def test_layernorm_half(dtype, shape):
    rng = np.random.default_rng(8)
    x, x64 = _to_half((rng.standard_normal(shape) * 2 + 3).astype(np.float32), dtype)
    w, b = rng.standard_normal(shape[1]).astype(np.float32), rng.standard_normal(shape[1]).astype(np.float32)
    y, mean, rstd = ln.layernorm_half(
        x, cupy.asarray(w), cupy.asarray(b), 1e-5, dtype, out=_nan_like(x, dtype)
    )
    ry, rmean, rrstd = _ln_ref(x64, w, b)
    _assert_one_rounding(_from_half(y, dtype), ry, dtype, _ln_floor(ry, w, b, rmean, rrstd))
    assert rel_err(mean.get(), rmean) < 1e-5
    assert rel_err(rstd.get(), rrstd) < 1e-5


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
@pytest.mark.parametrize(("block", "shape"), [(32, (9, 1001)), (1024, (9, 3001)), (None, (3, 40001))])
def test_layernorm_half_block_sizes(dtype, block, shape):
    """(3, 40001) needs more than 256 threads to hold a row: the launcher picks a larger block."""
    rng = np.random.default_rng(9)
    x, x64 = _to_half(rng.standard_normal(shape).astype(np.float32), dtype)
    w, b = rng.standard_normal(shape[1]).astype(np.float32), rng.standard_normal(shape[1]).astype(np.float32)
    y, mean, rstd = ln.layernorm_half(
        x, cupy.asarray(w), cupy.asarray(b), 1e-5, dtype, block, _nan_like(x, dtype)
    )
    ry, rmean, rrstd = _ln_ref(x64, w, b)
    _assert_one_rounding(_from_half(y, dtype), ry, dtype, _ln_floor(ry, w, b, rmean, rrstd))
    assert rel_err(rstd.get(), rrstd) < 1e-5


def test_layernorm_half_errors():
    x = cupy.ones((4, 8), np.float16)
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        ln.layernorm_half(x, cupy.ones(7, np.float32), cupy.ones(8, np.float32), 1e-5, "f16")
    with pytest.raises(TypeError, match="weight must have dtype float32"):
        ln.layernorm_half(x, cupy.ones(8, np.float16), cupy.ones(8, np.float32), 1e-5, "f16")
    with pytest.raises(ValueError, match="do not fit the register cache at block 32"):
        ln.layernorm_half(
            cupy.ones((2, 5000), np.float16),
            cupy.ones(5000, np.float32),
            cupy.ones(5000, np.float32),
            1e-5,
            "f16",
            block=32,
        )


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_half_rows_all_off_a_boundary(dtype):
    """x and y both 3 elements past a 16-byte boundary, rows of 2048 (8 per thread at 256 threads): every
    row then spans 257 chunks of 8, one more than an aligned row -- the launchers must size the cache for it."""
    rows, C = 4, 2048
    x32 = np.random.default_rng(10).standard_normal((rows, C)).astype(np.float32)
    x_aligned, x64 = _to_half(x32, dtype)

    def offset(a):
        buf = cupy.empty(a.size + 3, a.dtype)
        view = buf[3:].reshape(a.shape)
        view[...] = a
        return view

    x = offset(x_aligned)
    y = offset(_nan_like(x_aligned, dtype))
    sm.softmax_half(x, dtype, out=y)
    _assert_one_rounding(_from_half(y, dtype), _softmax_ref(x64), dtype)
    w, b = np.ones(C, np.float32), np.zeros(C, np.float32)
    y = offset(_nan_like(x_aligned, dtype))
    _, mean, rstd = ln.layernorm_half(x, cupy.asarray(w), cupy.asarray(b), 1e-5, dtype, out=y)
    ry, rmean, rrstd = _ln_ref(x64, w, b)
    _assert_one_rounding(_from_half(y, dtype), ry, dtype, _ln_floor(ry, w, b, rmean, rrstd))
