"""Entropy, cross-entropy, KL: identities, closed forms vs. Monte Carlo, and KL's asymmetry."""

import numpy as np
import pytest

from hyperion.foundations import probability as pr


def test_discrete_entropy_identities():
    p = np.array([0.5, 0.25, 0.25, 0.0])
    q = np.array([0.1, 0.2, 0.3, 0.4])
    assert pr.entropy(p) == pytest.approx(1.5 * np.log(2))  # 0 log 0 = 0
    assert pr.entropy(np.full(8, 1 / 8)) == pytest.approx(np.log(8))  # uniform: the maximum
    assert pr.cross_entropy(p, q) == pytest.approx(pr.entropy(p) + pr.kl_divergence(p, q))
    assert pr.kl_divergence(p, p) == pytest.approx(0.0, abs=1e-15)
    assert pr.kl_divergence(q, p) == np.inf  # q puts mass where p has none
    assert pr.kl_divergence(p, q) != pytest.approx(pr.kl_divergence(q[::-1], p[::-1]))


def test_gibbs_inequality_on_random_distributions():
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(6), size=200), rng.dirichlet(np.ones(6), size=200)
    kl = pr.kl_divergence(p, q)
    assert kl.shape == (200,) and np.all(kl > 0)
    torch = pytest.importorskip("torch")
    want = torch.nn.functional.kl_div(torch.tensor(np.log(q)), torch.tensor(p), reduction="none").sum(-1)
    np.testing.assert_allclose(kl, want.numpy(), rtol=1e-12)


def test_bad_distributions_are_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        pr.entropy([0.5, 0.6])
    with pytest.raises(ValueError, match="negative"):
        pr.entropy([1.5, -0.5])
    with pytest.raises(ValueError, match="outcomes"):
        pr.kl_divergence([0.5, 0.5], [1.0, 0.0, 0.0])


def test_gaussian_closed_forms_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    (m0, c0), (m1, c1) = pr._random_gaussian(rng, 4), pr._random_gaussian(rng, 4)
    p = torch.distributions.MultivariateNormal(torch.tensor(m0), torch.tensor(c0))
    q = torch.distributions.MultivariateNormal(torch.tensor(m1), torch.tensor(c1))
    assert pr.gaussian_entropy(m0, c0) == pytest.approx(float(p.entropy()), rel=1e-12)
    assert pr.kl_gaussians(m0, c0, m1, c1) == pytest.approx(float(torch.distributions.kl_divergence(p, q)),
                                                           rel=1e-10)
    x = rng.standard_normal((5, 4))
    np.testing.assert_allclose(pr.gaussian_log_density(x, m1, c1), q.log_prob(torch.tensor(x)).numpy(),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="positive definite"):
        pr.gaussian_entropy(np.zeros(2), -np.eye(2))


def test_diagonal_kl_matches_full_kl_and_broadcasts():
    rng = np.random.default_rng(2)
    mp, mq = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    vp, vq = rng.uniform(0.2, 2, (3, 5)), rng.uniform(0.2, 2, (3, 5))
    got = pr.kl_diagonal_gaussians(mp, vp, mq, vq)
    assert got.shape == (3,)
    want = [pr.kl_gaussians(mp[i], np.diag(vp[i]), mq[i], np.diag(vq[i])) for i in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # against a standard normal, as in a VAE: the prior's mean and variance broadcast
    np.testing.assert_allclose(pr.kl_diagonal_gaussians(mp, vp, 0.0, 1.0),
                               0.5 * np.sum(vp + mp**2 - 1 - np.log(vp), axis=-1), rtol=1e-12)
    assert pr.kl_diagonal_gaussians(mp, vp, mp, vp) == pytest.approx(np.zeros(3), abs=1e-15)
    with pytest.raises(ValueError, match="variance"):
        pr.kl_diagonal_gaussians(mp, -vp, mq, vq)


def test_monte_carlo_intervals_cover_the_closed_forms():
    result = pr.monte_carlo_experiment(dim=3, samples=2000, repeats=200, seed=0)
    # coverage of a 95% interval over 200 repeats: sd 0.015, so [0.90, 0.99] is a ±3 sd band
    for name, coverage in result["coverage"].items():
        assert 0.90 <= coverage <= 0.99, (name, coverage)
    first = result["first"]["kl"]
    assert first["low"] <= result["closed"]["kl"] <= first["high"]
    # the spread of the estimates across repeats matches the standard error each repeat reports
    assert np.std(result["estimates"]["kl"]) == pytest.approx(first["se"], rel=0.2)


def test_monte_carlo_interval_rejects_a_wrong_closed_form():
    # a formula missing the log-det term is far outside the intervals: the check can fail
    result = pr.monte_carlo_experiment(dim=3, samples=2000, repeats=20, seed=0)
    first = result["first"]["entropy"]
    wrong = 0.5 * 3 * np.log(2 * np.pi * np.e)
    assert not first["low"] <= wrong <= first["high"]


def test_mixture_density_normalises_and_moments():
    p = pr.bimodal_target(3.0)
    x = np.linspace(-15, 15, 300001)
    density = np.exp(p.log_density(x))
    assert np.trapezoid(density, x) == pytest.approx(1.0, abs=1e-9)
    assert np.trapezoid(x**2 * density, x) == pytest.approx(p.variance(), rel=1e-9)


def test_forward_kl_covers_both_modes_reverse_kl_picks_one():
    result = pr.kl_asymmetry_experiment(separation=3.0)
    forward, reverse = result["forward"], result["reverse"]
    assert forward["mean"] == pytest.approx(0.0, abs=1e-3)  # between the modes
    assert forward["std"] == pytest.approx(np.sqrt(10.0), rel=1e-3)  # moment matching: 1 + s²
    assert abs(reverse["mean"]) == pytest.approx(3.0, abs=0.1)  # on one mode
    assert reverse["std"] == pytest.approx(1.0, abs=0.1)
    # a one-mode fit pays about log 2 (it ignores half the mass); the broad fit pays more
    assert result["reverse_kl_of_reverse_fit"] == pytest.approx(np.log(2), abs=0.02)
    assert result["reverse_kl_of_forward_fit"] > result["reverse_kl_of_reverse_fit"] + 0.1


def test_reverse_kl_quadrature_agrees_with_scipy():
    integrate = pytest.importorskip("scipy.integrate")
    p = pr.bimodal_target(3.0)
    for mean, std in ((-3.0, 1.0), (0.5, 2.5), (2.0, 0.4)):
        def integrand(x, mean=mean, std=std):
            log_q = -0.5 * ((x - mean) / std) ** 2 - np.log(std * np.sqrt(2 * np.pi))
            return np.exp(log_q) * (log_q - p.log_density(np.array(x)))
        want, _ = integrate.quad(integrand, mean - 12 * std, mean + 12 * std, epsabs=1e-12, limit=200)
        assert pr._reverse_kl(p, np.array(mean), np.array(std)) == pytest.approx(want, abs=1e-7)
