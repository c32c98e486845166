"""Gradients of a 3D FDTD run with respect to the interior ε, two ways, as a Hyperion autograd Function.

The run: ε = ``background`` in the CPML and a free map on the interior ``R = [P, n-P)³``, a soft J_z
source with a waveform, ``steps`` leapfrog steps; its output is the running DFT of Ez at monitor cells,
``Ẽ_f,m = Σ_n Ez^n[m] e^{iω_f nΔt} Δt`` (real and imaginary parts). The adjoint runs the transposed step
backwards from T (see ``kernels/adjoint3d.cu``) and

    ∂L/∂cb = Σ_n Ē^{n+1} · ∂E^{n+1}/∂cb = Σ_n Ē^{n+1} · (curl H^{n+½} - J^{n+½}),   cb = Δt/ε.

It needs E^n (or curl H) in reverse order. Two ways to have it without storing all T states:

* ``"reverse"`` (time reversal): run the plain Yee step backwards on R, restoring each step the shell
  recorded during the forward run (memory T · 12 (n-2P)² values, about 16% of one field per step at 256³);
* ``"checkpoint"``: keep the full state every K = ⌊√T⌋ steps, rerun each segment storing its E's
  (memory ~2√T states, one extra forward run).

The oracle is :func:`hyperion.physics.unrolled3d.unrolled_dft3d`: the same loop in Hyperion tensors,
differentiated by Hyperion's autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperion.physics.engines3d import ENGINES, Engine
from hyperion.tensor import Function, Tensor

METHODS = ("reverse", "checkpoint")


@dataclass
class Problem3D:
    """What is fixed while the interior ε changes. ``source``: a region (ints / slices) of R for J_z."""

    shape: tuple[int, int, int]
    pml: int
    source: tuple
    waveform: Callable[[float], float]
    steps: int
    monitor: tuple[np.ndarray, np.ndarray, np.ndarray]
    omegas: np.ndarray
    background: float = 1.0
    courant: float | None = None

    @property
    def interior_shape(self) -> tuple[int, int, int]:
        return tuple(n - 2 * self.pml for n in self.shape)

    def full_eps(self, eps_interior: np.ndarray) -> np.ndarray:
        eps_interior = np.asarray(eps_interior, np.float64)
        if eps_interior.shape != self.interior_shape:
            raise ValueError(f"the interior ε must have shape {self.interior_shape} (the grid less the "
                             f"{self.pml}-cell CPML on each face), got {eps_interior.shape}")
        if np.any(eps_interior <= 0):
            raise ValueError("permittivity must be positive everywhere")
        eps = np.full(self.shape, float(self.background))
        eps[tuple(slice(self.pml, n - self.pml) for n in self.shape)] = eps_interior
        return eps

    def engine(self, backend: str, eps_interior: np.ndarray, dtype: Any = None) -> Engine:
        """The backend's engine for this problem (the one place a backend is chosen)."""
        if backend not in ENGINES:
            raise ValueError(f"unknown backend {backend!r}; known: {sorted(ENGINES)}")
        spans = [np.arange(n)[part] for n, part in zip(self.shape, self.source)]  # each axis's cells
        if len(self.source) != 3 or any(np.size(span) == 0 or np.min(span) < self.pml or np.max(span) >= n - self.pml
                                        for span, n in zip(spans, self.shape)):
            raise ValueError(f"the source region {self.source} must be non-empty and lie inside the interior "
                             f"[{self.pml}, n-{self.pml}) on every axis")
        return ENGINES[backend](self.shape, self.pml, self.courant, self.full_eps(eps_interior), self.source,
                                self.waveform, self.monitor, dtype=dtype)

    def weights(self, n: int, dt: float) -> np.ndarray:
        """e^{iω nΔt} Δt per frequency: the DFT weight of Ez^n."""
        return np.exp(1j * self.omegas * n * dt) * dt

    def weight_table(self, first: int, count: int, dt: float) -> np.ndarray:
        """:meth:`weights` for n = first, ..., first + count - 1 as columns (frequencies × count)."""
        return np.exp(1j * np.outer(self.omegas, np.arange(first, first + count)) * dt) * dt


def run_forward(problem: Problem3D, eps_interior: np.ndarray, backend: str = "numpy", keep: str | None = None,
                dtype: Any = None, engine: Engine | None = None) -> tuple[np.ndarray, dict]:
    """The DFT at the monitors (frequencies × monitors, complex) and what ``keep`` (a method) needs later.

    ``engine``: one made by ``problem.engine(backend, eps_interior, dtype)`` beforehand (benchmarks time the
    set-up apart); by default a new one.
    """
    if keep is not None and keep not in METHODS:
        raise ValueError(f"unknown gradient method {keep!r}: use one of {METHODS}")
    engine = engine or problem.engine(backend, eps_interior, dtype)
    xp, steps = engine.xp, problem.steps
    state = engine.zero_state()
    samples = xp.zeros((steps, len(problem.monitor[0])), engine.dtype)
    every = max(1, math.isqrt(steps))
    kept: dict[str, Any] = {"engine": engine, "every": every}
    if keep == "checkpoint":
        kept["checkpoints"] = {0: engine.copy(state)}
    if keep == "reverse":
        kept["shell"] = xp.empty((steps, engine.shell_size), engine.dtype)
    for n in range(steps):
        if keep == "reverse":
            engine.record(state, kept["shell"][n])
        engine.step(state, n)
        engine.sample(state, samples[n])
        if keep == "checkpoint" and (n + 1) % every == 0 and n + 1 < steps:
            kept["checkpoints"][n + 1] = engine.copy(state)
    kept["final"] = state
    table = problem.weight_table(1, steps, engine.dt)
    return table @ engine.to_host(samples).astype(np.float64), kept


def gradient(problem: Problem3D, eps_interior: np.ndarray, g: np.ndarray, backend: str = "numpy",
             method: str = "reverse", kept: dict | None = None, dtype: Any = None, to_host: bool = True) -> Any:
    """∂L/∂ε on the interior for ``g = ∂L/∂Re Ẽ + i ∂L/∂Im Ẽ`` (frequencies × monitors), by ``method``:
    float64 numpy, or (``to_host=False``) on the engine's device in its dtype.

    ``kept``: what ``run_forward(..., keep=method)`` kept (used up: time reversal runs its final state back,
    checkpointing takes each checkpoint as the start of its segment's rerun, without a copy).
    """
    if method not in METHODS:
        raise ValueError(f"unknown gradient method {method!r}: use one of {METHODS}")
    if kept is None:
        _, kept = run_forward(problem, eps_interior, backend, keep=method, dtype=dtype)
    engine: Engine = kept["engine"]
    xp, steps = engine.xp, problem.steps
    # ∂L/∂Ez^n at the monitors: Re(ḡ e^{iωnΔt}) Δt summed over frequencies
    loads = xp.asarray(np.ascontiguousarray(np.real(np.conj(g).T @ problem.weight_table(0, steps + 1, engine.dt)).T,
                                            engine.dtype))  # on the device once (a copy per step would wait for the
    # queue), C-ordered: each step's row is contiguous
    adjoint = engine.zero_adjoint()
    grad = xp.zeros(engine.shape, engine.dtype)
    engine.inject(adjoint, loads[steps])
    if method == "reverse":
        state = kept["final"]
        for n in range(steps - 1, -1, -1):
            engine.reverse_step(state, adjoint, grad, n, kept["shell"][n])
            if n > 0:
                engine.inject(adjoint, loads[n])
    else:
        every, field = kept["every"], engine.segment_field  # the segment keeps every E (or every H) it makes
        segment = xp.empty((every + 1, 3) + engine.shape, engine.dtype)
        for start in sorted(kept["checkpoints"], reverse=True):
            stop = min(start + every, steps)
            state = kept["checkpoints"].pop(start)
            segment[0] = getattr(state, field)
            setattr(state, field, segment[0])
            for n in range(start, stop):
                engine.step_into(state, n, segment[n + 1 - start])
            for n in range(stop - 1, start - 1, -1):
                engine.adjoint_step(adjoint, grad, segment[n + 1 - start], segment[n - start], n)
                if n > 0:
                    engine.inject(adjoint, loads[n])
    return engine.eps_gradient(grad, to_host)


class FDTD3D(Function):
    """Hyperion autograd Function: interior ε (n-2P)³ → DFT at the monitors as (2, frequencies, monitors)."""

    def forward(self, eps: np.ndarray, problem: Problem3D | None = None, method: str = "reverse",
                backend: str = "numpy") -> np.ndarray:
        if problem is None:
            raise ValueError("FDTD3D needs problem=Problem3D(...)")
        self.problem, self.method, self.backend, self.eps = problem, method, backend, np.asarray(eps, np.float64)
        dft, self.kept = run_forward(problem, self.eps, backend, keep=method)
        return np.stack([dft.real, dft.imag])

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return gradient(self.problem, self.eps, grad[0] + 1j * grad[1], self.backend, self.method, self.kept)


def fdtd3d_dft(eps: Tensor, problem: Problem3D, method: str = "reverse", backend: str = "numpy") -> Tensor:
    """The differentiable 3D run: ``FDTD3D.apply`` on a Hyperion tensor of the interior ε."""
    return FDTD3D.apply(eps, problem=problem, method=method, backend=backend)
