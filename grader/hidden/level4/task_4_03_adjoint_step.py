"""Task 4.3: the adjoint (transpose) of the TMz step (hyperion.physics.tmz.adjoint_step)."""

from hyperion_grader.hidden import assert_match, probe

TASK = "4.3"
TITLE = "Adjoint step"
POINTS = 10
TIMEOUT = 60


@probe
def adjoint_step():
    import numpy as np

    from hyperion.physics import tmz
    from hyperion.physics.pml import AxisProfile

    rng = np.random.default_rng(403)
    shape = (12, 14)

    def profile(n):  # CPML-like coefficients, made here (no call to Task 4.2)
        b = rng.uniform(0.5, 1.0, (2, n))
        c = -rng.uniform(0.0, 0.4, (2, n))
        k = rng.uniform(1.0, 3.0, (2, n))
        return AxisProfile(b[0], c[0], k[0], b[1], c[1], k[1])

    grid = tmz.TMzGrid(shape, 0.4, profile(shape[0]), profile(shape[1]), 3)
    cb = rng.uniform(0.1, 0.5, shape)
    bar = [rng.standard_normal(shape) for _ in range(7)]
    out = {}
    for n in range(2):
        bar = tmz.adjoint_step(grid, cb, bar)
        out[f"bar{n}"] = [np.asarray(b) for b in bar]
    return out


def check_adjoint_step(sub, ref):
    for n in range(2):
        for i in range(7):
            assert_match(sub[f"bar{n}"][i], ref[f"bar{n}"][i], rtol=1e-10, atol=1e-12)
