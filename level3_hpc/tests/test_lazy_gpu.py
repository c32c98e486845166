"""Lazy mode on the GPU: generated CUDA C through CuPy, against eager CuPy (skips without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

import hyperion.tensor as ht
import hyperion.tensor.functional as F
from hyperion.runtime.lazy import lazy
from hyperion.tensor.backend import cuda_is_available

pytestmark = pytest.mark.skipif(not cuda_is_available(), reason="needs a CUDA GPU with CuPy")
RNG = np.random.default_rng(0)


def g(*shape: int) -> ht.Tensor:
    return ht.tensor(RNG.standard_normal(shape).astype(np.float32), device="cuda")


def test_chain_softmax_layernorm_on_cuda_match_eager() -> None:
    a, b, c = g(256, 300), g(256, 300), g(256, 300)
    w, bias = g(300), g(300)
    eager = [(a * b + c).relu().sum().item(), F.softmax(a * 3, -1).numpy(),
             F.layer_norm(a, (300,), w, bias).numpy(), (a.T * 2 + b.T).sum(0).numpy()]
    with lazy("cuda") as run:
        got = [(a * b + c).relu().sum().item(), F.softmax(a * 3, -1).numpy(),
               F.layer_norm(a, (300,), w, bias).numpy(), (a.T * 2 + b.T).sum(0).numpy()]
    assert run.kernels == run.fused == 4, run
    assert got[0] == pytest.approx(eager[0], rel=1e-5)
    for x, y in zip(got[1:], eager[1:]):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)
    with lazy("cuda") as again:
        (a * b + c).relu().sum().item()
    assert again.compiles == 0
