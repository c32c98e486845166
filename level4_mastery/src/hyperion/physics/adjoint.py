"""Gradients of a TMz FDTD run with respect to the ε map, four ways, and the Hyperion Function.

The run: a lossless ε map, a source current, ``steps`` leapfrog steps; its output is the running DFT
``Ẽ_f,m = Σ_n Ez^n[m] e^{iω_f nΔt} Δt`` at monitor cells m (returned as real and imaginary parts).
Given ``g = ∂L/∂Re Ẽ + i ∂L/∂Im Ẽ`` the loss seen by each field sample is ``∂L/∂Ez^n = Re(ḡ e^{iωnΔt}) Δt``
and the adjoint runs backwards from step T: ``λ^n = Aᵀ λ^{n+1} + ∂L/∂Ez^n``. Since
``Ez^{n+1} = Ez^n + cb (curl H - J)`` with ``cb = Δt/ε``, the gradient is

    ∂L/∂ε = -(cb/ε) Σ_n λ_E^{n+1} (Ez^{n+1} - Ez^n) / cb.

The backward pass needs Ez^n in reverse order. Three ways to have it:

* ``"store"``: keep every Ez^n (memory T · cells; the simplest, a reference);
* ``"checkpoint"``: keep the full state every K ≈ √T steps and recompute each segment (memory
  (√T) · cells, one extra forward run);
* ``"reverse"``: run the update backwards from the final state (time reversal), restoring the CPML
  band from a recording made during the forward run (memory T · band cells).

The fourth, the oracle, is :func:`unrolled_dft`: the same loop written with Hyperion tensors, so that
Hyperion's autograd differentiates it (small grids only: the graph holds every step).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperion.physics import tmz
from hyperion.tensor import Function, Tensor, cat, stack, tensor


@dataclass
class TMzProblem:
    """What is fixed while ε changes: grid, source (profile × waveform), steps, monitors, frequencies."""

    grid: tmz.TMzGrid
    source: np.ndarray  # J_z profile over the grid
    waveform: Callable[[Any], Any]
    steps: int
    monitor: tuple[np.ndarray, np.ndarray]  # (i, j) index arrays of the monitored cells
    omegas: np.ndarray

    def current(self, n: int) -> np.ndarray:
        """J^{n+½}: the source current used by step n → n+1."""
        return self.source * float(self.waveform((n + 0.5) * self.grid.dt))

    def weights(self, n: int) -> np.ndarray:
        """e^{iω nΔt} Δt per frequency: the DFT weight of Ez^n."""
        return np.exp(1j * self.omegas * n * self.grid.dt) * self.grid.dt


def run_forward(problem: TMzProblem, eps: np.ndarray, keep: str = "none") -> tuple[np.ndarray, Any]:
    """The DFT at the monitors, and what the chosen gradient method keeps for the backward pass."""
    grid = problem.grid
    cb = grid.dt / eps
    state = tmz.zero_state(grid)
    dft = np.zeros((problem.omegas.size, problem.monitor[0].size), complex)
    every = max(1, math.isqrt(problem.steps))
    kept: dict[str, Any] = {"history": [state[0]], "checkpoints": {0: state}, "band": []}
    band = grid.band()
    for n in range(problem.steps):
        if keep == "reverse":
            kept["band"].append([field[band] for field in state])
        state = tmz.step(grid, cb, state, problem.current(n))
        dft += np.outer(problem.weights(n + 1), state[0][problem.monitor])
        if keep == "store":
            kept["history"].append(state[0])
        elif keep == "checkpoint" and (n + 1) % every == 0:
            kept["checkpoints"][n + 1] = state
    kept["final"], kept["every"] = state, every
    return dft, kept


def _ez_in_reverse(problem: TMzProblem, cb: np.ndarray, kept: dict, method: str):
    """Yields (n, Ez^n) for n = T, T-1, ..., 0, by the chosen method."""
    grid, steps = problem.grid, problem.steps
    if method == "store":
        for n in range(steps, -1, -1):
            yield n, kept["history"][n]
    elif method == "checkpoint":
        starts = sorted(start for start in kept["checkpoints"] if start < steps)
        yield steps, kept["final"][0]
        for start in reversed(starts):
            stop = min(start + kept["every"], steps)
            state, segment = kept["checkpoints"][start], [kept["checkpoints"][start][0]]
            for n in range(start, stop - 1):
                state = tmz.step(grid, cb, state, problem.current(n))
                segment.append(state[0])
            for offset in range(len(segment) - 1, -1, -1):
                yield start + offset, segment[offset]
    elif method == "reverse":
        band = grid.band()
        state = [field.copy() for field in kept["final"]]
        yield steps, state[0]
        for n in range(steps - 1, -1, -1):
            state = tmz.inverse_step(grid, cb, state, problem.current(n))
            for field, recorded in zip(state, kept["band"][n]):
                field[band] = recorded
            yield n, state[0]
    else:
        raise ValueError(f"unknown gradient method {method!r}: use 'store', 'checkpoint' or 'reverse'")


def gradient(problem: TMzProblem, eps: np.ndarray, g: np.ndarray, method: str = "checkpoint",
             kept: dict | None = None) -> np.ndarray:
    """∂L/∂ε for ``g = ∂L/∂Re Ẽ + i ∂L/∂Im Ẽ`` (shape: frequencies × monitors), by ``method``.

    ``kept``: what ``run_forward(problem, eps, keep=method)`` kept, if the forward run was already made.
    """
    if method not in ("store", "checkpoint", "reverse"):
        raise ValueError(f"unknown gradient method {method!r}: use 'store', 'checkpoint' or 'reverse'")
    grid = problem.grid
    cb = grid.dt / eps
    if kept is None:
        _, kept = run_forward(problem, eps, keep=method)
    bar = tmz.zero_state(grid)
    grad_cb = np.zeros(grid.shape)
    later: np.ndarray | None = None
    for n, ez in _ez_in_reverse(problem, cb, kept, method):
        if later is not None:  # bar is ∂L/∂state^{n+1}: the step n → n+1 used cb
            grad_cb += bar[0] * (later - ez) / cb
            bar = tmz.adjoint_step(grid, cb, bar)
        if n > 0:
            bar[0][problem.monitor] += np.real(np.conj(g).T @ problem.weights(n))
        later = ez
    return -grad_cb * cb / eps


def gradient_frequency_domain(problem: TMzProblem, eps: np.ndarray, g: np.ndarray, adjoint_steps: int,
                              window: int) -> np.ndarray:
    """∂L/∂ε from two runs whose memory does not grow with T: the frequency-domain adjoint.

    Run 1 (forward) keeps the DFT of Ez over the whole grid. Run 2 drives the adjoint update (the
    transpose, stepping backwards in time) with the time-harmonic source ``Re(ḡ e^{iωnΔt})Δt`` until
    it is periodic, and takes its complex amplitude Λ over the last ``window`` steps. Then
    ``Σ_n λ^{n+1}(Ez^{n+1} - Ez^n) = Re(Λ (1 - e^{iωΔt}) Ẽ/Δt)``: exact when the forward fields have
    died out by step T and the adjoint has reached its steady state; otherwise approximate.
    """
    grid = problem.grid
    cb = grid.dt / eps
    state = tmz.zero_state(grid)
    field_dft = np.zeros((problem.omegas.size,) + grid.shape, complex)
    for n in range(problem.steps):
        state = tmz.step(grid, cb, state, problem.current(n))
        field_dft += problem.weights(n + 1)[:, None, None] * state[0]
    bar = tmz.zero_state(grid)
    amplitude = np.zeros_like(field_dft)
    ramp = adjoint_steps - window
    for k in range(adjoint_steps):
        if k > 0:
            bar = tmz.adjoint_step(grid, cb, bar)
        envelope = 0.5 * (1 - np.cos(np.pi * k / ramp)) if k < ramp else 1.0
        phases = np.exp(-1j * problem.omegas * k * grid.dt)
        bar[0][problem.monitor] += envelope * np.real(np.conj(g).T @ phases) * grid.dt
        if k >= ramp:
            amplitude += (2.0 / window) * np.conj(phases)[:, None, None] * bar[0]
    shift = (1 - np.exp(1j * problem.omegas * grid.dt))[:, None, None]
    grad_cb = np.sum(np.real(amplitude * shift * field_dft), axis=0) / grid.dt / cb
    return -grad_cb * cb / eps


class TMzFDTD(Function):
    """Hyperion autograd Function: ε map (nx, ny) → DFT at the monitors as (2, frequencies, monitors)."""

    def forward(self, eps: np.ndarray, problem: TMzProblem | None = None, method: str = "checkpoint") -> np.ndarray:
        if problem is None:
            raise ValueError("TMzFDTD needs problem=TMzProblem(...)")
        if np.any(eps <= 0):
            raise ValueError("permittivity must be positive everywhere")
        self.problem, self.method, self.eps = problem, method, np.asarray(eps, np.float64)
        dft, self.kept = run_forward(problem, self.eps, keep=method)
        return np.stack([dft.real, dft.imag])

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return gradient(self.problem, self.eps, grad[0] + 1j * grad[1], self.method, self.kept)


def fdtd_dft(eps: Tensor, problem: TMzProblem, method: str = "checkpoint") -> Tensor:
    """The differentiable run: ``TMzFDTD.apply`` on a Hyperion tensor."""
    return TMzFDTD.apply(eps, problem=problem, method=method)


# ---- the oracle: the same loop in Hyperion tensors, differentiated by Hyperion's autograd -----
def _dplus(f: Tensor, axis: int) -> Tensor:
    if axis == 0:
        return cat([f[1:] - f[:-1], -f[-1:]], 0)
    return cat([f[:, 1:] - f[:, :-1], -f[:, -1:]], 1)


def _dminus(f: Tensor, axis: int) -> Tensor:
    if axis == 0:
        return cat([f[:1], f[1:] - f[:-1]], 0)
    return cat([f[:, :1], f[:, 1:] - f[:, :-1]], 1)


def unrolled_dft(eps: Tensor, problem: TMzProblem) -> Tensor:
    """The forward run as a Hyperion graph (every step recorded): the gradient oracle for small grids."""
    grid = problem.grid
    dt = grid.dt
    cb = eps.reciprocal() * dt if hasattr(eps, "reciprocal") else (eps**-1) * dt
    zero = tensor(np.zeros(grid.shape))
    ez, hx, hy, p_hxy, p_hyx, p_ezx, p_ezy = (zero,) * 7
    mask = np.ones(grid.shape)
    mask[0, :] = 0.0
    mask[:, 0] = 0.0
    mask_t = tensor(mask)
    consts = {name: tuple(tensor(np.broadcast_to(a, grid.shape).copy()) for a in grid.profile(name))
              for name in ("hx_y", "hy_x", "ez_x", "ez_y")}
    re_parts, im_parts = [], []
    i, j = problem.monitor
    for n in range(problem.steps):
        b, c, k = consts["hx_y"]
        d = _dplus(ez, 1)
        p_hxy = b * p_hxy + c * d
        hx = hx - (d / k + p_hxy) * dt
        b, c, k = consts["hy_x"]
        d = _dplus(ez, 0)
        p_hyx = b * p_hyx + c * d
        hy = hy + (d / k + p_hyx) * dt
        bx, cx, kx = consts["ez_x"]
        by, cy, ky = consts["ez_y"]
        a, bb = _dminus(hy, 0), _dminus(hx, 1)
        p_ezx = bx * p_ezx + cx * a
        p_ezy = by * p_ezy + cy * bb
        ez = (ez + cb * (a / kx + p_ezx - bb / ky - p_ezy - tensor(problem.current(n)))) * mask_t
        w = problem.weights(n + 1)
        samples = stack([ez[int(x), int(y)] for x, y in zip(i, j)])
        re_parts.append(stack([samples * float(wf.real) for wf in w]))
        im_parts.append(stack([samples * float(wf.imag) for wf in w]))
    total_re = re_parts[0]
    total_im = im_parts[0]
    for r, m in zip(re_parts[1:], im_parts[1:]):
        total_re, total_im = total_re + r, total_im + m
    return stack([total_re, total_im])
