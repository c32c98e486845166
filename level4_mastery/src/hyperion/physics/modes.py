"""The slab-waveguide mode from a 1-D finite-difference eigenproblem, consistent with the Yee grid.

For TMz, a mode ``Ez = u(y) e^{i(βx - ωt)}`` of a waveguide along x obeys, on the grid,

    (D_yy + ω̃² ε(y)) u = β̃² u,        ω̃ = 2 sin(ωΔt/2) / Δt,   β̃ = 2 sin(βΔx/2) / Δx,

where D_yy is the 3-point second difference (Dirichlet ends) and the tildes are the Yee grid's own
time and space differences: the mode found here propagates on the FDTD grid without dispersion
mismatch. The fundamental mode is the eigenvector with the largest β̃².
"""

from __future__ import annotations

import numpy as np


def yee_omega(omega: float, dt: float) -> float:
    """ω̃ = 2 sin(ωΔt/2)/Δt: the frequency a time-harmonic field 'sees' through the leapfrog (Δt → 0: ω)."""
    return 2.0 * np.sin(omega * dt / 2.0) / dt if dt > 0 else omega


def slab_mode(eps_line: np.ndarray, omega: float, dx: float = 1.0, dt: float = 0.0,
              order: int = 1) -> tuple[float, np.ndarray]:
    """``(β, u)``: propagation constant and unit-norm profile (Σ u² = 1, max entry positive) of mode ``order``."""
    eps_line = np.asarray(eps_line, np.float64)
    n = eps_line.size
    if n < 3 or order < 1 or order > n:
        raise ValueError(f"need >= 3 points and 1 <= order <= {n}; got {n} points, order {order}")
    import scipy.linalg  # here, not at import time: the GPU machine's python has no scipy

    w = yee_omega(omega, dt)
    main = -2.0 / dx**2 + w**2 * eps_line
    off = np.full(n - 1, 1.0 / dx**2)
    values, vectors = scipy.linalg.eigh_tridiagonal(main, off)
    index = n - order  # ascending eigenvalues: the fundamental mode is the last
    beta_tilde_sq = values[index]
    if beta_tilde_sq <= w**2 * eps_line.min():
        raise ValueError(f"mode {order} is not guided at ω = {omega:.4g} (β̃² = {beta_tilde_sq:.4g})")
    u = vectors[:, index]
    u = u / np.linalg.norm(u)
    if u[np.argmax(np.abs(u))] < 0:
        u = -u
    beta = 2.0 / dx * np.arcsin(min(1.0, np.sqrt(beta_tilde_sq) * dx / 2.0))
    return float(beta), u
