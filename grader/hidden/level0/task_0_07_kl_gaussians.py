"""Task 0.7: kl_diagonal_gaussians, the closed-form KL between diagonal Gaussians: values against an
independent full-covariance formula in the judge, zero for equal arguments, broadcasting of batches
and of a standard-normal prior, float64 results, asymmetry."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "0.7"
TITLE = "KL divergence of diagonal Gaussians"
POINTS = 6
TIMEOUT = 60


def _inputs(seed, shape):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape), rng.uniform(0.1, 3.0, shape),
            rng.standard_normal(shape), rng.uniform(0.1, 3.0, shape))


def _full_kl(m0, v0, m1, v1):
    """KL(N0‖N1) with full covariances: ½[tr(Σ1⁻¹Σ0) + Δᵀ Σ1⁻¹ Δ - d + ln det Σ1 - ln det Σ0]."""
    s0, s1 = np.diag(v0), np.diag(v1)
    inv = np.linalg.inv(s1)
    d = m1 - m0
    return 0.5 * (np.trace(inv @ s0) + d @ inv @ d - m0.size
                  + np.linalg.slogdet(s1)[1] - np.linalg.slogdet(s0)[1])


@probe
def values():
    from hyperion.foundations.probability import kl_diagonal_gaussians

    one = kl_diagonal_gaussians(*_inputs(1, (5,)))
    batch = kl_diagonal_gaussians(*_inputs(2, (4, 3, 6)))
    mp, vp, mq, vq = _inputs(3, (7,))
    return {
        "one": np.asarray(one, dtype=np.float64),
        "batch": np.asarray(batch),
        "same": np.asarray(kl_diagonal_gaussians(mp, vp, mp, vp), dtype=np.float64),
        "forward": np.asarray(kl_diagonal_gaussians(mp, vp, mq, vq), dtype=np.float64),
        "backward": np.asarray(kl_diagonal_gaussians(mq, vq, mp, vp), dtype=np.float64),
        "prior": np.asarray(kl_diagonal_gaussians(*_inputs(4, (3, 5))[:2], 0.0, 1.0)),
        "lists": np.asarray(kl_diagonal_gaussians([0.0, 1.0], [1.0, 2.0], [0.5, 0.5], [2.0, 1.0]),
                            dtype=np.float64),
    }


def check_values(sub, ref):
    assert_close(sub["one"], _full_kl(*_inputs(1, (5,))), rtol=1e-10, atol=1e-12, name="KL of two 5-D Gaussians")
    mp, vp, mq, vq = _inputs(2, (4, 3, 6))
    got = sub["batch"]
    assert_true(got.shape == (4, 3), f"a batch of (4, 3) Gaussians in 6-D gave shape {got.shape}, expected "
                "(4, 3): sum over the last axis only")
    want = np.array([[_full_kl(mp[i, j], vp[i, j], mq[i, j], vq[i, j]) for j in range(3)] for i in range(4)])
    assert_close(got, want, rtol=1e-10, atol=1e-12, name="a batch of KLs")
    assert_close(sub["same"], 0.0, rtol=0, atol=1e-12, name="KL(p‖p)")
    mp, vp, mq, vq = _inputs(3, (7,))
    assert_close(sub["forward"], _full_kl(mp, vp, mq, vq), rtol=1e-10, atol=1e-12, name="KL(p‖q)")
    assert_close(sub["backward"], _full_kl(mq, vq, mp, vp), rtol=1e-10, atol=1e-12, name="KL(q‖p)")
    m, v = _inputs(4, (3, 5))[:2]
    prior = sub["prior"]
    assert_true(prior.shape == (3,), f"against a scalar N(0, 1) prior: shape {prior.shape}, expected (3,)")
    assert_close(prior, 0.5 * np.sum(v + m**2 - 1 - np.log(v), axis=-1), rtol=1e-10, atol=1e-12,
                 name="KL against a standard normal (the VAE term)")
    assert_close(sub["lists"], _full_kl(np.array([0.0, 1.0]), np.array([1.0, 2.0]), np.array([0.5, 0.5]),
                                        np.array([2.0, 1.0])), rtol=1e-10, atol=1e-12, name="KL of lists")
