"""FlashAttention on the CPU: every variant against naive attention, naive against PyTorch, forward and backward.

Shapes are chosen so that N_q, N_k and d are not multiples of the block size (64; the numpy tiles
use 16 to get many tiles), N_q != N_k, with causal and padding masks and fully masked rows.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hyperion.tensor as ht
from hyperion.tensor.testing import gradcheck
from hyperion.transformer.flash import flash_attention, numba_cpu, tiled_numpy
from hyperion.transformer.flash.naive import naive_attention_backward, naive_attention_forward

RTOL = ATOL = 1e-5
MASKS = [(False, False), (True, False), (False, True), (True, True)]  # (causal, padding)


def _inputs(b=2, h=3, n_q=70, n_k=45, d=20, dtype=np.float32, seed=0, all_padded_batch=True):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((b, h, n_q, d)).astype(dtype)
    k, v = (rng.standard_normal((b, h, n_k, d)).astype(dtype) for _ in range(2))
    do = rng.standard_normal((b, h, n_q, d)).astype(dtype)
    pad = rng.random((b, n_k)) < 0.3
    if all_padded_batch:
        pad[-1] = True  # the last batch element sees no key at all: fully masked rows
    return q, k, v, do, pad


def _close(got, want, name, rtol=RTOL, atol=ATOL):
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype}, expected {want.dtype}"
    assert not np.isnan(got).any(), f"{name}: NaN"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)


def _reference(q, k, v, do, causal, pad):
    """Naive attention in float64, cast to the inputs' dtype."""
    q64, k64, v64, do64 = (x.astype(np.float64) for x in (q, k, v, do))
    out, lse = naive_attention_forward(q64, k64, v64, causal=causal, key_padding_mask=pad)
    grads = naive_attention_backward(q64, k64, v64, do64, causal=causal, key_padding_mask=pad)
    return out.astype(q.dtype), lse, tuple(g.astype(q.dtype) for g in grads)


@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_naive_matches_torch_sdpa(causal, padding):
    q, k, v, do, pad = _inputs(dtype=np.float64, all_padded_batch=False)
    mask = pad if padding else None
    out, _ = naive_attention_forward(q, k, v, causal=causal, key_padding_mask=mask)
    grads = naive_attention_backward(q, k, v, do, causal=causal, key_padding_mask=mask)
    tq, tk, tv = (torch.tensor(x, requires_grad=True) for x in (q, k, v))
    attn_mask = None
    if padding or causal:
        allowed = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool)
        if causal:
            allowed = torch.tril(allowed)
        allowed = allowed[None, None] & (~torch.tensor(pad)[:, None, None, :] if padding else True)
        attn_mask = allowed
    want = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=attn_mask)
    want.backward(torch.tensor(do))
    _close(out, want.detach().numpy(), "naive forward vs torch", 1e-10, 1e-10)
    for g, t, name in zip(grads, (tq, tk, tv), "qkv"):
        _close(g, t.grad.numpy(), f"naive d{name} vs torch", 1e-10, 1e-10)


def test_naive_fully_masked_rows_are_zero():
    q, k, v, do, pad = _inputs()
    out, lse = naive_attention_forward(q, k, v, key_padding_mask=pad)
    grads = naive_attention_backward(q, k, v, do, key_padding_mask=pad)
    assert np.all(out[-1] == 0) and np.all(np.isneginf(lse[-1])) and np.isfinite(lse[0]).all()
    for g in grads:
        assert not np.isnan(g).any()
    assert np.all(grads[0][-1] == 0) and np.all(grads[1][-1] == 0) and np.all(grads[2][-1] == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_tiled_numpy_matches_naive(causal, padding, dtype):
    q, k, v, do, pad = _inputs(dtype=dtype)
    mask = pad if padding else None
    want_out, want_lse, want_grads = _reference(q, k, v, do, causal, mask)
    out, lse = tiled_numpy.flash_forward_numpy(q, k, v, causal=causal, key_padding_mask=mask, block_q=16, block_k=16)
    _close(out, want_out, "tiled numpy forward")
    np.testing.assert_allclose(lse, want_lse.astype(dtype), rtol=RTOL, atol=ATOL)
    grads = tiled_numpy.flash_backward_numpy(
        q, k, v, out, lse, do, causal=causal, key_padding_mask=mask, block_q=16, block_k=16
    )
    for g, w, name in zip(grads, want_grads, "qkv"):
        _close(g, w, f"tiled numpy d{name}")


@pytest.mark.parametrize("blocks", [(64, 32), (numba_cpu.BLOCK_Q, numba_cpu.BLOCK_K)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_numba_matches_naive(causal, padding, dtype, blocks):
    q, k, v, do, pad = _inputs(n_q=130, n_k=77, d=24, dtype=dtype)  # 3 x 3 tiles of (64, 32); 1 of 256
    mask = pad if padding else None
    bq, bk = blocks
    want_out, want_lse, want_grads = _reference(q, k, v, do, causal, mask)
    out, lse = numba_cpu.flash_forward(q, k, v, causal=causal, key_padding_mask=mask, block_q=bq, block_k=bk)
    _close(out, want_out, "numba forward")
    np.testing.assert_allclose(lse, want_lse.astype(dtype), rtol=RTOL, atol=ATOL)
    grads = numba_cpu.flash_backward(
        q, k, v, out, lse, do, causal=causal, key_padding_mask=mask, block_q=bq, block_k=bk
    )
    for g, w, name in zip(grads, want_grads, "qkv"):
        _close(g, w, f"numba d{name}")


def test_numba_square_causal_many_blocks():
    """N_q = N_k = 200 (4 x 7 tiles, the last partial): the causal tile skipping on a square matrix."""
    q, k, v, do, _ = _inputs(b=1, h=2, n_q=200, n_k=200, d=64)
    want_out, _, want_grads = _reference(q, k, v, do, True, None)
    out, lse = numba_cpu.flash_forward(q, k, v, causal=True, block_q=64, block_k=32)
    _close(out, want_out, "numba causal forward")
    grads = numba_cpu.flash_backward(q, k, v, out, lse, do, causal=True, block_q=64, block_k=32)
    for g, w, name in zip(grads, want_grads, "qkv"):
        _close(g, w, f"numba causal d{name}")


def test_numba_float16_computes_in_float32():
    q, k, v, do, _ = _inputs(dtype=np.float16, all_padded_batch=False)
    out, _ = numba_cpu.flash_forward(q, k, v)
    want, _ = naive_attention_forward(*(x.astype(np.float64) for x in (q, k, v)))
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float64), want, rtol=1e-2, atol=1e-2)


def test_numba_exp_and_row_max_match_numpy():
    """The kernels' own float32 exponential and row maximum, against float64 numpy: the kernels' arguments are
    scores minus their row's maximum (≤ 0), the exponential's range reaches 80; below -87 (and -inf) it is 0."""
    rng = np.random.default_rng(3)
    edges = [-np.inf, 0.0, -86.9, -87.2, -100.0, 80.0]
    row = np.concatenate([rng.uniform(-100, 80, 4090), edges]).astype(np.float32)
    for scale, shift in ((1.0, 0.0), (0.5, -3.0)):
        arg = row * np.float32(scale) - np.float32(shift)  # the argument as the kernel forms it, in float32
        got = row.copy()
        total = numba_cpu.exp_shifted_row(got, np.float32(scale), np.float32(shift))
        tiny = arg < -87.0
        assert (got[tiny] == 0).all()
        np.testing.assert_allclose(got[~tiny], np.exp(arg[~tiny].astype(np.float64)), rtol=4e-7, atol=0)
        np.testing.assert_allclose(total, got.astype(np.float64).sum(), rtol=1e-5)
    for values in (row, -np.abs(row), np.full(7, -np.inf, np.float32), np.float32([-0.0, 0.0, -1e-30])):
        assert numba_cpu.row_max_f32(values.astype(np.float32)) == values.max()


def test_flash_attention_function_matches_naive_gradients():
    q, k, v, do, pad = _inputs(n_q=66, n_k=66, d=8)
    tq, tk, tv = (ht.tensor(x, dtype=ht.float32, requires_grad=True) for x in (q, k, v))
    out = flash_attention(tq, tk, tv, causal=True, key_padding_mask=pad)
    out.backward(ht.tensor(do))
    want_out, _, want_grads = _reference(q, k, v, do, True, pad)
    _close(out.detach().numpy(), want_out, "flash_attention forward")
    for t, w, name in zip((tq, tk, tv), want_grads, "qkv"):
        _close(t.grad.numpy(), w, f"flash_attention d{name}")


@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_flash_attention_gradcheck(causal, padding):
    """Finite differences (float64) on a tiny case, through the Function and the autograd engine."""
    q, k, v, _, pad = _inputs(b=2, h=1, n_q=5, n_k=4, d=3, dtype=np.float64, all_padded_batch=False)
    pad[:, 0] = False  # keep every row with at least one key: the masked-row gradient is 0 by definition
    mask = pad if padding else None
    assert gradcheck(lambda a, b, c: flash_attention(a, b, c, causal=causal, key_padding_mask=mask), q, k, v)


def test_flash_attention_bad_input_is_named():
    q = ht.tensor(np.zeros((1, 2, 5, 4), np.float32))
    k = ht.tensor(np.zeros((1, 2, 6, 3), np.float32))
    with pytest.raises(ValueError, match="must agree in B, H and d"):
        flash_attention(q, k, k)
    with pytest.raises(ValueError, match="key_padding_mask must be a bool"):
        flash_attention(q, q, q, key_padding_mask=np.zeros((1, 4), bool))
    with pytest.raises(ValueError, match=r"must be \(B, H, N, d\)"):
        numba_cpu.flash_forward(np.zeros((2, 5, 4), np.float32), np.zeros((2, 5, 4), np.float32),
                                np.zeros((2, 5, 4), np.float32))


def test_numba_memory_is_linear_in_n():
    """Peak traced memory of the numba forward grows ~linearly (x2 per doubling), naive's ~quadratically. The
    numba kernel also holds a fixed scratch per thread (score tiles), so its growth, not its peak, is compared with
    naive's: on a 16-core machine that scratch alone was most of its peak at N = 512 (4.9 MB against naive's 6.3).
    Both run once first: a first numba call traces its compilation too (26 MB at N = 256)."""
    import tracemalloc

    q, k, v, _, _ = _inputs(b=1, h=2, n_q=64, n_k=64, d=32)
    numba_cpu.flash_forward(q, k, v)
    naive_attention_forward(q, k, v)
    peaks = {}
    for n in (256, 512):
        q, k, v, _, _ = _inputs(b=1, h=2, n_q=n, n_k=n, d=32)
        for name, fn in (("numba", numba_cpu.flash_forward), ("naive", naive_attention_forward)):
            tracemalloc.start()
            fn(q, k, v)
            peaks[name, n] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert peaks["numba", 512] / peaks["numba", 256] < 2.5
    assert peaks["naive", 512] / peaks["naive", 256] > 3.0
    assert peaks["numba", 512] - peaks["numba", 256] < (peaks["naive", 512] - peaks["naive", 256]) / 4


def test_blas_is_single_threaded_inside_the_kernels_and_restored_after():
    import numpy as np

    from hyperion.transformer.flash.blas_threads import _openblas_controls, blas_single_threaded

    np.dot(np.ones((2, 2)), np.ones((2, 2)))  # numpy's own OpenBLAS is mapped by now
    controls = _openblas_controls()  # loads scipy's (numba's np.dot calls it)
    with open("/proc/self/maps") as maps:
        mapped = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    if not controls:
        pytest.skip("no OpenBLAS with a thread-count API is loaded in this process")
    assert len(controls) == len(mapped), f"not every OpenBLAS is controlled: {sorted(mapped)}"  # numpy's was missed
    for _, put in controls:
        put(2)
    with blas_single_threaded():
        assert [get() for get, _ in controls] == [1] * len(controls)
    assert [get() for get, _ in controls] == [2] * len(controls)


def test_default_process_prints_no_nested_openmp_warnings():
    """A fresh process with no thread setup: numba's prange must not call a threaded OpenBLAS (issue 14).

    torch is imported first, as in the benchmark: its libgomp lets OpenBLAS detect the OpenMP region
    (without it the nesting is silent: 2 x 2 threads on 2 cores). Before the fix this printed 252 warnings.
    """
    import subprocess
    import sys

    code = ("import torch; import numpy as np; "
            "from hyperion.transformer.flash.numba_cpu import flash_forward, flash_backward; "
            "x = np.random.default_rng(0).standard_normal((1, 4, 300, 32)).astype(np.float32); "
            "o, l = flash_forward(x, x, x); flash_backward(x, x, x, o, l, x)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "OpenBLAS Warning" not in done.stderr, done.stderr[:500]


def test_bench_times_each_variant_in_a_run_of_its_own_calls():
    """The CPU benchmark's order: a variant's timed calls come after its own untimed ones (never right after
    another variant: naive's spinning BLAS threads slowed whichever came next), in three rotated passes."""
    from hyperion.transformer.flash.bench import _in_passes

    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("naive", "numba", "torch")}
    best = _in_passes(fns, 5, settle_s=0.0, budget_s=0.0)
    assert set(best) == {"naive", "numba", "torch"} and all(t >= 0 for t in best.values())
    runs = [calls[0]]  # the order of the runs of equal names
    for name in calls[1:]:
        if name != runs[-1]:
            runs.append(name)
    assert runs == ["naive", "numba", "torch", "numba", "torch", "naive", "torch", "naive", "numba"]
    assert len(calls) == 3 * 3 * (1 + 2)  # per pass and function: one untimed call, ceil(5 / 3) timed
    calls.clear()
    _in_passes(fns, 1, settle_s=0.0, budget_s=1.0)  # instant calls: timed until the budget, at most 10 a pass
    assert len(calls) == 3 * 3 * (1 + 10)
