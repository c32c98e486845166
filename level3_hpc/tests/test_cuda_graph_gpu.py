"""A training step captured as a CUDA graph: replays give eager's loss and gradients (skips without a GPU)."""

from __future__ import annotations

import numpy as np
from level3_gpu import skip_without_gpu

skip_without_gpu()
import cupy  # noqa: E402

import hyperion.tensor as ht  # noqa: E402
from hyperion.runtime.backend import use_kernels  # noqa: E402
from hyperion.runtime.cuda_graph import CudaGraphStep  # noqa: E402
from hyperion.transformer.gpt import GPT, GPTConfig  # noqa: E402


def _small_gpt_step():
    config = dict(vocab_size=50, context_length=32, n_layer=2, n_head=2, n_embd=64)
    rng = np.random.default_rng(0)
    ht.manual_seed(0)
    model = GPT(GPTConfig(**config), device="cuda")
    x = ht.tensor(rng.integers(0, 50, (4, 32)), device="cuda")
    y = ht.tensor(rng.integers(0, 50, (4, 32)), device="cuda")

    def step():
        model.zero_grad()
        _, loss = model(x, y)
        loss.backward()
        return loss

    return model, step, x


def test_replays_give_the_eager_loss_and_gradients_and_follow_new_inputs():
    use_kernels(True, matmul_version=None)
    try:
        model, step, x = _small_gpt_step()
        eager_loss = float(step().item())  # the causal masks and positions come from the host: staged
        eager_grads = [p.grad.numpy() for p in model.parameters()]
        graphed = CudaGraphStep(step)
        replays = [float(graphed().item()) for _ in range(3)]
        for p, want in zip(model.parameters(), eager_grads):
            np.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-4, atol=1e-6)  # other GEMM kernels, atomics
        with graphed.same_kernels():
            same = float(step().item())
        assert replays == [same] * 3  # bitwise: the graph runs what an eager step on its GEMMs runs
        np.testing.assert_allclose(same, eager_loss, rtol=1e-6)  # and CuPy's GEMMs agree closely
        new = np.random.default_rng(1).integers(0, 50, x.shape)
        x._array()[...] = cupy.asarray(new)  # a new batch copied into the captured input
        replayed = float(graphed().item())
        with graphed.same_kernels():
            assert replayed != same and replayed == float(step().item())
        assert graphed.memory_stats()["reserved_bytes.all.current"] > 0 and graphed.gemm.calls > 0
    finally:
        use_kernels(False)
