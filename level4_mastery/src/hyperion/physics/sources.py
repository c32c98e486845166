"""Sources: a waveform in time times a place on the grid.

A source acts after the H update (magnetic sources) and/or after the E update (electric current
densities J: the E update is E ← ca E + cb (curl H - J), so a soft source subtracts cb·J at
time (n+½)Δt and leaves the grid free to carry waves through it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperion.physics.modes import slab_mode


# ---- waveforms ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class GaussianPulse:
    """``exp(-((t - delay)/width)²) · cos(2π f (t - delay))`` (f = 0: a plain Gaussian)."""

    width: float
    delay: float
    frequency: float = 0.0

    @staticmethod
    def for_band(frequency: float, bandwidth: float) -> GaussianPulse:
        """A pulse centred on ``frequency`` whose spectrum falls to 1/e at ± ``bandwidth``."""
        width = 1.0 / (np.pi * bandwidth)
        return GaussianPulse(width=width, delay=4.0 * width, frequency=frequency)

    def __call__(self, t: Any) -> Any:
        s = (np.asarray(t) - self.delay) / self.width
        return np.exp(-(s**2)) * np.cos(2 * np.pi * self.frequency * (np.asarray(t) - self.delay))

    def spectrum(self, omega: Any, dt: float, steps: int, offset: float = 0.5) -> np.ndarray:
        """Σ_n w((n+offset)Δt) e^{iω(n+offset)Δt} Δt: the discrete spectrum the grid actually received."""
        t = (np.arange(steps) + offset) * dt
        return np.exp(1j * np.outer(np.atleast_1d(omega), t)) @ self(t) * dt


@dataclass(frozen=True)
class ContinuousWave:
    """``sin(ω t)`` switched on smoothly over ``ramp`` (a raised-cosine envelope)."""

    omega: float
    ramp: float

    def __call__(self, t: Any) -> Any:
        t = np.asarray(t)
        envelope = np.where(t < self.ramp, 0.5 * (1 - np.cos(np.pi * np.clip(t, 0, None) / self.ramp)), 1.0)
        return envelope * np.sin(self.omega * t)


# ---- sources on the grid -----------------------------------------------------------------------
class PointSource:
    """A soft electric current density ``J_component = amplitude · waveform(t)`` in one cell."""

    def __init__(self, position: tuple[int, ...], waveform: Any, component: int = 2, amplitude: float = 1.0) -> None:
        self.index = tuple(position) + (0,) * (3 - len(position))
        self.waveform, self.component, self.amplitude = waveform, component, amplitude

    def after_h(self, sim: Any) -> None:
        pass

    def after_e(self, sim: Any) -> None:
        if sim.E[self.component] is None:
            raise ValueError(f"mode {sim.mode!r} has no E component {'xyz'[self.component]} for this source")
        t = (sim.n + 0.5) * sim.dt
        sim.E[self.component][self.index] -= sim.cb[self.index] * self.amplitude * self.waveform(t)


class ModeSource:
    """TMz slab-waveguide mode as a line of J_z ∝ u: launches the mode both ways along ``axis``.

    ``axis`` is the propagation axis (0: x, 1: y); the line sits at ``position`` along it and spans
    ``span`` (a slice) across it. The profile comes from :func:`slab_mode` at ``omega``.
    """

    def __init__(self, sim: Any, axis: int, position: int, span: slice, omega: float, waveform: Any,
                 amplitude: float = 1.0) -> None:
        if sim.mode != "tmz":
            raise ValueError("the slab mode source is a TMz (Ez) source")
        eps_line = sim.eps[(position, span, 0) if axis == 0 else (span, position, 0)]
        self.beta, self.profile = slab_mode(eps_line, omega, sim.dx, sim.dt)
        self.index = (position, span, 0) if axis == 0 else (span, position, 0)
        self.waveform, self.amplitude = waveform, amplitude

    def after_h(self, sim: Any) -> None:
        pass

    def after_e(self, sim: Any) -> None:
        t = (sim.n + 0.5) * sim.dt
        sim.E[2][self.index] -= sim.cb[self.index] * self.profile * (self.amplitude * self.waveform(t))


class PlaneWaveTFSF:
    """A TMz plane wave travelling along +x, injected on the edge of a total-field box (TFSF).

    The incident field comes from a 1-D Yee grid with the same Δx and Δt, so it has exactly the
    dispersion of the 2-D grid along x and the box's edges cancel it outside the box to roundoff.
    Total field inside ``x0 <= i <= x1, y0 <= j <= y1``, scattered field outside.
    """

    def __init__(self, sim: Any, box: tuple[int, int, int, int], waveform: Any) -> None:
        if sim.mode != "tmz":
            raise ValueError("the TFSF plane wave is written for TMz")
        self.x0, self.x1, self.y0, self.y1 = box
        self.waveform = waveform
        length = self.x1 - self.x0 + 2 + 4 * max(sim.shape)  # long enough that its far end is never reached
        self.origin = 2  # the 1-D grid's index of the box's x0
        self.ez = np.zeros(length)
        self.hy = np.zeros(length)
        self.dt = sim.dt / sim.dx

    def _step_1d(self, n: int) -> None:
        # H then E, the same leapfrog as the 2-D grid; the wave is launched at 1-D index 0 (hard source)
        self.hy[:-1] += self.dt * (self.ez[1:] - self.ez[:-1])
        self.ez[1:] += self.dt * (self.hy[1:] - self.hy[:-1])
        self.ez[0] = self.waveform((n + 1) * self.dt)

    def after_h(self, sim: Any) -> None:
        # H^{n+½} on the box edges used E^n from the other side: correct with the incident E^n
        i0, i1, y = self.x0, self.x1, slice(self.y0, self.y1 + 1)
        o = self.origin
        sim.H[1][i0 - 1, y, 0] -= sim.dt * self.ez[o] / sim.dx
        sim.H[1][i1, y, 0] += sim.dt * self.ez[o + i1 - i0 + 1] / sim.dx
        x = slice(i0, i1 + 1)
        inc = self.ez[o : o + i1 - i0 + 1]
        sim.H[0][x, self.y0 - 1, 0] += sim.dt * inc / sim.dx
        sim.H[0][x, self.y1, 0] -= sim.dt * inc / sim.dx
        self._step_1d(sim.n)  # the 1-D grid now holds H^{n+½} and E^{n+1}

    def after_e(self, sim: Any) -> None:
        i0, i1, y = self.x0, self.x1, slice(self.y0, self.y1 + 1)
        o = self.origin
        sim.E[2][i0, y, 0] -= sim.cb[i0, y, 0] * self.hy[o - 1] / sim.dx
        sim.E[2][i1 + 1, y, 0] += sim.cb[i1 + 1, y, 0] * self.hy[o + i1 - i0] / sim.dx
