"""Cross-solver check: our 2D FDTD against ceviche's FDFD (via ceviche-challenges) on the same bend grid.

ceviche is optional (``pip install hyperion-mastery[validate]``); without it the check reports that
it could not run, and the test that uses it skips with that reason.
"""

from __future__ import annotations

import numpy as np

from hyperion.physics import bend
from hyperion.physics.checks import Check


def ceviche_model():
    """ceviche-challenges' WaveguideBendModel with invrs-gym's lightweight parameters."""
    from ceviche_challenges import params, waveguide_bend
    from ceviche_challenges import units as u

    spec = waveguide_bend.spec.WaveguideBendSpec(
        wg_width=400 * u.nm, wg_length=720 * u.nm, wg_mode_padding=560 * u.nm, padding=400 * u.nm,
        port_pml_offset=40 * u.nm, variable_region_size=(1600 * u.nm, 1600 * u.nm),
        cladding_permittivity=bend.CLADDING, slab_permittivity=bend.SLAB, input_monitor_offset=40 * u.nm,
        pml_width=20)
    sim_params = params.CevicheSimParams(resolution=40 * u.nm, wavelengths=u.Array([1270.0, 1290.0], u.nm))
    return waveguide_bend.model.WaveguideBendModel(sim_params, spec)


def ceviche_s_parameters(design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S11, S21) at 1270 and 1290 nm from ceviche's FDFD."""
    s, _ = ceviche_model().simulate(np.asarray(design, np.float64))
    return s[:, 0, 0], s[:, 0, 1]


def quarter_ring(spec: bend.BendSpec) -> np.ndarray:
    """The fixed test design: a quarter ring, the guides' width, joining the two guides' centre lines.

    The left guide's centre line is y = c, the bottom guide's x = c (c = 57.5 in cell coordinates);
    the quarter circle about the design region's corner (x0, y0) with radius c - x0 is tangent to both.
    """
    x0, y0, x1, y1 = spec.design
    lo, hi = spec.guide
    c = 0.5 * (lo + hi) - 0.5
    gx, gy = np.meshgrid(np.arange(x0, x1), np.arange(y0, y1), indexing="ij")
    r = np.hypot(gx - x0, gy - y0)
    return (np.abs(r - (c - x0)) < 0.5 * (hi - lo)).astype(np.float64)


def bend_vs_ceviche(tolerance: float = 0.02) -> list[Check]:
    """|S21|² (and |S11|²) of the fixed quarter-ring design: ours vs ceviche, at 1270 and 1290 nm."""
    spec = bend.BendSpec()
    design = quarter_ring(spec)
    s11, s21 = bend.BendSimulator(spec).simulate(design)
    c11, c21 = ceviche_s_parameters(design)
    d21 = float(np.max(np.abs(np.abs(s21) ** 2 - np.abs(c21) ** 2)))
    d11 = float(np.max(np.abs(np.abs(s11) ** 2 - np.abs(c11) ** 2)))
    return [
        Check("bend |S21|²: our FDTD vs ceviche FDFD", d21, tolerance, "abs",
              f"ours {np.round(np.abs(s21) ** 2, 4)}, ceviche {np.round(np.abs(c21) ** 2, 4)}"),
        Check("bend |S11|²: our FDTD vs ceviche FDFD", d11, tolerance, "abs",
              f"ours {np.round(np.abs(s11) ** 2, 4)}, ceviche {np.round(np.abs(c11) ** 2, 4)}"),
    ]
