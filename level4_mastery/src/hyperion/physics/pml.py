"""CPML: the convolutional perfectly matched layer (Roden & Gedney 2000), as 1-D profiles per axis.

Inside the layer each spatial derivative ``∂F/∂a`` of the Yee update is replaced by
``(1/κ) ∂F/∂a + ψ`` where the auxiliary field ψ obeys the recursion ``ψ ← b ψ + c ∂F/∂a`` with

    b = exp(-(σ/κ + α) Δt)          c = σ / (σ κ + κ² α) · (b - 1).

σ (the loss), κ (the stretching of evanescent waves) and α (the complex-frequency shift that keeps
low frequencies from being absorbed too slowly) are graded from the inner edge of the layer
(σ = 0, κ = 1, α = α_max) to the outer wall (σ = σ_max, κ = κ_max, α = 0). Outside the layer
b = 1 and c = 0, so ψ stays zero and the update is the plain Yee update.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CPMLSettings:
    """Grading of the layer: ``thickness`` cells, polynomial order ``order`` for σ and κ."""

    thickness: int = 10
    order: float = 3.0
    kappa_max: float = 5.0
    alpha_max: float = 0.05
    alpha_order: float = 1.0
    sigma_scale: float = 1.0  # σ_max = sigma_scale · 0.8 (order + 1) / (η Δx): the near-optimal value


@dataclass(frozen=True)
class AxisProfile:
    """``b``, ``c``, ``kappa`` along one axis, at the integer (E-update) and half (H-update) points."""

    b_e: np.ndarray
    c_e: np.ndarray
    kappa_e: np.ndarray
    b_h: np.ndarray
    c_h: np.ndarray
    kappa_h: np.ndarray


def depth_into_layer(position: np.ndarray, n: int, thickness: int) -> np.ndarray:
    """0 in the interior, rising linearly to 1 at the outer walls ``x = 0`` and ``x = n``."""
    left = (thickness - position) / thickness
    right = (position - (n - thickness)) / thickness
    return np.clip(np.maximum(left, right), 0.0, 1.0)


def cpml_coefficients(sigma: np.ndarray, kappa: np.ndarray, alpha: np.ndarray,
                      dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Task 4.2: the CPML recursion coefficients ``(b, c)`` for ψ ← b ψ + c ∂F/∂a.

    The CPML stretches each derivative by 1/s(ω), s = κ + σ/(α - iω) (units ε0 = 1). In time, 1/s is
    1/κ times a delta minus a decaying exponential; convolving with it on the leapfrog's grid and
    updating the convolution recursively gives ``ψ^{n} = b ψ^{n-1} + c (∂F/∂a)^{n}`` with

        b = exp(-(σ/κ + α) Δt),      c = σ / (σ κ + κ² α) · (b - 1).

    Return arrays of the broadcast shape. Where σ = 0 (outside the layer) c must be exactly 0 (and
    b = exp(-α Δt)); never divide by zero there: the denominator σκ + κ²α vanishes when σ = α = 0.
    """
    # BEGIN SOLUTION
    b = np.exp(-(sigma / kappa + alpha) * dt)
    denominator = sigma * kappa + kappa**2 * alpha
    safe = np.where(denominator > 0, denominator, 1.0)
    c = np.where(denominator > 0, sigma / safe * (b - 1.0), 0.0)
    return b, c
    # END SOLUTION


def axis_profile(n: int, dx: float, dt: float, settings: CPMLSettings, eps_background: float = 1.0) -> AxisProfile:
    """The CPML coefficients along an axis of ``n`` cells (walls at 0 and n, units c = ε0 = μ0 = 1)."""
    if settings.thickness < 1 or 2 * settings.thickness >= n:
        raise ValueError(f"CPML thickness {settings.thickness} does not fit an axis of {n} cells "
                         "(needs 2·thickness < n)")
    sigma_max = settings.sigma_scale * 0.8 * (settings.order + 1) / (dx * np.sqrt(eps_background))

    def coefficients(position: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = depth_into_layer(position, n, settings.thickness)
        sigma = sigma_max * d**settings.order
        kappa = 1.0 + (settings.kappa_max - 1.0) * d**settings.order
        alpha = np.where(d > 0, settings.alpha_max * (1.0 - d) ** settings.alpha_order, 0.0)
        b, c = cpml_coefficients(sigma, kappa, alpha, dt)
        return b, c, kappa

    b_e, c_e, k_e = coefficients(np.arange(n, dtype=np.float64))
    b_h, c_h, k_h = coefficients(np.arange(n, dtype=np.float64) + 0.5)
    return AxisProfile(b_e, c_e, k_e, b_h, c_h, k_h)
