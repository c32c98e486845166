"""Task 4.2: the CPML recursion coefficients b and c (hyperion.physics.pml.cpml_coefficients)."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "4.2"
TITLE = "CPML recursion coefficients"
POINTS = 10
TIMEOUT = 60


def _inputs():
    rng = np.random.default_rng(402)
    sigma = np.abs(rng.standard_normal(40)) * 3
    sigma[:10] = 0.0  # outside the layer
    kappa = 1 + np.abs(rng.standard_normal(40)) * 4
    alpha = np.abs(rng.standard_normal(40)) * 0.05
    alpha[5:15] = 0.0  # includes σ = α = 0: the denominator vanishes there
    return sigma, kappa, alpha, 0.37


@probe(reference=False)
def coefficients():
    from hyperion.physics.pml import cpml_coefficients

    sigma, kappa, alpha, dt = _inputs()
    b, c = cpml_coefficients(sigma, kappa, alpha, dt)
    return {"b": np.asarray(b, np.float64), "c": np.asarray(c, np.float64)}


def check_coefficients(sub, ref):
    sigma, kappa, alpha, dt = _inputs()
    b = np.exp(-(sigma / kappa + alpha) * dt)
    den = sigma * kappa + kappa**2 * alpha
    c = np.zeros_like(b)
    inside = den > 0
    c[inside] = sigma[inside] / den[inside] * (b[inside] - 1)
    assert_true(bool(np.all(np.isfinite(sub["c"]))),
                "c must be finite everywhere (σ = α = 0 gives 0/0: define c = 0 there)")
    assert_close(sub["b"], b, rtol=1e-12, atol=1e-14, name="b")
    assert_close(sub["c"], c, rtol=1e-12, atol=1e-14, name="c")
    assert_true(bool(np.all(sub["c"][sigma == 0] == 0)), "c must be exactly 0 where σ = 0 (outside the layer)")
