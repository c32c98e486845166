"""Sources and monitors: the TFSF plane wave stays in its box, the mode source launches the slab mode."""

import numpy as np
import pytest

from hyperion.physics.modes import slab_mode
from hyperion.physics.monitors import DFTMonitor, mode_overlap, tmz_flux_x
from hyperion.physics.sources import GaussianPulse, ModeSource, PlaneWaveTFSF
from hyperion.physics.yee import Simulation


def test_tfsf_plane_wave_does_not_leak():
    sim = Simulation((90, 70), pml=10)
    box = (25, 64, 20, 49)
    sim.sources.append(PlaneWaveTFSF(sim, box, GaussianPulse.for_band(0.05, 0.03)))
    inside = outside = 0.0
    for _ in range(260):
        sim.step()
        ez = np.abs(sim.E[2][:, :, 0])
        inside = max(inside, ez[30:60, 25:45].max())
        outside = max(outside, ez[12:22, 12:58].max(), ez[12:78, 12:17].max(), ez[12:78, 53:58].max())
    assert inside > 0.1  # the wave is there, at about the source's amplitude
    assert 20 * np.log10(outside / inside) < -100  # the same dispersion on both sides: cancels to roundoff


def test_slab_mode_is_guided_and_normalised():
    eps = np.full(60, 2.25)
    eps[25:35] = 12.25
    beta, u = slab_mode(eps, 2 * np.pi / 32)
    assert 2 * np.pi / 32 * 1.5 < beta < 2 * np.pi / 32 * 3.5  # between the cladding and core indices
    assert np.isclose(np.sum(u**2), 1.0) and u[30] > 0 and abs(u[0]) < 1e-3 * u.max()
    with pytest.raises(ValueError, match="not guided"):
        slab_mode(np.full(60, 2.25), 2 * np.pi / 32)


def test_mode_source_launches_the_mode_and_power_is_conserved():
    nx, ny = 140, 60
    eps = np.full((nx, ny), 2.25)
    eps[:, 25:35] = 12.25
    sim = Simulation((nx, ny), pml=12, eps=eps, courant=0.5)
    omega = 2 * np.pi / 32
    sim.sources.append(ModeSource(sim, 0, 20, slice(13, 47), omega, GaussianPulse.for_band(1 / 32, 0.2 / 32)))
    lines = {x: (DFTMonitor("Ez", (x, slice(None)), [omega]), DFTMonitor("Hy", (x - 1, slice(None)), [omega]),
                 DFTMonitor("Hy", (x, slice(None)), [omega])) for x in (60, 110)}
    for monitors in lines.values():
        sim.monitors.extend(monitors)
    sim.run(2200)
    power = {}
    for x, (ez, hy_l, hy_r) in lines.items():
        power[x] = float(tmz_flux_x(ez.values[0, :, 0], hy_l.values[0, :, 0], hy_r.values[0, :, 0])[()])
        _, u = slab_mode(eps[x], omega, 1.0, 0.0)
        field = ez.values[0, :, 0]
        purity = abs(mode_overlap(field, u)) ** 2 / np.sum(np.abs(field) ** 2)
        assert purity > 0.999, (x, purity)
    assert power[60] > 0
    assert abs(power[110] / power[60] - 1) < 0.01
