"""The same FNO in PyTorch: the oracle for the Hyperion model and the baseline for its speed.

``torch_twin(model)`` builds the PyTorch module with the architecture of a Hyperion
:class:`~hyperion.repro.fno.model.FNO1d`/``FNO2d`` and copies its weights, so the two give the same
outputs and gradients (tested in ``test_fno.py``) and can be timed side by side on one GPU. PyTorch is
imported only here: it is a test oracle and benchmark baseline, never a dependency of the package.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def torch_twin(model: Any, device: str = "cpu") -> Any:
    """A ``torch.nn.Module`` equal to the Hyperion FNO ``model`` (its weights copied, float32)."""
    import torch
    from torch import nn

    class SpectralConv(nn.Module):
        def __init__(self, weight: np.ndarray, modes: tuple[int, ...]) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.tensor(weight))
            self.modes = modes

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # channel-last (batch, *space, in)
            w = torch.view_as_complex(self.weight)
            if len(self.modes) == 1:
                n, m = x.shape[1], self.modes[0]
                ft = torch.fft.rfft(x, dim=1)[:, :m]
                return torch.fft.irfft(torch.einsum("bki,iok->bko", ft, w), n=n, dim=1)
            (n1, n2), (m1, m2) = x.shape[1:3], self.modes
            ft = torch.fft.rfft2(x, dim=(1, 2))
            out = torch.zeros(x.shape[0], n1, n2 // 2 + 1, w.shape[1], dtype=ft.dtype, device=x.device)
            out[:, :m1, :m2] = torch.einsum("bxyi,ioxy->bxyo", ft[:, :m1, :m2], w[:, :, :m1])
            out[:, n1 - m1 :, :m2] = torch.einsum("bxyi,ioxy->bxyo", ft[:, n1 - m1 :, :m2], w[:, :, m1:])
            return torch.fft.irfft2(out, s=(n1, n2), dim=(1, 2))

    class Twin(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc0 = _linear(model.fc0)
            self.spectral = nn.ModuleList(
                [SpectralConv(layer.weight.detach().cpu().numpy(), _modes(layer)) for layer in model.spectral]
            )
            self.pointwise = nn.ModuleList([_linear(layer) for layer in model.pointwise])
            self.fc1, self.fc2 = _linear(model.fc1), _linear(model.fc2)
            self.grids: dict[Any, torch.Tensor] = {}

        def forward(self, a: torch.Tensor) -> torch.Tensor:
            key = tuple(a.shape[1:])
            if key not in self.grids:
                self.grids[key] = torch.tensor(model.grid(key, "cpu").numpy(), device=a.device)
            grid = self.grids[key]
            x = torch.cat([a.unsqueeze(-1), grid.expand(a.shape[0], *grid.shape[1:])], dim=-1)
            x = self.fc0(x)
            for i, (spectral, pointwise) in enumerate(zip(self.spectral, self.pointwise)):
                x = spectral(x) + pointwise(x)
                if i < len(self.spectral) - 1:
                    x = torch.nn.functional.gelu(x)
            return self.fc2(torch.nn.functional.gelu(self.fc1(x))).squeeze(-1)

    def _linear(layer: Any) -> nn.Linear:
        out = nn.Linear(layer.in_features, layer.out_features)
        with torch.no_grad():
            out.weight.copy_(torch.tensor(layer.weight.detach().cpu().numpy()))
            out.bias.copy_(torch.tensor(layer.bias.detach().cpu().numpy()))
        return out

    def _modes(layer: Any) -> tuple[int, ...]:
        return (layer.modes,) if hasattr(layer, "modes") else (layer.modes1, layer.modes2)

    return Twin().to(device)


def relative_l2_torch(pred: Any, target: Any) -> Any:
    """Sum over the batch of ``||pred - target|| / ||target||`` (the authors' LpLoss, size_average=False)."""
    dims = tuple(range(1, pred.ndim))
    return ((pred - target).square().sum(dims).sqrt() / target.square().sum(dims).sqrt()).sum()
