"""Row kernels by regime (softmax 06, LayerNorm 05 and 14) against PyTorch CPU, fp32 / fp16 / bf16.

Every regime (threads per row from 4 to 1024, blocks of several rows, the re-reading, shared-sum and two-pass
backward), odd row lengths whose rows start off a 16-byte boundary, and arrays that do not start on one.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from level3_gpu import rel_err, skip_without_gpu

skip_without_gpu()
import cupy  # noqa: E402

from hyperion.kernels import rows as rk  # noqa: E402

TORCH = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
TOL = {"f32": 2e-6, "f16": 2e-3, "bf16": 1.5e-2}  # a few roundings of the output type
SHAPES = [(1, 1), (3, 7), (37, 100), (9, 1000), (5, 4097), (2, 16384)]


def _to_gpu(t: torch.Tensor, dtype: str):
    t = t.detach()
    if dtype == "bf16":
        return cupy.asarray(t.view(torch.int16).numpy()).view(cupy.uint16)
    return cupy.asarray(t.numpy())


def _to_torch(a, dtype: str) -> torch.Tensor:
    if dtype == "bf16":
        return torch.from_numpy(a.get().view(np.int16)).view(torch.bfloat16).float()
    return torch.from_numpy(a.get()).float()


def _data(shape, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(*shape, generator=g) * 3 + 1).to(TORCH[dtype])
    dy = torch.randn(*shape, generator=g).to(TORCH[dtype])
    w, b = torch.randn(shape[1], generator=g), torch.randn(shape[1], generator=g)
    return x, dy, w, b


def _configs(kind, dtype, C):
    """A few of the sweep's candidates (first, last, the first of each variant) and the default; for the forward
    kernels also the default and the first with groups taking 2 and 3 rows each (``iters``)."""
    c = rk.candidates(kind, dtype, C)
    firsts = {(k.reload, k.smem_acc, k.two_pass, k.raw, k.min_blocks > 0, k.stream): k for k in reversed(c)}.values()
    default = rk.default_config(kind, dtype, C)
    several = [replace(default, iters=2), replace(c[0], iters=3)] if kind != "ln_bwd" else []
    return sorted({c[0], c[-1], *firsts, default, *several}, key=str)


def _cases():
    for kind in ("softmax", "ln_fwd", "ln_bwd"):
        for dtype in ("f32", "f16", "bf16"):
            for shape in SHAPES if kind == "softmax" else SHAPES[1:]:  # C = 1: dx is 0 up to rounding
                for config in _configs(kind, dtype, shape[1]):
                    yield kind, dtype, shape, config


CASES = list(_cases())


@pytest.fixture(scope="module", autouse=True)
def _compiled_in_parallel():
    """Every configuration the tests launch, compiled in parallel processes first (NVRTC's disk cache)."""
    from hyperion.kernels.suite import precompile

    jobs = {("rows", (kind, dtype, config)) for kind, dtype, _, config in CASES}
    failed = [r for r in precompile(sections=(), extra=tuple(sorted(jobs, key=str))) if not r.startswith("ok")]
    assert not failed, failed


@pytest.mark.parametrize("kind,dtype,shape,config", CASES)
def test_row_kernel_matches_torch(kind, dtype, shape, config):
    x, dy, w, b = _data(shape, dtype)
    xf, dyf = x.float().clone().requires_grad_(), dy.float()
    gx, gdy = _to_gpu(x, dtype), _to_gpu(dy, dtype)
    gw, gb = cupy.asarray(w.numpy()), cupy.asarray(b.numpy())
    if kind == "softmax":
        got = rk.rows_softmax(gx, dtype, config=config)
        assert rel_err(_to_torch(got, dtype), torch.softmax(xf.detach().double(), -1)) < TOL[dtype]
        return
    y, mean, rstd = rk.rows_layernorm(gx, gw, gb, dtype=dtype, config=config if kind == "ln_fwd" else None)
    wr, br = w.clone().requires_grad_(), b.clone().requires_grad_()
    ref = torch.nn.functional.layer_norm(xf, (shape[1],), wr, br, 1e-5)
    if kind == "ln_fwd":
        assert rel_err(_to_torch(y, dtype), ref.detach()) < TOL[dtype]
        ref_mean = xf.detach().double().mean(1)
        assert rel_err(mean.get(), ref_mean) < 1e-5
        return
    ref.backward(dyf)
    dx, dw, db = rk.rows_layernorm_backward(gdy, gx, gw, mean, rstd, dtype, config=config)
    assert rel_err(_to_torch(dx, dtype), xf.grad) < 4 * TOL[dtype]
    assert rel_err(dw.get(), wr.grad) < 1e-5
    assert rel_err(db.get(), br.grad) < 1e-5


@pytest.mark.parametrize("dtype", ["f32", "f16"])
@pytest.mark.parametrize("offset", [1, 3])
def test_arrays_that_start_off_a_16_byte_boundary(dtype, offset):
    """Views whose first row is misaligned (and, for odd C, every row differently) keep the vector path."""
    x, dy, w, b = _data((33, 1001), dtype, seed=offset)
    flat_x = _to_gpu(torch.cat([torch.zeros(offset, dtype=x.dtype), x.flatten()]), dtype)
    flat_dy = _to_gpu(torch.cat([torch.zeros(offset, dtype=x.dtype), dy.flatten()]), dtype)
    gx, gdy = flat_x[offset:].reshape(33, 1001), flat_dy[offset:].reshape(33, 1001)
    assert gx.data.ptr % 16 != 0
    y = rk.rows_softmax(gx, dtype)
    assert rel_err(_to_torch(y, dtype), torch.softmax(x.double(), -1)) < TOL[dtype]
    gw, gb = cupy.asarray(w.numpy()), cupy.asarray(b.numpy())
    yl, mean, rstd = rk.rows_layernorm(gx, gw, gb, dtype=dtype)
    xf = x.float().clone().requires_grad_()
    ref = torch.nn.functional.layer_norm(xf, (1001,), w, b)
    assert rel_err(_to_torch(yl, dtype), ref.detach()) < TOL[dtype]
    ref.backward(dy.float())
    dx, _, _ = rk.rows_layernorm_backward(gdy, gx, gw, mean, rstd, dtype)
    assert rel_err(_to_torch(dx, dtype), xf.grad) < 4 * TOL[dtype]


def test_softmax_rows_of_minus_inf_and_large_values():
    x = np.array([[-np.inf, 0.0, 1000.0, 999.0, 3.0], [5.0, -np.inf, -np.inf, -np.inf, -np.inf]], np.float32)
    got = rk.rows_softmax(cupy.asarray(x)).get()
    assert rel_err(got, torch.softmax(torch.from_numpy(x).double(), -1)) < 1e-6


def test_table_entry_legacy_runs_the_block_per_row_kernels():
    x = cupy.asarray(np.random.default_rng(0).standard_normal((8, 4096), dtype=np.float32))
    key = ("softmax", "f32", 8, 4096)
    rk.ROW_TABLE[key] = rk.LEGACY
    rk.clear_plans()
    try:
        got = rk.rows_softmax(x).get()
    finally:
        del rk.ROW_TABLE[key]
        rk.clear_plans()
    assert rel_err(got, torch.softmax(torch.from_numpy(x.get()).double(), -1)) < 1e-6


def test_bad_inputs_name_the_problem():
    x = cupy.zeros((4, 8), np.float32)
    with pytest.raises(TypeError, match="dtype"):
        rk.rows_softmax(x, "f16")
    with pytest.raises(ValueError, match="dtype must be one of"):
        rk.rows_softmax(x, "f64")
    with pytest.raises(ValueError, match="weight"):
        rk.rows_layernorm(x, cupy.zeros(7, np.float32), cupy.zeros(8, np.float32))
    with pytest.raises(TypeError, match="cupy.ndarray"):
        rk.rows_softmax(np.zeros((4, 8), np.float32))


ONE_LAUNCH_SHAPES = [(64, 1024), (3, 7), (37, 100), (9, 1001), (5, 1)]  # each within rows.LAST_BLOCK_FLOATS


def _backward_plan(dtype: str, shape: tuple[int, int]) -> rk.RowPlan:
    """The backward plan the last call built for ``shape`` (call after clear_plans and one call)."""
    (plan,) = [p for key, p in rk._PLANS.items() if key[:4] == ("ln_bwd", dtype, *shape)]
    return plan


def _backward(dtype: str, shape: tuple[int, int], seed: int = 0):
    """rows_layernorm_backward's (dx, dw, db) on _data's arrays, the forward's statistics, and the torch grads."""
    x, dy, w, b = _data(shape, dtype, seed)
    gx, gdy, gw = _to_gpu(x, dtype), _to_gpu(dy, dtype), cupy.asarray(w.numpy())
    _, mean, rstd = rk.rows_layernorm(gx, gw, cupy.asarray(b.numpy()), dtype=dtype)
    xf, wr, br = x.float().clone().requires_grad_(), w.clone().requires_grad_(), b.clone().requires_grad_()
    torch.nn.functional.layer_norm(xf, (shape[1],), wr, br, 1e-5).backward(dy.float())
    return (lambda: rk.rows_layernorm_backward(gdy, gx, gw, mean, rstd, dtype)), (xf.grad, wr.grad, br.grad)


def _same_bits(a, b) -> bool:
    return bool((a.view(cupy.uint8) == b.view(cupy.uint8)).all())


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("shape", ONE_LAUNCH_SHAPES)
def test_one_launch_backward_matches_two_launches_and_torch(shape, dtype):
    """The small backward's one launch (its last block adds the partial sums) against the two launches
    (rows.LAST_BLOCK_FLOATS = 0) and PyTorch: dx the same bits, dw and db the same sums in another order."""
    call, (gx_ref, gw_ref, gb_ref) = _backward(dtype, shape)
    rk.clear_plans()
    try:
        dx, dw, db = call()
        assert _backward_plan(dtype, shape).last_block
        saved = rk.LAST_BLOCK_FLOATS
        rk.LAST_BLOCK_FLOATS = 0
        rk.clear_plans()
        try:
            dx2, dw2, db2 = call()
            assert not _backward_plan(dtype, shape).last_block
        finally:
            rk.LAST_BLOCK_FLOATS = saved
    finally:
        rk.clear_plans()
    assert _same_bits(dx, dx2)
    assert rel_err(dw.get(), dw2.get()) < 1e-6 and rel_err(db.get(), db2.get()) < 1e-6
    assert rel_err(_to_torch(dx, dtype), gx_ref) < 4 * TOL[dtype] or shape[1] == 1  # C = 1: dx is 0
    assert rel_err(db.get(), gb_ref) < 1e-5
    assert rel_err(dw.get(), gw_ref) < 1e-5 or shape[1] == 1


def test_one_launch_backward_twice_and_on_two_streams():
    """Calls reuse the stream's workspace: the counter is back at 0 after each, and dw, db come out the same
    bits every time (partial sums in a fixed order); another stream gets a workspace of its own."""
    call, _ = _backward("f32", (64, 1024), seed=1)
    rk.clear_plans()
    first = call()
    plan = _backward_plan("f32", (64, 1024))
    assert plan.last_block and len(plan.workspaces) == 1
    for _ in range(3):
        assert all(_same_bits(a, b) for a, b in zip(first, call()))
    (buffer,) = [work[2] for work in plan.workspaces.values()]  # [counter, pad][partial sums]
    assert int(buffer[:1].view(cupy.uint32).get()[0]) == 0
    cupy.cuda.get_current_stream().synchronize()
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        other = call()
        stream.synchronize()
    assert len(plan.workspaces) == 2
    assert all(_same_bits(a, b) for a, b in zip(first, other))


@pytest.mark.parametrize(("rows", "C", "dtype"), [(256, 768, "f16"), (8, 6144, "f32")])
def test_backward_at_exactly_48_kb_of_dynamic_shared_memory(rows, C, dtype):
    """Shapes whose backward asks for exactly 48 KB of dynamic shared memory: the launch needs the raised
    limit too, because the kernel has static shared memory of its own (256 x 768 fp16 failed to launch with
    CUDA_ERROR_INVALID_VALUE on an H100 before the limit was raised for every size)."""
    config = rk.fit_config(dtype, C, rk.choose("ln_bwd", dtype, rows, C), 0, True)
    assert rk.backward_shared_bytes(dtype, C, config, rk.last_block_reduce(dtype, rows, C, config)) == 48 * 1024
    call, (gx_ref, gw_ref, gb_ref) = _backward(dtype, (rows, C))
    dx, dw, db = call()
    assert rel_err(_to_torch(dx, dtype), gx_ref) < 4 * TOL[dtype]
    assert rel_err(dw.get(), gw_ref) < 1e-5 and rel_err(db.get(), gb_ref) < 1e-5
