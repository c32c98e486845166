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
