"""The lightweight bend: geometry and S-parameters against ceviche, and a 5-iteration optimiser smoke run."""

import numpy as np
import pytest

from hyperion.physics import bend

try:
    import ceviche_challenges  # noqa: F401

    HAVE_CEVICHE = True
except ImportError:
    HAVE_CEVICHE = False
needs_ceviche = pytest.mark.skipif(not HAVE_CEVICHE, reason="ceviche-challenges not installed (extra 'validate')")


@needs_ceviche
def test_geometry_is_ceviche_challenges_bend():
    from hyperion.physics.crosscheck import ceviche_model

    model = ceviche_model()
    spec = bend.BendSpec()
    assert tuple(model.shape) == spec.shape
    assert tuple(model.design_region_coords) == spec.design
    design = np.random.default_rng(0).random(spec.design_shape)
    np.testing.assert_allclose(bend.permittivity(spec, design), model.epsilon_r(design))
    ports = model.ports
    assert (ports[0].x, ports[0].y, ports[1].x, ports[1].y) == (spec.port, 58, 58, spec.port)


@needs_ceviche
def test_quarter_ring_transmission_matches_ceviche():
    from hyperion.physics.crosscheck import bend_vs_ceviche

    found = bend_vs_ceviche(tolerance=0.02)
    assert all(c.passed for c in found), found


def test_metric_sign():
    good = bend.eval_metric(np.array([0.05, 0.05]), np.array([0.98, 0.98]))  # |S11|² 0.0025, |S21|² 0.96
    bad = bend.eval_metric(np.array([0.2, 0.05]), np.array([0.98, 0.98]))  # |S11|² 0.04 > 0.01
    assert good > 0 > bad


def test_optimiser_smoke_five_iterations():
    from hyperion.physics import optimize_bend

    rows = []  # the smoke run: a shorter time window, same geometry
    result = optimize_bend.optimize(iterations=5, lr=0.08, log=rows.append, spec=bend.BendSpec(steps=1400))
    history = result["history"]
    assert len(history) == 5 and len(rows) == 6
    assert history[-1]["loss"] < 0.8 * history[0]["loss"]
    assert min(history[-1]["t21"]) > 2 * max(history[0]["t21"])
