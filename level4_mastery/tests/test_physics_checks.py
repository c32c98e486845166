"""The physics checks on small grids: each compares a run with an analytic answer and could fail."""

import numpy as np
import pytest

from hyperion.physics import checks
from hyperion.physics.yee import CourantError, Simulation


def test_courant_refused_with_the_limit_in_the_message():
    with pytest.raises(CourantError, match=r"1/sqrt\(3\) = 0\.57735"):
        Simulation((8, 8, 8), courant=0.6)
    with pytest.raises(CourantError, match=r"1/sqrt\(2\) = 0\.707107"):
        Simulation((8, 8), courant=0.71)


def test_stable_at_the_limit_and_blows_up_above():
    at_limit, above = checks.courant_stability(steps=400, n=24)
    assert at_limit.passed, at_limit
    assert above.passed, above


@pytest.mark.parametrize("angle", [0, 45])
def test_cpml_reflection(angle):
    check = checks.cpml_reflection(angle, far=70)
    assert check.passed, check


def test_cpml_thin_layer_reflects_more():
    # the measurement can see a poor layer: 2 cells with a tiny σ reflects far above -40 dB
    from hyperion.physics.pml import CPMLSettings

    poor = checks.cpml_reflection(0, CPMLSettings(thickness=2, sigma_scale=0.05, kappa_max=1.0), far=70)
    assert poor.value > -30, poor


def test_pec_cavity_resonances():
    found = checks.pec_cavity()
    assert all(c.passed for c in found), [c for c in found if not c.passed]


@pytest.mark.parametrize("shape, mode, modes", [
    ((30, 22), "tez", [(1, 0), (0, 1), (1, 1), (2, 0)]),
    ((14, 12, 10), "3d", [(1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)]),
])
def test_tez_and_3d_cavity_modes_are_the_yee_modes(shape, mode, modes):
    found = checks.pec_cavity_modes(shape, mode, modes)
    assert all(c.passed for c in found), [c for c in found if not c.passed]


def test_line_source_matches_hankel():
    found = checks.line_source_green(radii_wavelengths=(1.0, 1.5))
    assert all(c.passed for c in found), found


def test_dispersion_follows_yee_relation():
    found = checks.dispersion()
    assert all(c.passed for c in found), found


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="permittivity must be positive"):
        Simulation((10, 10), pml=None, eps=np.zeros((10, 10)))
    with pytest.raises(ValueError, match="material map has shape"):
        Simulation((10, 10), pml=None, eps=np.ones((9, 10)))
    with pytest.raises(ValueError, match="CPML thickness"):
        Simulation((10, 10), pml=5)
