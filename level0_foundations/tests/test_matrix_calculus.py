"""Experiment 1: closed-form gradients and Jacobians agree with finite differences and with PyTorch."""

import numpy as np
import pytest

from hyperion.foundations.gradcheck import gradcheck
from hyperion.foundations.matrix_calculus import (
    chain_forward,
    chain_jvp,
    chain_vjp,
    check_identities,
    directional_derivative,
    init_chain,
    jacobian_by_jvp,
    jacobian_by_vjp,
    layer_norm,
    layer_norm_jacobian,
    least_squares,
    least_squares_grad,
    logdet,
    logdet_grad,
    mode_costs,
    numerical_jacobian,
    softmax_jacobian,
    softmax_vjp,
    trace_ax,
    trace_ax_grad,
)

torch = pytest.importorskip("torch")
jacobian = torch.autograd.functional.jacobian


def test_every_identity_agrees_with_finite_differences():
    for seed in range(3):
        errors = check_identities(seed=seed)
        assert set(errors) >= {"trace", "least_squares_x", "least_squares_A", "logdet", "softmax",
                               "layer_norm", "softmax_vjp", "jvp"}
        for name, error in errors.items():
            assert error < 1e-7, (seed, name, error)


def test_scalar_gradients_pass_gradcheck_and_a_wrong_one_fails():
    rng = np.random.default_rng(4)
    A, X = rng.standard_normal((4, 3)), rng.standard_normal((3, 4))
    x, b = rng.standard_normal(3), rng.standard_normal(4)
    assert gradcheck(trace_ax, [A, X], [None, trace_ax_grad(A, X)])
    gx, gA = least_squares_grad(A, x, b)
    assert gradcheck(least_squares, [A, x, b], [gA, gx, None])
    M = rng.standard_normal((4, 4))  # any sign of det: the gradient of log|det| is still X^-T
    assert gradcheck(logdet, [M], [logdet_grad(M)])
    with pytest.raises(AssertionError):
        gradcheck(logdet, [M], [np.linalg.inv(M)])  # forgot the transpose


def test_gradients_match_torch_autograd():
    rng = np.random.default_rng(5)
    A, x, b = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(5)
    M = rng.standard_normal((4, 4)) + 4 * np.eye(4)
    tA, tx, tb, tM = (torch.tensor(v, requires_grad=True) for v in (A, x, b, M))
    torch.sum((tA @ tx - tb) ** 2).backward()
    torch.linalg.slogdet(tM)[1].backward()
    gx, gA = least_squares_grad(A, x, b)
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gA, tA.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(logdet_grad(M), tM.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_softmax_and_layer_norm_jacobians_match_torch():
    rng = np.random.default_rng(6)
    for n in (1, 2, 7):
        x = 2 * rng.standard_normal(n)
        j_soft = jacobian(lambda t: torch.softmax(t, 0), torch.tensor(x)).numpy()
        np.testing.assert_allclose(softmax_jacobian(x), j_soft, rtol=1e-12, atol=1e-14)
        j_ln = jacobian(lambda t, n=n: torch.nn.functional.layer_norm(t, (n,), eps=1e-5), torch.tensor(x)).numpy()
        np.testing.assert_allclose(layer_norm_jacobian(x), j_ln, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(layer_norm(x), torch.nn.functional.layer_norm(torch.tensor(x), (n,)).numpy(),
                                   rtol=1e-9, atol=1e-12)


def test_softmax_jacobian_structure_batched_and_stable():
    rng = np.random.default_rng(7)
    x = 3 * rng.standard_normal((2, 3, 5))
    J = softmax_jacobian(x)
    assert J.shape == (2, 3, 5, 5)
    np.testing.assert_allclose(J, np.swapaxes(J, -1, -2), atol=1e-15)  # symmetric
    np.testing.assert_allclose(J.sum(axis=-1), 0, atol=1e-15)  # a shift of all logits changes nothing
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(J[i, j], numerical_jacobian(lambda z: np.exp(z) / np.exp(z).sum(), x[i, j]),
                                       atol=1e-8)
    big = np.array([1000.0, 999.0, -1000.0])
    Jb = softmax_jacobian(big)
    assert np.all(np.isfinite(Jb))
    np.testing.assert_allclose(Jb, softmax_jacobian(big - 1000.0), atol=1e-15)


def test_softmax_vjp_is_u_times_the_jacobian_without_building_it():
    rng = np.random.default_rng(8)
    x, u = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    want = np.einsum("bi,bij->bj", u, softmax_jacobian(x))
    np.testing.assert_allclose(softmax_vjp(x, u), want, rtol=1e-12, atol=1e-15)
    tx = torch.tensor(x, requires_grad=True)
    torch.softmax(tx, 1).backward(torch.tensor(u))
    np.testing.assert_allclose(softmax_vjp(x, u), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="shape"):
        softmax_vjp(x, u[:, :3])


def test_forward_and_reverse_mode_build_the_same_jacobian_as_torch_and_fd():
    weights = init_chain([6, 5, 4, 3], seed=9)
    x = np.random.default_rng(9).standard_normal(6)
    jf, jr = jacobian_by_jvp(weights, x), jacobian_by_vjp(weights, x)
    assert jf.shape == jr.shape == (3, 6)
    np.testing.assert_allclose(jf, jr, atol=1e-14)
    np.testing.assert_allclose(jf, numerical_jacobian(lambda z: chain_forward(weights, z)[0], x), atol=1e-8)
    tw = [torch.tensor(W) for W in weights]

    def f(t):
        for W in tw[:-1]:
            t = torch.tanh(W @ t)
        return tw[-1] @ t

    np.testing.assert_allclose(jf, jacobian(f, torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-14)


def test_jvp_is_a_directional_derivative_and_vjp_a_row_combination():
    weights = init_chain([5, 8, 2], seed=10)
    rng = np.random.default_rng(10)
    x, v, u = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(2)
    J = jacobian_by_jvp(weights, x)
    out, jv = chain_jvp(weights, x, v)
    np.testing.assert_allclose(out, chain_forward(weights, x)[0], atol=1e-15)
    np.testing.assert_allclose(jv, J @ v, atol=1e-14)
    np.testing.assert_allclose(jv, directional_derivative(lambda z: chain_forward(weights, z)[0], x, v), atol=1e-8)
    np.testing.assert_allclose(chain_vjp(weights, x, u), u @ J, atol=1e-14)


def test_reverse_mode_needs_one_forward_and_one_backward_pass_per_output(monkeypatch):
    import hyperion.foundations.matrix_calculus as mc

    calls = {"forward": 0, "jvp": 0, "vjp": 0}
    for name, key in (("chain_forward", "forward"), ("chain_jvp", "jvp"), ("chain_vjp", "vjp")):
        original = getattr(mc, name)

        def counted(*args, _original=original, _key=key, **kwargs):
            calls[_key] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(mc, name, counted)
    weights = init_chain([9, 6, 2], seed=11)
    x = np.ones(9)
    mc.jacobian_by_vjp(weights, x)
    assert calls == {"forward": 1, "jvp": 0, "vjp": 2}
    mc.jacobian_by_jvp(weights, x)
    assert calls["jvp"] == 9


def test_mode_costs_reports_both_jacobians_agree():
    result = mode_costs(n_in=16, n_outs=(1, 16), width=8, depth=2, repeats=1)
    for row in result["rows"]:
        assert row["max_difference"] < 1e-13
        assert row["forward_passes"] == 16 and row["reverse_passes"] == row["n_out"]
        assert row["forward_s"] > 0 and row["reverse_s"] > 0
