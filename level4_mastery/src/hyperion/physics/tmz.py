"""The 2D TMz update written out field by field, with its exact discrete adjoint and its inverse.

This is the differentiable core: ``step`` is the same update as :class:`~hyperion.physics.yee.Simulation`
in TMz (a test checks they agree), on a lossless ε map with CPML on all four walls.
``adjoint_step`` is its transpose, line by line in reverse (reverse-mode differentiation by hand:
each line ``y = f(x)`` becomes ``x̄ += (∂f/∂x)ᵀ ȳ``), and ``inverse_step`` runs the update backwards
in time -- exact in the lossless interior, but not inside the CPML, whose ψ decays and cannot be
un-decayed; there the fields are restored from a recording of that band.

State: ``ez, hx, hy`` and four CPML fields ``psi = (ψ_hx_y, ψ_hy_x, ψ_ez_x, ψ_ez_y)``.
Step n → n+1 (J^{n+½} the source current):

    Hx ← Hx - Δt (D⁺_y Ez / κ_y + ψ_hx_y),    ψ_hx_y ← b ψ_hx_y + c D⁺_y Ez
    Hy ← Hy + Δt (D⁺_x Ez / κ_x + ψ_hy_x),    ψ_hy_x ← b ψ_hy_x + c D⁺_x Ez
    Ez ← Ez + cb (D⁻_x Hy / κ_x + ψ_ez_x - D⁻_y Hx / κ_y - ψ_ez_y - J),   cb = Δt / ε
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hyperion.physics.pml import AxisProfile, CPMLSettings, axis_profile


def dplus(f: np.ndarray, axis: int) -> np.ndarray:
    """Forward difference ``f[i+1] - f[i]`` with f = 0 past the end (PEC wall)."""
    out = -f
    if axis == 0:
        out[:-1] += f[1:]
    else:
        out[:, :-1] += f[:, 1:]
    return out


def dminus(f: np.ndarray, axis: int) -> np.ndarray:
    """Backward difference ``f[i] - f[i-1]`` with f = 0 before the start. Its transpose is ``-dplus``."""
    out = f.copy()
    if axis == 0:
        out[1:] -= f[:-1]
    else:
        out[:, 1:] -= f[:, :-1]
    return out


@dataclass
class TMzGrid:
    """Grid constants: shape, Δt (Δx = 1), CPML profiles along x (axis 0) and y (axis 1)."""

    shape: tuple[int, int]
    dt: float
    px: AxisProfile
    py: AxisProfile
    pml: int

    @staticmethod
    def make(shape: tuple[int, int], courant: float = 0.5, pml: int = 10) -> TMzGrid:
        if courant > 1 / np.sqrt(2):
            from hyperion.physics.yee import CourantError

            raise CourantError(f"Courant number {courant} exceeds the 2D limit 1/sqrt(2) = {1 / np.sqrt(2):.6g}")
        settings = CPMLSettings(thickness=pml)
        return TMzGrid(tuple(shape), courant, axis_profile(shape[0], 1.0, courant, settings),
                       axis_profile(shape[1], 1.0, courant, settings), pml)

    def profile(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(b, c, kappa)`` broadcast for one of 'hx_y', 'hy_x', 'ez_x', 'ez_y'."""
        p, axis = (self.py, 1) if name.endswith("y") else (self.px, 0)
        b, c, k = (p.b_h, p.c_h, p.kappa_h) if name.startswith("h") else (p.b_e, p.c_e, p.kappa_e)
        shape = (-1, 1) if axis == 0 else (1, -1)
        return b.reshape(shape), c.reshape(shape), k.reshape(shape)

    def band(self) -> np.ndarray:
        """True on the cells where the CPML acts (plus one), where time reversal needs a recording."""
        mask = np.zeros(self.shape, bool)
        w = self.pml + 1
        mask[:w], mask[-w:], mask[:, :w], mask[:, -w:] = True, True, True, True
        return mask


State = list[np.ndarray]  # [ez, hx, hy, psi_hx_y, psi_hy_x, psi_ez_x, psi_ez_y]


def zero_state(grid: TMzGrid) -> State:
    return [np.zeros(grid.shape) for _ in range(7)]


def step(grid: TMzGrid, cb: np.ndarray, state: State, current: np.ndarray | float) -> State:
    """Task 4.1: one TMz leapfrog step with the CPML; returns the new state (inputs are not modified).

    Follow the module docstring line by line: first H from E (forward differences ``dplus``; each
    derivative d becomes d/κ + ψ after ψ ← b ψ + c d, with the H-point profiles
    ``grid.profile("hx_y")`` and ``grid.profile("hy_x")``), then Ez from the new H (backward
    differences ``dminus``, profiles "ez_x" and "ez_y") and the source ``current``, and finally zero Ez
    on the PEC walls at index 0 of both axes. The order matters: Ez^{n+1} must see H^{n+½}.
    Return ``[ez, hx, hy, psi_hx_y, psi_hy_x, psi_ez_x, psi_ez_y]``.
    """
    # BEGIN SOLUTION
    ez, hx, hy, p_hxy, p_hyx, p_ezx, p_ezy = state
    dt = grid.dt
    b, c, k = grid.profile("hx_y")
    d = dplus(ez, 1)
    p_hxy = b * p_hxy + c * d
    hx = hx - dt * (d / k + p_hxy)
    b, c, k = grid.profile("hy_x")
    d = dplus(ez, 0)
    p_hyx = b * p_hyx + c * d
    hy = hy + dt * (d / k + p_hyx)
    bx, cx, kx = grid.profile("ez_x")
    by, cy, ky = grid.profile("ez_y")
    a, bb = dminus(hy, 0), dminus(hx, 1)
    p_ezx = bx * p_ezx + cx * a
    p_ezy = by * p_ezy + cy * bb
    ez = ez + cb * (a / kx + p_ezx - bb / ky - p_ezy - current)
    ez[0, :] = 0.0  # tangential E on the PEC walls at index 0
    ez[:, 0] = 0.0
    return [ez, hx, hy, p_hxy, p_hyx, p_ezx, p_ezy]
    # END SOLUTION


def adjoint_step(grid: TMzGrid, cb: np.ndarray, bar: State) -> State:
    """Task 4.3: the adjoint step -- the transpose of ``step`` (without the source): bar^{n+1} → bar^n.

    ``step`` is linear in the state, s^{n+1} = A s^n + (source); this returns Aᵀ bar. Walk ``step``
    backwards: undo the PEC zeroing first (zero the Ez adjoint on the walls), then the Ez line, then the
    Hy line, then the Hx line. For every line ``y = f(x)`` accumulate ``x̄ += (∂f/∂x)ᵀ ȳ``: a ψ update
    ψ' = b ψ + c d sends ψ̄' to ψ̄ = b ψ̄' and d̄ += c ψ̄'; the transpose of ``dminus`` is ``-dplus`` and
    of ``dplus`` is ``-dminus``. A correct Aᵀ satisfies ⟨A u, v⟩ = ⟨u, Aᵀ v⟩ for any u, v.
    """
    # BEGIN SOLUTION
    g_ez, g_hx, g_hy, g_hxy, g_hyx, g_ezx, g_ezy = (x.copy() for x in bar)
    dt = grid.dt
    g_ez[0, :] = 0.0
    g_ez[:, 0] = 0.0
    # E line: ez = ez + cb (a/kx + ψx' - bb/ky - ψy' - J)
    bx, cx, kx = grid.profile("ez_x")
    by, cy, ky = grid.profile("ez_y")
    g_curl = cb * g_ez
    g_ezx = g_ezx + g_curl
    g_ezy = g_ezy - g_curl
    g_a = g_curl / kx + cx * g_ezx
    g_bb = -g_curl / ky + cy * g_ezy
    g_ezx, g_ezy = bx * g_ezx, by * g_ezy
    g_hy = g_hy - dplus(g_a, 0)  # (D⁻)ᵀ = -D⁺
    g_hx = g_hx - dplus(g_bb, 1)
    # Hy line: hy = hy + dt (d/k + ψ'),  ψ' = b ψ + c d,  d = D⁺_x ez
    b, c, k = grid.profile("hy_x")
    g_hyx = g_hyx + dt * g_hy
    g_d = dt * g_hy / k + c * g_hyx
    g_hyx = b * g_hyx
    g_ez = g_ez - dminus(g_d, 0)  # (D⁺)ᵀ = -D⁻
    # Hx line: hx = hx - dt (d/k + ψ')
    b, c, k = grid.profile("hx_y")
    g_hxy = g_hxy - dt * g_hx
    g_d = -dt * g_hx / k + c * g_hxy
    g_hxy = b * g_hxy
    g_ez = g_ez - dminus(g_d, 1)
    return [g_ez, g_hx, g_hy, g_hxy, g_hyx, g_ezx, g_ezy]
    # END SOLUTION


def inverse_step(grid: TMzGrid, cb: np.ndarray, state: State, current: np.ndarray | float) -> State:
    """State n+1 → state n in the lossless interior (the CPML band must be restored from a recording)."""
    ez, hx, hy, p_hxy, p_hyx, p_ezx, p_ezy = state
    dt = grid.dt
    _, _, kx = grid.profile("ez_x")
    _, _, ky = grid.profile("ez_y")
    ez = ez - cb * (dminus(hy, 0) / kx + p_ezx - dminus(hx, 1) / ky - p_ezy - current)
    _, _, k = grid.profile("hy_x")
    hy = hy - dt * (dplus(ez, 0) / k + p_hyx)
    _, _, k = grid.profile("hx_y")
    hx = hx + dt * (dplus(ez, 1) / k + p_hxy)
    return [ez, hx, hy, p_hxy, p_hyx, p_ezx, p_ezy]
