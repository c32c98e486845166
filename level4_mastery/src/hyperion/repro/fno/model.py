"""The Fourier Neural Operator (Li et al. 2021) on hyperion.tensor, 1-D and 2-D, channel-last.

    a(x), x  --fc0-->  width channels  --4 x [ K(v) + W v, GELU (not after the last) ]-->
             --fc1 (128), GELU, fc2-->  u(x)

``K`` is the spectral convolution: ``rfft`` over space, then :class:`SpectralMix` (keep the lowest
``modes`` frequencies, mix channels per mode with learned complex matrices, zeros for the dropped
frequencies), ``irfft`` back. ``W`` is a pointwise linear map (the authors' 1x1 convolution). Both act
on any grid size: the same weights evaluate at 256 or 8192 points (zero-shot super-resolution).
Activations stay channel-last ``(batch, *space, width)``, so the linear layers need no permutes and
the FFTs run along the spatial dimensions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion import nn
from hyperion.nn import functional as F
from hyperion.repro.fno.spectral import SpectralMix
from hyperion.tensor import Tensor, cat, empty, fft, tensor
from hyperion.tensor.errors import ShapeError
from hyperion.tensor.random import Generator


def _spectral_weight(channels_in: int, channels_out: int, modes: tuple[int, ...], device: str,
                     generator: Generator | None) -> nn.Parameter:
    """The authors' initialisation: real and imaginary parts ``U(0, 1) / (in * out)``."""
    scale = 1.0 / (channels_in * channels_out)
    weight = empty(channels_in, channels_out, *modes, 2, device=device)
    return nn.Parameter(weight.uniform_(0.0, scale, generator=generator))


class SpectralConv1d(nn.Module):
    """``(batch, n, in) -> (batch, n, out)``: the lowest ``modes`` Fourier modes, each mixed by a complex matrix."""

    def __init__(self, channels_in: int, channels_out: int, modes: int, device: str = "cpu",
                 generator: Generator | None = None) -> None:
        super().__init__()
        self.modes = modes
        self.weight = _spectral_weight(channels_in, channels_out, (modes,), device, generator)

    def forward(self, x: Tensor) -> Tensor:
        n = x.shape[1]
        if self.modes > n // 2 + 1:
            raise ShapeError(
                f"SpectralConv1d: {self.modes} modes need a grid of at least {2 * self.modes - 2} points, got {n}"
            )
        return fft.irfft(SpectralMix.apply(fft.rfft(x, dim=1), self.weight, modes=(self.modes,)), n=n, dim=1)


class SpectralConv2d(nn.Module):
    """``(batch, n1, n2, in) -> (batch, n1, n2, out)``: modes ``|k1| < modes1``, ``0 <= k2 < modes2``.

    One weight of shape ``(in, out, 2 * modes1, modes2, 2)``: rows ``:modes1`` act on the
    non-negative ``k1``, rows ``modes1:`` on the negative ones (the authors' ``weights1``/``weights2``).
    """

    def __init__(self, channels_in: int, channels_out: int, modes1: int, modes2: int, device: str = "cpu",
                 generator: Generator | None = None) -> None:
        super().__init__()
        self.modes1, self.modes2 = modes1, modes2
        self.weight = _spectral_weight(channels_in, channels_out, (2 * modes1, modes2), device, generator)

    def forward(self, x: Tensor) -> Tensor:
        n1, n2, m1, m2 = x.shape[1], x.shape[2], self.modes1, self.modes2
        if 2 * m1 > n1 or m2 > n2 // 2 + 1:
            raise ShapeError(f"SpectralConv2d: modes ({m1}, {m2}) do not fit a {n1} x {n2} grid")
        mixed = SpectralMix.apply(fft.rfft2(x, dim=(1, 2)), self.weight, modes=(m1, m2))
        return fft.irfft2(mixed, s=(n1, n2), dim=(1, 2))


class FNO(nn.Module):
    """The shared body: lift, four Fourier layers, project. Subclasses add the grid coordinates."""

    def __init__(self, spectral: list[nn.Module], coordinates: int, width: int, device: str,
                 generator: Generator | None) -> None:
        super().__init__()
        self.width = width
        self.fc0 = nn.Linear(1 + coordinates, width, device=device, generator=generator)
        self.spectral = nn.ModuleList(spectral)
        self.pointwise = nn.ModuleList(
            [nn.Linear(width, width, device=device, generator=generator) for _ in spectral]
        )
        self.fc1 = nn.Linear(width, 128, device=device, generator=generator)
        self.fc2 = nn.Linear(128, 1, device=device, generator=generator)
        self._grids: dict[Any, Tensor] = {}

    def grid(self, shape: tuple[int, ...], device: str) -> Tensor:
        raise NotImplementedError

    def forward(self, a: Tensor) -> Tensor:
        """``a`` of shape ``(batch, *space)`` -> ``u`` of the same shape."""
        grid = self.grid(tuple(a.shape[1:]), a.device)
        x = cat([a.unsqueeze(-1), grid.expand(a.shape[0], *grid.shape[1:])], dim=-1)
        x = self.fc0(x)
        last = len(self.spectral) - 1
        for i, (spectral, pointwise) in enumerate(zip(self.spectral, self.pointwise)):
            x = spectral(x) + pointwise(x)
            if i < last:
                x = F.gelu(x)
        return self.fc2(F.gelu(self.fc1(x))).squeeze(-1)


class FNO1d(FNO):
    """The 1-D FNO of the paper's Burgers experiment (modes 16, width 64); grid ``x_j = j / n`` (periodic)."""

    def __init__(self, modes: int = 16, width: int = 64, layers: int = 4, device: str = "cpu",
                 generator: Generator | None = None) -> None:
        spectral = [SpectralConv1d(width, width, modes, device, generator) for _ in range(layers)]
        super().__init__(spectral, 1, width, device, generator)

    def grid(self, shape: tuple[int, ...], device: str) -> Tensor:
        key = (shape, device)
        if key not in self._grids:
            n = shape[0]
            self._grids[key] = tensor((np.arange(n) / n).reshape(1, n, 1).astype(np.float32), device=device)
        return self._grids[key]


class FNO2d(FNO):
    """The 2-D FNO of the paper's Darcy experiment (modes 12, width 32); grid nodes ``linspace(0, 1, n)``."""

    def __init__(self, modes: int = 12, width: int = 32, layers: int = 4, device: str = "cpu",
                 generator: Generator | None = None) -> None:
        spectral = [SpectralConv2d(width, width, modes, modes, device, generator) for _ in range(layers)]
        super().__init__(spectral, 2, width, device, generator)

    def grid(self, shape: tuple[int, ...], device: str) -> Tensor:
        key = (shape, device)
        if key not in self._grids:
            x, y = np.meshgrid(np.linspace(0, 1, shape[0]), np.linspace(0, 1, shape[1]), indexing="ij")
            self._grids[key] = tensor(np.stack([x, y], -1)[None].astype(np.float32), device=device)
        return self._grids[key]


class Decoded(nn.Module):
    """``model(a) * scale + shift``: the authors' Darcy output normaliser (``y_normalizer.decode``) as a layer.

    Their Darcy script trains on targets scaled to zero mean and unit variance per grid point and
    computes the loss after decoding; ``scale`` = the training targets' standard deviation (+1e-5),
    ``shift`` = their mean, both of the grid's shape (:func:`pointwise_gaussian`). Not parameters.
    """

    def __init__(self, model: nn.Module, scale: Tensor, shift: Tensor) -> None:
        super().__init__()
        if scale.shape != shift.shape:
            raise ShapeError(f"Decoded: scale {scale.shape} and shift {shift.shape} differ")
        self.model, self.scale, self.shift = model, scale, shift

    def forward(self, a: Tensor) -> Tensor:
        u = self.model(a)
        if tuple(u.shape[1:]) != tuple(self.scale.shape):
            raise ShapeError(f"Decoded: output grid {tuple(u.shape[1:])} is not the normaliser's {self.scale.shape}")
        return u * self.scale + self.shift


def pointwise_gaussian(train: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """Per-grid-point ``(mean, std + eps)`` over the samples (axis 0), std unbiased as ``torch.std``
    -- the authors' ``UnitGaussianNormalizer``; encode with ``(x - mean) / scale``."""
    mean = train.mean(axis=0)
    return mean.astype(train.dtype), (train.std(axis=0, ddof=1) + eps).astype(train.dtype)
