"""The physics checks: each runs a small simulation and compares it with an analytic answer.

Every check returns a :class:`Check` (name, measured value, limit, passed). They are what
``python -m hyperion.physics.validate`` prints and what the tests assert.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import scipy.special

from hyperion.physics.monitors import DFTMonitor
from hyperion.physics.pml import CPMLSettings
from hyperion.physics.sources import GaussianPulse, PointSource
from hyperion.physics.yee import Simulation, courant_limit


@dataclass
class Check:
    """One physics check: ``value`` compared with ``limit`` (``value <= limit`` passes)."""

    name: str
    value: float
    limit: float
    unit: str
    detail: str = ""

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.value) and self.value <= self.limit)

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


# ---- CPML reflection ---------------------------------------------------------------------------
def cpml_reflection(angle_deg: float, settings: CPMLSettings | None = None, height: int = 12,
                    far: int = 110) -> Check:
    """Reflection off one CPML wall, in dB, seen at the specular angle ``angle_deg`` (0 or 45).

    A TMz point source sits ``height`` cells above the layer's inner edge; the probe is at the same
    height, ``2·height·tan(angle)`` to the side (45°: the specular path meets the wall at 45°), or
    halfway to the wall at 0°. The test domain and the reference domain differ only below the
    source: the reference extends ``far`` cells further down, and all other walls are ``far``
    away, so within the window (before anything returns from those) their difference is the
    wall's reflection alone. Reported: max |E_test - E_ref| / max |E_ref| at the probe.
    """
    settings = settings or CPMLSettings()
    pml = settings.thickness
    pulse = GaussianPulse.for_band(0.06, 0.04)  # about 10 to 50 cells per wavelength
    offset = int(round(2 * height * np.tan(np.radians(angle_deg))))
    probe_up = 0 if angle_deg > 0 else -height // 2
    window = int((2 * far - 40) / (courant_limit(2) * 0.99))

    def record(extra_below: int) -> np.ndarray:
        nx = 2 * far + offset
        ny = pml + extra_below + height + far
        sim = Simulation((nx, ny), pml=settings)
        source = (far, pml + extra_below + height)
        sim.sources.append(PointSource(source, pulse))
        trace = np.empty(window)
        probe = (far + offset, source[1] + probe_up, 0)
        for n in range(window):
            sim.step()
            trace[n] = sim.E[2][probe]
        return trace

    test, reference = record(0), record(far)
    db = 20 * np.log10(np.max(np.abs(test - reference)) / np.max(np.abs(reference)))
    limit = -40.0 if angle_deg == 0 else -30.0
    return Check(f"CPML reflection at {angle_deg:g} deg ({pml} cells)", float(db), limit, "dB",
                 f"window {window} steps, source {height} cells from the layer")


# ---- PEC cavity --------------------------------------------------------------------------------
def _peak_frequency(trace: np.ndarray, dt: float, guess: float, half_width: float) -> float:
    """The frequency of the largest Hann-windowed spectral peak within ``guess ± half_width``."""
    window = np.hanning(trace.size)
    t = np.arange(trace.size) * dt
    signal = trace * window

    def power(f: float) -> float:
        return abs(np.sum(signal * np.exp(-2j * np.pi * f * t))) ** 2

    grid = np.linspace(guess - half_width, guess + half_width, 201)
    best = grid[int(np.argmax([power(f) for f in grid]))]
    lo, hi = best - (grid[1] - grid[0]), best + (grid[1] - grid[0])
    golden = (np.sqrt(5) - 1) / 2
    for _ in range(60):  # golden-section refinement of the maximum
        a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
        if power(a) > power(b):
            hi = b
        else:
            lo = a
    return 0.5 * (lo + hi)


def pec_cavity(nx: int = 40, ny: int = 30, steps: int = 12000) -> list[Check]:
    """TMz resonances of a PEC box (walls at 0 and n): f_mn = (c/2)·sqrt((m/Lx)² + (n/Ly)²).

    Two numbers per mode: the error against the analytic (continuum) frequency, limit 0.1%, and
    against the Yee grid's own discrete mode, sin²(πfΔt)/(cΔt)² = Σ sin²(k_aΔ/2)/Δ², limit 1e-4 --
    the second says the measured peak is the grid's mode and not an accident of the tolerance.
    """
    sim = Simulation((nx, ny), pml=None)
    sim.sources.append(PointSource((7, 5), GaussianPulse(width=3.0, delay=12.0)))
    probe = (nx - 9, ny - 7, 0)
    trace = np.empty(steps)
    for n in range(steps):
        sim.step()
        trace[n] = sim.E[2][probe]
    checks = []
    for m, n in [(1, 1), (2, 1), (1, 2), (3, 1), (2, 2)]:
        analytic = 0.5 * np.hypot(m / nx, n / ny)
        s2 = (sim.dt**2) * ((np.sin(np.pi * m / (2 * nx))) ** 2 + (np.sin(np.pi * n / (2 * ny))) ** 2)
        yee = np.arcsin(np.sqrt(s2)) / (np.pi * sim.dt)
        measured = _peak_frequency(trace, sim.dt, yee, 0.004 * yee + 1.0 / (steps * sim.dt))
        checks.append(Check(f"PEC cavity TM{m}{n} vs analytic", abs(measured / analytic - 1) * 100, 0.1, "%",
                            f"f = {measured:.6f}, analytic {analytic:.6f} (cycles per Δx/c)"))
        checks.append(Check(f"PEC cavity TM{m}{n} vs Yee mode", abs(measured / yee - 1), 1e-4, "rel",
                            f"Yee discrete mode {yee:.6f}"))
    return checks


def pec_cavity_modes(shape: tuple[int, ...], mode: str, modes: list[tuple[int, ...]],
                     steps: int = 6000) -> list[Check]:
    """Resonances of a PEC box in TEz or 3D against the Yee grid's discrete modes (limit 1e-4).

    Same measurement as :func:`pec_cavity`. Soft currents along every E component the mode keeps,
    off the symmetry planes, excite every mode; the probe is the sum of those E components at a
    second off-symmetry point. (A check that every listed mode's peak is found where the Yee relation
    puts it; the analytic frequency is printed beside it.)
    """
    sim = Simulation(shape, mode=mode, pml=None)
    start = tuple(max(1, n // 4 - 1) for n in shape)
    for component in sim.e_components:
        sim.sources.append(PointSource(start, GaussianPulse(width=2.0, delay=8.0), component=component))
    probe = tuple(n - max(2, n // 3) for n in shape) + (0,) * (3 - len(shape))
    trace = np.empty(steps)
    for n in range(steps):
        sim.step()
        trace[n] = sum(sim.E[c][probe] for c in sim.e_components)
    checks = []
    for m in modes:
        analytic = 0.5 * np.sqrt(sum((k / n) ** 2 for k, n in zip(m, shape)))
        s2 = sim.dt**2 * sum(np.sin(np.pi * k / (2 * n)) ** 2 for k, n in zip(m, shape))
        yee = np.arcsin(np.sqrt(s2)) / (np.pi * sim.dt)
        measured = _peak_frequency(trace, sim.dt, yee, 1.0 / (steps * sim.dt))
        name = "".join(str(k) for k in m)
        checks.append(Check(f"PEC cavity {mode} mode {name} vs Yee mode", abs(measured / yee - 1), 1e-4, "rel",
                            f"f = {measured:.6f}, Yee {yee:.6f}, analytic {analytic:.6f}"))
    return checks


# ---- 2D line source vs the Hankel function ----------------------------------------------------
def yee_wavenumber_axis(omega: float, dt: float, dx: float = 1.0) -> float:
    """k along a grid axis from the Yee dispersion relation: sin(kΔx/2)/Δx = sin(ωΔt/2)/(cΔt)."""
    return 2.0 / dx * np.arcsin(dx / dt * np.sin(omega * dt / 2))


def line_source_green(cells_per_wavelength: int = 20,
                      radii_wavelengths: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5)) -> list[Check]:
    """Ez of a TMz point current vs -(ωμ/4) I H0⁽¹⁾(kr) (e^{-iωt} phasors), at 20 cells per wavelength.

    Compared twice along the x axis: the magnitude against the continuum Hankel function, and the
    complex value against the Hankel function at the Yee grid's wavenumber (the phase error of the
    continuum k accumulates with r; the Yee k is what this grid should produce). Limit: 2%.
    """
    wavelength = cells_per_wavelength
    reach = int(max(radii_wavelengths) * wavelength) + 4
    pml = 12
    n = 2 * (reach + pml + 6)
    f0 = 1.0 / wavelength
    pulse = GaussianPulse.for_band(f0, 0.5 * f0)
    sim = Simulation((n, n), pml=pml)
    centre = n // 2
    sim.sources.append(PointSource((centre, centre), pulse))
    omega = 2 * np.pi * f0
    monitor = DFTMonitor("Ez", (slice(centre, centre + reach + 1), centre), [omega])
    sim.monitors.append(monitor)
    steps = int(2.5 * n / sim.courant + 2 * pulse.delay / sim.dt)
    sim.run(steps)
    current = pulse.spectrum(omega, sim.dt, steps)[0] * sim.dx**2
    w_yee = 2 * np.sin(omega * sim.dt / 2) / sim.dt
    k_yee = yee_wavenumber_axis(omega, sim.dt)
    checks = []
    worst_mag, worst_complex = 0.0, 0.0
    for r_wl in radii_wavelengths:
        r = int(round(r_wl * wavelength))
        measured = complex(monitor.values[0, r, 0])
        continuum = -(w_yee / 4) * current * scipy.special.hankel1(0, omega * r)
        on_grid = -(w_yee / 4) * current * scipy.special.hankel1(0, k_yee * r)
        worst_mag = max(worst_mag, abs(abs(measured) / abs(continuum) - 1))
        worst_complex = max(worst_complex, abs(measured / on_grid - 1))
    radii = ", ".join(f"{r:g}" for r in radii_wavelengths)
    checks.append(Check(f"line source |Ez| vs Hankel ({cells_per_wavelength} cells/λ)", worst_mag * 100, 2.0, "%",
                        f"worst over r = {radii} λ"))
    checks.append(Check(f"line source Ez vs Hankel at Yee k ({cells_per_wavelength} cells/λ)", worst_complex * 100,
                        2.0, "%", f"worst over r = {radii} λ, complex"))
    return checks


# ---- numerical dispersion ----------------------------------------------------------------------
def dispersion(cells_per_wavelength: float = 8.0) -> list[Check]:
    """Phase velocity of a plane wave along x vs the Yee dispersion relation, at a coarse resolution.

    Measured k: the mean phase advance per cell of the DFT field between two points. It must match
    the Yee k to 1e-3, and the Yee k must differ from the continuum ω/c by more than that (at 8
    cells per wavelength it does, by about 1%) -- otherwise the check could not tell them apart.
    """
    nx, pml = 400, 12
    sim = Simulation((nx, 1), pml=pml, periodic=(False, True))
    f0 = 1.0 / cells_per_wavelength
    pulse = GaussianPulse.for_band(f0, 0.3 * f0)
    sim.sources.append(PointSource((pml + 20, 0), pulse))
    omega = 2 * np.pi * f0
    span = slice(pml + 60, nx - pml - 40)
    monitor = DFTMonitor("Ez", (span, 0), [omega])
    sim.monitors.append(monitor)
    sim.run(int(1.2 * nx / sim.courant + 2 * pulse.delay / sim.dt))
    field = monitor.values[0, :, 0]
    k_measured = float(np.mean(np.angle(field[1:] / field[:-1])))
    k_yee = yee_wavenumber_axis(omega, sim.dt)
    return [
        Check(f"dispersion: k vs Yee relation ({cells_per_wavelength:g} cells/λ)", abs(k_measured / k_yee - 1), 1e-3,
              "rel", f"k = {k_measured:.6f}, Yee {k_yee:.6f}, continuum {omega:.6f}"),
        Check("dispersion: Yee k differs from ω/c by more than the tolerance", -abs(k_yee / omega - 1), -1e-3, "-rel",
              f"|k_yee/k0 - 1| = {abs(k_yee / omega - 1):.4g}"),
    ]


# ---- stability ---------------------------------------------------------------------------------
def courant_stability(steps: int = 1000, n: int = 32) -> list[Check]:
    """Random fields in a PEC box: bounded at the Courant limit, blowing up 1% above it.

    Measured: max |Ez| over the second half of the run / max |Ez| over the first half (a bounded
    oscillation gives about 1; an unstable mode grows geometrically).
    """
    def growth(factor: float) -> float:
        sim = Simulation((n, n), pml=None, courant=factor * courant_limit(2), allow_unstable=factor > 1)
        rng = np.random.default_rng(0)
        sim.E[2][1:, 1:] = rng.standard_normal((n - 1, n - 1, 1))
        peaks = np.empty(steps)
        for i in range(steps):
            sim.step()
            peaks[i] = np.max(np.abs(sim.E[2]))
        return float(np.max(peaks[steps // 2 :]) / np.max(peaks[: steps // 2]))

    at_limit, above = growth(1.0), growth(1.01)
    return [
        Check("amplitude growth at the Courant limit", at_limit, 1.5, "x", f"{steps} steps, random fields"),
        Check("amplitude growth 1% above the limit (must blow up)", -np.log10(above), -6.0, "-log10 x",
              f"growth {above:.3g}x over {steps // 2} steps"),
    ]
