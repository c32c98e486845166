"""Task 4.1: one TMz Yee leapfrog step with the CPML (hyperion.physics.tmz.step)."""

from hyperion_grader.hidden import assert_match, assert_true, probe

TASK = "4.1"
TITLE = "Yee update (TMz, with CPML)"
POINTS = 10
TIMEOUT = 60


@probe
def yee_step():
    import numpy as np

    from hyperion.physics import tmz
    from hyperion.physics.pml import AxisProfile

    rng = np.random.default_rng(401)
    shape = (13, 11)

    def profile(n):  # CPML-like coefficients, made here (no call to Task 4.2)
        b = rng.uniform(0.5, 1.0, (2, n))
        c = -rng.uniform(0.0, 0.4, (2, n))
        k = rng.uniform(1.0, 3.0, (2, n))
        return AxisProfile(b[0], c[0], k[0], b[1], c[1], k[1])

    grid = tmz.TMzGrid(shape, 0.45, profile(shape[0]), profile(shape[1]), 3)
    state = [rng.standard_normal(shape) for _ in range(7)]
    initial, before = state, [s.copy() for s in state]
    cb = rng.uniform(0.1, 0.5, shape)
    out = {}
    for n in range(3):
        state = tmz.step(grid, cb, state, rng.standard_normal(shape) * 0.1)
        out[f"step{n}"] = [np.asarray(s) for s in state]
    out["inputs_untouched"] = bool(all(np.array_equal(a, b) for a, b in zip(initial, before)))
    return out


def check_yee_step(sub, ref):
    import numpy as np

    for n in range(3):
        for i, name in enumerate(["ez", "hx", "hy", "psi_hx_y", "psi_hy_x", "psi_ez_x", "psi_ez_y"]):
            assert_match(sub[f"step{n}"][i], ref[f"step{n}"][i], rtol=1e-10, atol=1e-12, name=f"{name} after step {n}")
    ez = np.asarray(sub["step2"][0])
    assert_true(bool(np.all(ez[0, :] == 0) and np.all(ez[:, 0] == 0)),
                "Ez on the PEC walls at index 0 must be zero after the step")
    assert_true(sub["inputs_untouched"] is True, "step must not modify the state it is given (return a new one)")
