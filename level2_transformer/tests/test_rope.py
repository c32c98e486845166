"""RoPE: its defining property (q·k after rotation depends only on the position difference), the
angle tables, agreement with the Hugging Face rotate-half formula in torch, and the gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_gpt import torch_rope

from hyperion.tensor import Tensor
from hyperion.tensor.errors import ShapeError
from hyperion.tensor.testing import gradcheck
from hyperion.transformer.rope import RotaryEmbedding, apply_rope, rope_angles, rope_rotate


def _at(x: np.ndarray, position: int, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """One vector ``x`` (d,) rotated as if it sat at ``position``."""
    return rope_rotate(x[None], cos[position:position + 1], sin[position:position + 1])[0]


@pytest.mark.parametrize("head_dim", [2, 8, 32])
def test_score_depends_only_on_position_difference(head_dim):
    rng = np.random.default_rng(head_dim)
    q, k = rng.standard_normal(head_dim), rng.standard_normal(head_dim)
    cos, sin = rope_angles(head_dim, 64)
    for offset in (0, 1, 5, -3, 17):
        scores = [_at(q, m, cos, sin) @ _at(k, m + offset, cos, sin) for m in range(max(0, -offset), 40)]
        np.testing.assert_allclose(scores, scores[0], rtol=1e-10, atol=1e-10)
    # ... and it does depend on the difference (the test would pass for a no-op otherwise)
    assert abs(_at(q, 0, cos, sin) @ _at(k, 1, cos, sin) - _at(q, 0, cos, sin) @ _at(k, 4, cos, sin)) > 1e-3


def test_rotation_preserves_norms_and_position_zero_is_identity():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 10, 16))
    cos, sin = rope_angles(16, 10)
    out = rope_rotate(x, cos, sin)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(out[..., 0, :], x[..., 0, :], rtol=0, atol=0)
    np.testing.assert_allclose(rope_rotate(out, cos, -sin), x, atol=1e-12)  # the inverse rotation
    assert not np.allclose(out[..., 1:, :], x[..., 1:, :])


def test_angle_table():
    cos, sin = rope_angles(8, 5, base=100.0)
    assert cos.shape == sin.shape == (5, 4) and cos.dtype == np.float64
    theta = 100.0 ** (-np.arange(4) * 2 / 8)
    np.testing.assert_allclose(np.arctan2(sin[3], cos[3]), np.angle(np.exp(1j * 3 * theta)), atol=1e-12)
    with pytest.raises(ValueError, match="even"):
        rope_angles(7, 5)


@pytest.mark.parametrize("start", [0, 6])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_matches_torch_rotate_half(start, dtype, tol):
    rng = np.random.default_rng(start)
    x = rng.standard_normal((2, 4, 9, 16)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    rope = RotaryEmbedding(16, 32)
    xt = Tensor(x, dtype=dtype, requires_grad=True)
    out = rope(xt, start)
    out.backward(Tensor(g, dtype=dtype))
    xr = torch.tensor(x, requires_grad=True)
    ref = torch_rope(xr, start)
    ref.backward(torch.tensor(g))
    assert out.dtype == dtype
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), rtol=tol, atol=tol)


def test_gradient_by_finite_differences():
    cos, sin = rope_angles(4, 6)
    x = np.random.default_rng(2).standard_normal((1, 2, 3, 4))
    assert gradcheck(lambda t: apply_rope(t, cos, sin, start=2), x)


def test_positions_beyond_the_table_are_an_error():
    cos, sin = rope_angles(4, 6)
    with pytest.raises(ShapeError, match="exceed"):
        apply_rope(Tensor(np.zeros((1, 1, 4, 4))), cos, sin, start=3)
