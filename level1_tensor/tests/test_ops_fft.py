"""hyperion.tensor.fft (rfft, irfft, rfft2, irfft2) against torch.fft and against finite differences.

Complex values are real pairs in a trailing axis of size 2, so the PyTorch side is compared through
``torch.view_as_real`` / ``torch.view_as_complex``. Each case runs forward in both frameworks,
backpropagates the same upstream gradient and compares the outputs and the input gradients; odd and
even lengths, cropping and zero-padding (``n``/``s``), every ``norm`` and a non-last ``dim`` are covered.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hyperion.tensor as ht
from hyperion.tensor import fft
from hyperion.tensor.testing import gradcheck

NORMS = (None, "backward", "forward", "ortho")
rng = np.random.default_rng(0)


def _torch_complex(x: torch.Tensor) -> torch.Tensor:
    return torch.view_as_complex(x.contiguous())


def _compare(ours, theirs, data: np.ndarray, tol: float) -> None:
    """Forward and backward of ``ours`` (Hyperion, pairs) and ``theirs`` (torch, same layout)."""
    x = ht.tensor(data, dtype=data.dtype, requires_grad=True)
    xt = torch.tensor(data, requires_grad=True)
    out, out_t = ours(x), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=tol, atol=tol)
    upstream = rng.standard_normal(out_t.shape).astype(data.dtype)
    (out * ht.tensor(upstream, dtype=data.dtype)).sum().backward()
    (out_t * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("length,n", [(8, None), (7, None), (8, 5), (7, 12), (6, 7), (1, None)])
def test_rfft_matches_torch(length, n, norm):
    data = rng.standard_normal((3, length))
    _compare(lambda x: fft.rfft(x, n=n, norm=norm),
             lambda x: torch.view_as_real(torch.fft.rfft(x, n=n, norm=norm)), data, 1e-10)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("bins,n", [(5, None), (5, 8), (5, 9), (5, 3), (4, 12), (2, 1)])
def test_irfft_matches_torch(bins, n, norm):
    data = rng.standard_normal((3, bins, 2))  # imaginary parts of bins 0 and n/2 are not zero: ignored by both
    _compare(lambda y: fft.irfft(y, n=n, norm=norm),
             lambda y: torch.fft.irfft(_torch_complex(y), n=n, norm=norm), data, 1e-10)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("shape,s,dim", [((2, 6, 8), None, (-2, -1)), ((2, 5, 7), (4, 9), (-2, -1)),
                                         ((4, 3, 5), (6, 6), (0, 2)), ((3, 8, 6), None, (-1, -2))])
def test_rfft2_matches_torch(shape, s, dim, norm):
    data = rng.standard_normal(shape)
    _compare(lambda x: fft.rfft2(x, s=s, dim=dim, norm=norm),
             lambda x: torch.view_as_real(torch.fft.rfft2(x, s=s, dim=dim, norm=norm)), data, 1e-10)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("shape,s,dim", [((2, 6, 5), None, (-2, -1)), ((2, 5, 4), (7, 9), (-2, -1)),
                                         ((2, 4, 5), (3, 4), (-2, -1)), ((4, 3, 5), (6, 6), (0, 2))])
def test_irfft2_matches_torch(shape, s, dim, norm):
    data = rng.standard_normal((*shape, 2))
    _compare(lambda y: fft.irfft2(y, s=s, dim=dim, norm=norm),
             lambda y: torch.fft.irfft2(_torch_complex(y), s=s, dim=dim, norm=norm), data, 1e-10)


def test_float32_stays_float32_and_matches_torch():
    data = rng.standard_normal((4, 16, 16)).astype(np.float32)
    _compare(lambda x: fft.irfft2(fft.rfft2(x)[..., :5, :, :] * 3.0, s=(16, 16)),
             lambda x: torch.fft.irfft2(torch.fft.rfft2(x)[..., :5, :] * 3.0, s=(16, 16)), data, 1e-4)
    assert fft.rfft(ht.tensor(data)).dtype == ht.float32


def test_round_trip_and_non_contiguous_input():
    data = rng.standard_normal((6, 10))
    x = ht.tensor(data).T  # a transposed view
    back = fft.irfft(fft.rfft(x, dim=0), n=10, dim=0)
    np.testing.assert_allclose(back.numpy(), data.T, atol=1e-5)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [5, 6])
def test_gradients_match_finite_differences(n, norm):
    assert gradcheck(lambda x: fft.rfft(x, n=n, norm=norm), rng.standard_normal((2, 5)))
    assert gradcheck(lambda y: fft.irfft(y, n=n, norm=norm), rng.standard_normal((2, 4, 2)))
    assert gradcheck(lambda x: fft.rfft2(x, s=(3, n), norm=norm), rng.standard_normal((2, 4, 5)))
    assert gradcheck(lambda y: fft.irfft2(y, s=(3, n), norm=norm), rng.standard_normal((3, 4, 2)))
    assert gradcheck(lambda x: fft.rfft(x, n=n, dim=0, norm=norm), rng.standard_normal((5, 2)))


def test_bad_input_is_named():
    x = ht.tensor(rng.standard_normal((3, 4)))
    with pytest.raises(ValueError, match="norm"):
        fft.rfft(x, norm="none")
    with pytest.raises(ht.ShapeError, match="last dimension of size 2"):
        fft.irfft(x)
    with pytest.raises(ht.ShapeError, match="out of range"):
        fft.rfft(x, dim=2)
    with pytest.raises(ht.ShapeError, match="at least 1"):
        fft.rfft(x, n=0)
    with pytest.raises(ht.ShapeError, match="repeats"):
        fft.rfft2(x, dim=(1, -1))
    with pytest.raises(ht.DTypeError, match="float32 or float64"):
        fft.rfft(ht.tensor(np.arange(4)))


@pytest.mark.skipif(not ht.cuda_is_available(), reason="needs CuPy and an NVIDIA GPU (cuFFT)")
def test_cuda_matches_cpu():
    data = rng.standard_normal((2, 3, 12, 10)).astype(np.float32)
    results = []
    for device in ("cpu", "cuda"):
        x = ht.tensor(data, device=device, requires_grad=True)
        y = fft.irfft2(fft.rfft2(x)[..., :4, :3, :] * 2.0, s=(12, 10))
        (y * y).sum().backward()
        results.append((y.detach().cpu().numpy(), x.grad.cpu().numpy()))
    for cpu, gpu in zip(*results):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-4)
