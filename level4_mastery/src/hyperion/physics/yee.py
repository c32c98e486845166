"""The Yee grid and its leapfrog update in numpy: the teaching version, read top to bottom.

Units: c = ε0 = μ0 = 1, so a wave crosses a cell of size ``dx`` in time ``dx`` and E and H have
the same scale (H is η0·H in SI). Fields live on the staggered Yee cell of cell (i, j, k):

    Ex (i+½, j, k)   Ey (i, j+½, k)   Ez (i, j, k+½)
    Hx (i, j+½, k+½) Hy (i+½, j, k+½) Hz (i+½, j+½, k)

so every curl is a difference of neighbours: ∂E/∂a forward (E[i+1] - E[i], it lands on H), ∂H/∂a
backward (H[i] - H[i-1], it lands on E). One step, ``n → n+1``:

    H^{n+½} = H^{n-½} - Δt/μ · curl E^n
    E^{n+1} = ca · E^n + cb · (curl H^{n+½} - J^{n+½})      ca, cb from ε and σ (semi-implicit loss)

2D is the 3D grid with one periodic cell along z: TMz keeps (Ez, Hx, Hy), TEz keeps (Hz, Ex, Ey).
Non-periodic axes end in PEC walls at x = 0 and x = n (tangential E is zero there) with a CPML in
front of them; a periodic axis wraps around. The time step must satisfy the Courant limit
``c Δt ≤ 1 / sqrt(Σ 1/Δa²)`` over the non-trivial axes; anything above it is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hyperion.physics.pml import AxisProfile, CPMLSettings, axis_profile

# which E and H components each mode keeps (0 = x, 1 = y, 2 = z)
MODES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "3d": ((0, 1, 2), (0, 1, 2)),
    "tmz": ((2,), (0, 1)),
    "tez": ((0, 1), (2,)),
}


class CourantError(ValueError):
    """The time step is above the Courant limit: the leapfrog would grow without bound."""


def courant_limit(dims: int) -> float:
    """The largest stable Courant number ``S = c Δt / Δx`` on a uniform grid of ``dims`` dimensions."""
    return 1.0 / np.sqrt(dims)


def forward_difference(f: np.ndarray, axis: int, periodic: bool) -> np.ndarray:
    """``f[i+1] - f[i]``; past the last cell f is 0 (the PEC wall) unless the axis is periodic."""
    if periodic:
        return np.roll(f, -1, axis) - f
    out = -f
    head = [slice(None)] * 3
    tail = [slice(None)] * 3
    head[axis], tail[axis] = slice(None, -1), slice(1, None)
    out[tuple(head)] += f[tuple(tail)]
    return out


def backward_difference(f: np.ndarray, axis: int, periodic: bool) -> np.ndarray:
    """``f[i] - f[i-1]``; before the first cell f is 0 unless the axis is periodic."""
    if periodic:
        return f - np.roll(f, 1, axis)
    out = f.copy()
    head = [slice(None)] * 3
    tail = [slice(None)] * 3
    head[axis], tail[axis] = slice(1, None), slice(None, -1)
    out[tuple(head)] -= f[tuple(tail)]
    return out


def _along(profile: np.ndarray, axis: int) -> np.ndarray:
    """A 1-D profile shaped to broadcast along ``axis`` of a 3-D array."""
    shape = [1, 1, 1]
    shape[axis] = profile.size
    return profile.reshape(shape)


class Simulation:
    """A 2D (TMz / TEz) or 3D Yee grid with ε and σ maps, CPML on every non-periodic face, and sources.

    ``shape`` is (nx, ny) or (nx, ny, nz) in cells; ``courant`` is S = c Δt / Δx (default 0.99 of the
    limit); ``pml`` a :class:`CPMLSettings`, a thickness in cells, or ``None`` for bare PEC walls;
    ``periodic`` one flag per axis; ``eps``/``sigma`` scalars or maps of ``shape``.
    """

    def __init__(self, shape: Sequence[int], *, mode: str | None = None, dx: float = 1.0,
                 courant: float | None = None, pml: CPMLSettings | int | None = 10,
                 periodic: Sequence[bool] | None = None, eps: Any = 1.0, sigma: Any = 0.0,
                 dtype: Any = np.float64, allow_unstable: bool = False) -> None:
        shape = tuple(int(s) for s in shape)
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise ValueError(f"shape must be 2 or 3 positive cell counts, got {shape}")
        self.dims = len(shape)
        self.mode = mode or ("3d" if self.dims == 3 else "tmz")
        if self.mode not in MODES or (self.mode == "3d") != (self.dims == 3):
            raise ValueError(f"mode {self.mode!r} does not fit a {self.dims}D shape; 2D: 'tmz' or 'tez', 3D: '3d'")
        periodic = tuple(bool(p) for p in (periodic or (False,) * self.dims))
        if len(periodic) != self.dims:
            raise ValueError(f"periodic needs one flag per axis ({self.dims}), got {periodic}")
        self.shape = shape + (1,) * (3 - self.dims)
        self.periodic = periodic + (True,) * (3 - self.dims)
        self.dx = float(dx)
        self.dtype = np.dtype(dtype)

        limit = courant_limit(self.dims)
        self.courant = 0.99 * limit if courant is None else float(courant)
        if self.courant <= 0:
            raise CourantError(f"the Courant number must be positive, got {self.courant}")
        if self.courant > limit * (1 + 1e-12) and not allow_unstable:
            raise CourantError(
                f"Courant number S = c·Δt/Δx = {self.courant:.6g} exceeds the {self.dims}D stability limit "
                f"1/sqrt({self.dims}) = {limit:.6g}: the update would grow without bound; use S <= {limit:.6g}"
            )
        self.dt = self.courant * self.dx

        self.e_components, self.h_components = MODES[self.mode]
        zeros = lambda: np.zeros(self.shape, self.dtype)  # noqa: E731
        self.E: list[np.ndarray | None] = [zeros() if c in self.e_components else None for c in range(3)]
        self.H: list[np.ndarray | None] = [zeros() if c in self.h_components else None for c in range(3)]
        self.set_materials(eps, sigma)

        settings = CPMLSettings(thickness=pml) if isinstance(pml, int) else pml
        self.pml_settings = settings
        self.profiles: dict[int, AxisProfile] = {}
        if settings is not None and settings.thickness > 0:
            for axis in range(3):
                if not self.periodic[axis]:
                    self.profiles[axis] = axis_profile(self.shape[axis], self.dx, self.dt, settings)
        # ψ for each (field component, derivative axis) pair that has a CPML along that axis
        self.psi_e = {(c, a): zeros() for c in self.e_components for a in self._curl_axes(c) if a in self.profiles}
        self.psi_h = {(c, a): zeros() for c in self.h_components for a in self._curl_axes(c) if a in self.profiles}
        self.sources: list[Any] = []
        self.monitors: list[Any] = []
        self.n = 0  # E is at time n·Δt, H at (n - ½)·Δt

    # ---- materials -----------------------------------------------------------------------------
    def set_materials(self, eps: Any, sigma: Any = 0.0) -> None:
        """ε and σ (scalars or maps of the grid's shape) → the E-update coefficients ca, cb."""
        eps = np.broadcast_to(np.asarray(eps, np.float64).reshape(self._map_shape(eps)), self.shape)
        sigma = np.broadcast_to(np.asarray(sigma, np.float64).reshape(self._map_shape(sigma)), self.shape)
        if np.any(eps <= 0):
            raise ValueError("permittivity must be positive everywhere")
        if np.any(sigma < 0):
            raise ValueError("conductivity must be non-negative everywhere")
        loss = sigma * self.dt / (2 * eps)
        self.eps, self.sigma = eps, sigma
        self.ca = ((1 - loss) / (1 + loss)).astype(self.dtype)
        self.cb = (self.dt / eps / (1 + loss)).astype(self.dtype)

    def _map_shape(self, value: Any) -> tuple[int, ...]:
        array = np.asarray(value)
        if array.ndim == 0:
            return ()
        if array.shape != self.shape[: self.dims]:
            raise ValueError(f"material map has shape {array.shape}, the grid is {self.shape[: self.dims]}")
        return self.shape

    # ---- the update ----------------------------------------------------------------------------
    def _curl_axes(self, c: int) -> tuple[int, int]:
        return (c + 1) % 3, (c + 2) % 3

    def _derivative(self, field: np.ndarray | None, axis: int, component: int, on_h: bool) -> np.ndarray | float:
        """``∂field/∂axis`` for the curl of ``component``, stretched by the CPML where there is one."""
        if field is None or (self.periodic[axis] and self.shape[axis] == 1):
            return 0.0
        if on_h:
            d = forward_difference(field, axis, self.periodic[axis]) / self.dx
        else:
            d = backward_difference(field, axis, self.periodic[axis]) / self.dx
        if axis not in self.profiles:
            return d
        p = self.profiles[axis]
        b, c, kappa = (p.b_h, p.c_h, p.kappa_h) if on_h else (p.b_e, p.c_e, p.kappa_e)
        psi = (self.psi_h if on_h else self.psi_e)[(component, axis)]
        psi *= _along(b, axis).astype(self.dtype)
        psi += _along(c, axis).astype(self.dtype) * d
        return d / _along(kappa, axis).astype(self.dtype) + psi

    def curl(self, fields: list[np.ndarray | None], component: int, on_h: bool) -> np.ndarray | float:
        """Component ``component`` of curl F = (∂F_b/∂a - ∂F_a/∂b) with (c, a, b) cyclic."""
        a, b = self._curl_axes(component)
        return self._derivative(fields[b], a, component, on_h) - self._derivative(fields[a], b, component, on_h)

    def update_h(self) -> None:
        """H^{n+½} = H^{n-½} - Δt · curl E^n."""
        for c in self.h_components:
            self.H[c] -= self.dt * self.curl(self.E, c, on_h=True)

    def update_e(self) -> None:
        """E^{n+1} = ca E^n + cb curl H^{n+½}; then tangential E on the PEC walls at index 0 is zeroed."""
        for c in self.e_components:
            self.E[c] = self.ca * self.E[c] + self.cb * self.curl(self.H, c, on_h=False)
            for axis in range(3):
                if axis != c and not self.periodic[axis]:
                    index = [slice(None)] * 3
                    index[axis] = 0
                    self.E[c][tuple(index)] = 0.0

    def step(self) -> None:
        """One leapfrog step: H, magnetic sources, E, electric sources, then the monitors."""
        self.update_h()
        for source in self.sources:
            source.after_h(self)
        self.update_e()
        for source in self.sources:
            source.after_e(self)
        self.n += 1
        for monitor in self.monitors:
            monitor.record(self)

    def run(self, steps: int) -> Simulation:
        """Advance ``steps`` time steps."""
        for _ in range(int(steps)):
            self.step()
        return self

    # ---- diagnostics ---------------------------------------------------------------------------
    def energy(self) -> float:
        """½ Σ (ε E² + H²) over the grid (a discrete energy: bounded when the update is stable)."""
        e = sum(float(np.sum(self.eps * self.E[c].astype(np.float64) ** 2)) for c in self.e_components)
        h = sum(float(np.sum(self.H[c].astype(np.float64) ** 2)) for c in self.h_components)
        return 0.5 * (e + h) * self.dx**self.dims
