"""Burgers' equation data: ``u_t + (u^2/2)_x = nu u_xx`` on the periodic [0, 1), solved pseudo-spectrally.

Li et al. (2021) draw ``u0 ~ N(0, 625 (-Delta + 25 I)^-2)``, solve to ``T = 1`` with ``nu = 0.1`` at
``s = 8192`` points and subsample. We do the same with ETDRK4 (Cox & Matthews 2002), whose
coefficients are computed by the contour integrals of Kassam & Trefethen (2005): the stiff linear
part ``-nu k^2`` is integrated exactly, the nonlinear term ``-i k/2 FFT(u^2)`` (2/3-rule dealiased) to
fourth order in the step ``dt``.

Everything is batched over samples (rows) and written against an array module ``xp``: numpy on the
CPU, CuPy on a GPU -- the same code generates the CI set and the full set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any


def sample_initial(count: int, s: int, rng: np.random.Generator, xp: Any = np, mean_mode: bool = False) -> Array:
    """``count`` draws of ``u0 ~ N(0, 625 (-Delta + 25 I)^-2)`` on ``s`` points of [0, 1), shape (count, s).

    The covariance is diagonal in the Fourier basis ``1, sqrt(2) cos(2 pi k x), sqrt(2) sin(2 pi k x)``
    with eigenvalues ``625 / (4 pi^2 k^2 + 25)^2``; modes 1 .. s/2 - 1 are drawn (host random numbers,
    so CPU and GPU give the same data). The constant mode (eigenvalue 1: a mean of standard deviation
    1) is in the paper's formula but not in the authors' generator (``GRF1`` draws k = 1 .. N around
    a mean m = 0); it is left out unless ``mean_mode``. It matters: by t = 1 the other modes have
    decayed ~50x, so with a mean of size 1 the target is nearly constant and relative errors shrink.
    """
    k = np.arange(s // 2 + 1)
    std = 25.0 / (4 * np.pi**2 * k**2 + 25.0)
    std[s // 2 :] = 0.0  # no Nyquist mode: a real signal cannot carry its sine part
    if not mean_mode:
        std[0] = 0.0
    xi = rng.standard_normal((count, s // 2 + 1)) + 1j * rng.standard_normal((count, s // 2 + 1))
    coefficients = s * std / np.sqrt(2) * xi
    coefficients[:, 0] = s * std[0] * xi[:, 0].real
    return xp.fft.irfft(xp.asarray(coefficients), n=s, axis=-1)


def etdrk4_coefficients(lin: Array, dt: float, xp: Any = np, points: int = 32) -> tuple[Array, ...]:
    """``E, E2, Q, f1, f2, f3`` of ETDRK4 for the diagonal linear operator ``lin`` (Kassam & Trefethen)."""
    hl = dt * lin
    roots = xp.exp(1j * np.pi * (xp.arange(1, points + 1) - 0.5) / points)
    lr = hl[:, None] + roots[None, :]  # contour points around each dt*L: no cancellation near 0

    def mean(values: Array) -> Array:
        return dt * xp.mean(values, axis=1).real

    q = mean((xp.exp(lr / 2) - 1) / lr)
    f1 = mean((-4 - lr + xp.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3)
    f2 = mean((2 + lr + xp.exp(lr) * (lr - 2)) / lr**3)
    f3 = mean((-4 - 3 * lr - lr**2 + xp.exp(lr) * (4 - lr)) / lr**3)
    return xp.exp(hl), xp.exp(hl / 2), q, f1, f2, f3


def solve(u0: Array, nu: float = 0.1, t_end: float = 1.0, dt: float = 1e-3, xp: Any = np) -> Array:
    """``u(t_end)`` for each row of ``u0`` (shape (count, s), periodic on [0, 1)), by ETDRK4 with step ``dt``."""
    s = u0.shape[-1]
    steps = round(t_end / dt)
    if steps < 1 or abs(steps * dt - t_end) > 1e-9 * max(t_end, 1.0):
        raise ValueError(f"burgers.solve: dt={dt} must divide t_end={t_end} into a whole number of steps")
    k = 2 * np.pi * xp.fft.rfftfreq(s, d=1.0 / s)
    e, e2, q, f1, f2, f3 = etdrk4_coefficients(-nu * k**2, dt, xp)
    dealias = xp.asarray(np.arange(s // 2 + 1) < s / 3)  # 2/3 rule: the quadratic term aliases nothing kept
    g = -0.5j * k * dealias

    def nonlinear(v: Array) -> Array:
        u = xp.fft.irfft(v, n=s, axis=-1)
        return g * xp.fft.rfft(u * u, axis=-1)

    v = xp.fft.rfft(u0, axis=-1)
    for _ in range(steps):
        nv = nonlinear(v)
        a = e2 * v + q * nv
        na = nonlinear(a)
        b = e2 * v + q * na
        nb = nonlinear(b)
        c = e2 * a + q * (2 * nb - nv)
        nc = nonlinear(c)
        v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
    return xp.fft.irfft(v, n=s, axis=-1)


def generate(count: int, s_solve: int, subsample: int, seed: int, nu: float = 0.1, dt: float = 1e-3,
             xp: Any = np, chunk: int = 256, mean_mode: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``count`` pairs ``(u0, u(1))`` solved at ``s_solve`` points and subsampled by ``subsample`` (host float32)."""
    rng = np.random.default_rng(seed)
    inputs, outputs = [], []
    for start in range(0, count, chunk):
        u0 = sample_initial(min(chunk, count - start), s_solve, rng, xp, mean_mode)
        u1 = solve(u0, nu=nu, dt=dt, xp=xp)
        inputs.append(_host(u0[:, ::subsample], xp))
        outputs.append(_host(u1[:, ::subsample], xp))
    return np.concatenate(inputs).astype(np.float32), np.concatenate(outputs).astype(np.float32)


def _host(x: Array, xp: Any) -> np.ndarray:
    return xp.asnumpy(x) if hasattr(xp, "asnumpy") else np.asarray(x)
