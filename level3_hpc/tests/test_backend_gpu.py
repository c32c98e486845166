"""The backend switch: level 1's cuda tensors train through the level-3 matmul, with the same results."""

from __future__ import annotations

import numpy as np
from level3_gpu import rel_err, skip_without_gpu

skip_without_gpu()
import hyperion.tensor as ht  # noqa: E402
import hyperion.tensor.functional as TF  # noqa: E402
from hyperion.runtime.backend import use_kernels  # noqa: E402


def _mlp_grads(seed: int):
    rng = np.random.default_rng(seed)
    x = ht.tensor(rng.standard_normal((65, 33)).astype(np.float32), device="cuda")
    w1 = ht.tensor(rng.standard_normal((33, 70)).astype(np.float32), device="cuda", requires_grad=True)
    w2 = ht.tensor(rng.standard_normal((70, 5)).astype(np.float32), device="cuda", requires_grad=True)
    loss = ((x @ w1).relu() @ w2).sum()
    loss.backward()
    return loss.item(), w1.grad.numpy(), w2.grad.numpy()


def test_kernels_serve_cuda_matmuls_with_the_same_gradients():
    try:
        use_kernels(False)
        ref = _mlp_grads(0)
        backend = use_kernels()
        got = _mlp_grads(0)
        assert backend.calls["matmul kernel"] >= 4  # two forward products and at least two in backward
    finally:
        use_kernels(False)
    assert abs(got[0] - ref[0]) <= 1e-4 * abs(ref[0])
    assert rel_err(got[1], ref[1]) < 1e-5 and rel_err(got[2], ref[2]) < 1e-5


def _block_grads(seed: int):
    """softmax, LayerNorm (with and without bias) and GELU (tanh) on cuda, forward and backward."""
    rng = np.random.default_rng(seed)
    x = ht.tensor(rng.standard_normal((2, 37, 260)).astype(np.float32), device="cuda", requires_grad=True)
    w = ht.tensor(rng.standard_normal(260).astype(np.float32), device="cuda", requires_grad=True)
    b = ht.tensor(rng.standard_normal(260).astype(np.float32), device="cuda", requires_grad=True)
    h = TF.layer_norm(x, 260, w, b)
    h = TF.gelu(h, approximate="tanh") + TF.layer_norm(x, 260, w)
    loss = (ht.softmax(h * 3.0, -1) * h).sum() + TF.gelu(x).sum()  # erf GELU: level-1 path
    loss.backward()
    return [loss.item(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()]


def test_fused_functions_run_kernels_with_the_same_gradients():
    try:
        use_kernels(False)
        ref = _block_grads(1)
        backend = use_kernels()
        got = _block_grads(1)
    finally:
        use_kernels(False)
    for name in ("softmax kernel", "layer_norm kernel", "gelu kernel", "gelu (level 1)"):
        assert backend.calls[name] >= 1, (name, dict(backend.calls))
    assert abs(got[0] - ref[0]) <= 1e-4 * abs(ref[0])
    for g, r in zip(got[1:], ref[1:]):
        assert rel_err(g, r) < 1e-5


def _layouts(rng):
    """Operand pairs of every layout the planned cuBLAS call reads as they are, and some it must copy."""
    r = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    import cupy

    yield cupy.asarray(r(128, 784)), cupy.asarray(r(256, 784)).T  # x @ W.T (a Linear layer)
    yield cupy.asarray(r(10, 128)).T, cupy.asarray(r(10, 256))  # gᵀ @ h (its weight gradient)
    yield cupy.asarray(r(2, 3, 17, 8)), cupy.asarray(r(2, 3, 9, 8)).swapaxes(-1, -2)  # q @ kᵀ
    yield cupy.asarray(r(4, 5, 6)), cupy.asarray(r(6, 7))  # batch × one matrix: one 20 × 6 product
    yield cupy.asarray(r(2, 3, 5, 6)), cupy.asarray(r(7, 6)).T  # two batch dims × a transposed matrix: one product
    yield cupy.asarray(r(8, 5, 6))[::2], cupy.asarray(r(6, 7))  # every other matrix: a strided batch, not folded
    yield cupy.asarray(r(5, 6)), cupy.asarray(r(3, 6, 7))  # one matrix × batch
    yield cupy.asarray(r(3, 6, 8)).transpose(0, 2, 1)[:, :, :5], cupy.asarray(r(5, 4))  # strided batch: copied
    yield cupy.asarray(r(9, 12))[:, ::2], cupy.asarray(r(6, 3))  # every other column: copied
    yield cupy.asarray(r(0, 4)), cupy.asarray(r(4, 3))  # empty
    yield cupy.asarray(r(3, 0)), cupy.asarray(r(0, 2))  # empty inner dimension: zeros
    yield (cupy.asarray(r(6, 5) + 1j * r(6, 5)).astype(np.complex64),
           cupy.asarray(r(5, 4) - 1j * r(5, 4)).astype(np.complex64))


def test_cublas_matmul_plans_each_layout_once_and_equals_numpy():
    """``use_kernels(matmul_version=None)``: fp32 and complex64 products on the planned cuBLAS call; a second
    call with the same layouts (new data) reuses the plan and gets the new product."""
    backend = use_kernels(True, matmul_version=None)
    try:
        for seed in (0, 1):
            for a, b in _layouts(np.random.default_rng(seed)):
                got = backend.matmul(a, b)
                want = np.matmul(a.get().astype(np.complex128), b.get().astype(np.complex128))
                assert got.shape == want.shape and got.dtype == a.dtype
                np.testing.assert_allclose(got.get(), want if a.dtype.kind == "c" else want.real,
                                           rtol=1e-4, atol=1e-4)
            if seed == 0:
                planned = len(backend._gemm.plans)
        assert len(backend._gemm.plans) == planned  # the second round planned nothing new
        assert backend.calls["matmul (cuBLAS)"] == 24 and backend.calls["matmul (CuPy)"] == 0
        import cupy

        half = cupy.ones((4, 4), np.float16)
        assert backend.matmul(half, half).dtype == np.float16 and backend.calls["matmul (CuPy)"] == 1
    finally:
        use_kernels(False)


def test_cublas_matmul_follows_the_current_stream():
    import cupy

    backend = use_kernels(True, matmul_version=None)
    try:
        a, b = cupy.ones((512, 256), np.float32), cupy.ones((256, 384), np.float32)
        stream = cupy.cuda.Stream(non_blocking=True)
        with stream:
            a2 = a * 2  # made on the side stream: the product must run after it, on the same stream
            c = backend.matmul(a2, b)
        stream.synchronize()
        assert float(c.sum()) == 512 * 384 * 256 * 2
        assert float(backend.matmul(a, b).sum()) == 512 * 384 * 256
    finally:
        use_kernels(False)


def test_cublaslt_plans_equal_the_gemmex_calls():
    """The planned cublasLtMatmul (the default) and the cublasGemmStridedBatchedEx call (``lt=False``) give the
    same products on every layout; fp32 layouts are planned on cuBLASLt (an algorithm found once)."""
    from hyperion.runtime.capturable_gemm import CublasGemm, _LtCall

    lt, ex = CublasGemm(), CublasGemm(lt=False)
    for a, b in _layouts(np.random.default_rng(2)):
        got, ref = lt(a, b), ex(a, b)
        np.testing.assert_allclose(got.get(), ref.get(), rtol=1e-5, atol=1e-5)
    fp32 = [type(call).__name__ for key, call in lt.plans.items() if key[4] == np.float32]
    assert fp32 and set(fp32) == {"_LtCall"}, fp32
    assert not any(type(call) is _LtCall for call in ex.plans.values())
