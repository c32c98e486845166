"""The ceviche waveguide bend ("lightweight": 40 nm grid, 1270 and 1290 nm), simulated by our TMz FDTD.

Geometry as ceviche-challenges builds it for invrs-gym's lightweight bend: silicon (ε 12.25) in
oxide (ε 2.25), 400 nm guides, a 1.6 × 1.6 µm design region, 20 PML cells on every side; the
grid is 108 × 108 cells of 40 nm. Port 1 (source and monitor) is a line across the left guide,
port 2 a line across the bottom guide.

S-parameters from running DFTs and mode overlaps, at DFT frequencies chosen so that the leapfrog's
ω̃ = 2 sin(ωΔt/2)/Δt equals the target ω: the FDTD answer is then the frequency-domain answer of the
same spatial grid. The incident wave is measured once in a straight guide (the reference run):
S21 = ⟨u, Ẽ(port 2)⟩ / ⟨u, Ẽ_ref(port 1)⟩ and S11 = ⟨u, Ẽ(port 1) - Ẽ_ref(port 1)⟩ / ⟨u, Ẽ_ref(port 1)⟩.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hyperion.physics import adjoint, tmz
from hyperion.physics.modes import slab_mode
from hyperion.physics.sources import GaussianPulse

CLADDING, SLAB = 2.25, 12.25


@dataclass
class BendSpec:
    """The lightweight bend in grid cells (Δx = 40 nm)."""

    dx_nm: float = 40.0
    shape: tuple[int, int] = (108, 108)
    pml: int = 20
    design: tuple[int, int, int, int] = (38, 38, 78, 78)  # x0, y0, x1, y1
    guide: tuple[int, int] = (53, 63)  # the guides' cells across (both guides, by symmetry)
    guide_end: int = 38  # the guides run from the wall to the design region
    port: int = 21  # the source line (x for port 1, y for port 2)
    monitor: int = 22  # one cell further in: the monitor lines
    span: tuple[int, int] = (39, 77)  # the port lines' extent across the guide
    wavelengths_nm: tuple[float, ...] = (1270.0, 1290.0)
    courant: float = 0.5
    steps: int = 2000  # the fields have decayed by 1e-7 of their peak by then

    @property
    def design_shape(self) -> tuple[int, int]:
        return (self.design[2] - self.design[0], self.design[3] - self.design[1])

    @property
    def omegas(self) -> np.ndarray:
        """Target angular frequencies in grid units (c = Δx = 1)."""
        return 2 * np.pi * self.dx_nm / np.asarray(self.wavelengths_nm)


def background_density(spec: BendSpec) -> np.ndarray:
    """1 in the two guides, 0 elsewhere (the design region is filled in later)."""
    density = np.zeros(spec.shape)
    lo, hi = spec.guide
    density[: spec.guide_end, lo:hi] = 1.0  # port 1's guide, along x
    density[lo:hi, : spec.guide_end] = 1.0  # port 2's guide, along y
    return density


def straight_density(spec: BendSpec) -> np.ndarray:
    """The reference: port 1's guide continued straight through to the far wall."""
    density = np.zeros(spec.shape)
    density[:, spec.guide[0] : spec.guide[1]] = 1.0
    return density


def permittivity(spec: BendSpec, design: np.ndarray) -> np.ndarray:
    """ε of the whole grid for a design density in [0, 1] (linear in density, as ceviche-challenges)."""
    density = background_density(spec)
    x0, y0, x1, y1 = spec.design
    density[x0:x1, y0:y1] = design
    return CLADDING + (SLAB - CLADDING) * density


@dataclass
class BendSimulator:
    """The fixed parts: the TMz problem (source, monitors), mode profiles and the reference run."""

    spec: BendSpec = field(default_factory=BendSpec)

    def __post_init__(self) -> None:
        spec = self.spec
        grid = tmz.TMzGrid.make(spec.shape, courant=spec.courant, pml=spec.pml)
        # DFT frequencies whose leapfrog ω̃ is the target ω
        self.dft_omegas = 2 / grid.dt * np.arcsin(spec.omegas * grid.dt / 2)
        lo, hi = spec.span
        eps_line = CLADDING + (SLAB - CLADDING) * background_density(spec)[spec.port, lo:hi]
        centre = float(np.mean(spec.omegas))
        _, source_profile = slab_mode(eps_line, centre, 1.0, grid.dt)
        self.profiles = np.stack([slab_mode(eps_line, w, 1.0, 0.0)[1] for w in spec.omegas])
        source = np.zeros(spec.shape)
        source[spec.port, lo:hi] = source_profile
        f0 = centre / (2 * np.pi)
        across = np.arange(lo, hi)
        self.n_line = hi - lo
        monitor = (np.concatenate([np.full(self.n_line, spec.monitor), across]),
                   np.concatenate([across, np.full(self.n_line, spec.monitor)]))
        self.problem = adjoint.TMzProblem(grid, source, GaussianPulse.for_band(f0, 0.3 * f0), spec.steps,
                                          monitor, self.dft_omegas)
        reference, _ = adjoint.run_forward(self.problem, CLADDING + (SLAB - CLADDING) * straight_density(spec))
        self.reference_port1 = reference[:, : self.n_line]
        self.incident = np.sum(self.profiles * self.reference_port1, axis=1)

    def s_parameters(self, dft: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(S11, S21) per wavelength from the monitors' DFT (frequencies × 2·line)."""
        port1, port2 = dft[:, : self.n_line], dft[:, self.n_line :]
        s11 = np.sum(self.profiles * (port1 - self.reference_port1), axis=1) / self.incident
        s21 = np.sum(self.profiles * port2, axis=1) / self.incident
        return s11, s21

    def simulate(self, design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(S11, S21) of a design density (design_shape, values in [0, 1])."""
        dft, _ = adjoint.run_forward(self.problem, permittivity(self.spec, np.asarray(design, np.float64)))
        return self.s_parameters(dft)


def eval_metric(s11: np.ndarray, s21: np.ndarray) -> float:
    """invrs-gym's ceviche eval metric for the bend: -max of the window-scaled signed distances.

    Window: |S11|² ≤ -20 dB, |S21|² ≥ -0.5 dB. Positive means every wavelength meets the spec.
    """
    t11, t21 = np.abs(s11) ** 2, np.abs(s21) ** 2
    upper11, lower21 = 10 ** (-20 / 10), 10 ** (-0.5 / 10)
    d11 = (t11 - upper11) / (upper11 - 0.0)  # lower bound 0 is the physical minimum: only the upper counts
    d21 = (lower21 - t21) / (1.0 - lower21)  # upper bound 1 is the physical maximum: only the lower counts
    return float(-np.max(np.concatenate([d11, d21])))
