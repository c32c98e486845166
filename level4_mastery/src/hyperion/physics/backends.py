"""3D forward solvers behind one dispatch table: numpy (the teaching Simulation), numba CPU, CUDA.

All three run the same update (3D Yee, PEC walls with a CPML on all six faces, lossless ε map,
soft Ez sources) and a test checks they agree. ``make_solver("numba", shape, ...)`` is the only
place a backend is chosen: :data:`BACKENDS` maps each name to its class.

The fast backends keep the CPML's ψ only in the slabs (for axis x: ``psi_x[4][2P][ny][nz]``
holding (Hy,x) (Hz,x) (Ey,x) (Ez,x)) and do the CPML update inside the same pass as the Yee update.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hyperion.physics.pml import CPMLSettings, axis_profile
from hyperion.physics.yee import Simulation, courant_limit

KERNELS = Path(__file__).resolve().parent / "kernels"


class Solver3D:
    """Common part: shape, Δt, the packed CPML profiles, the Ez sources ``(region, waveform)``."""

    name = "base"

    def __init__(self, shape: tuple[int, int, int], pml: int = 10, courant: float | None = None,
                 eps: Any = 1.0, dtype: Any = np.float32) -> None:
        self.shape = tuple(int(s) for s in shape)
        if len(self.shape) != 3:
            raise ValueError(f"the 3D backends need a 3D shape, got {shape}")
        self.pml, self.dtype = int(pml), np.dtype(dtype)
        self.courant = 0.99 * courant_limit(3) if courant is None else float(courant)
        if self.courant > courant_limit(3) * (1 + 1e-12):
            from hyperion.physics.yee import CourantError

            raise CourantError(f"Courant number {self.courant:.6g} exceeds the 3D limit 1/sqrt(3) = "
                               f"{courant_limit(3):.6g}")
        self.dt = self.courant
        self.eps = np.broadcast_to(np.asarray(eps, np.float64), self.shape)
        if np.any(self.eps <= 0):
            raise ValueError("permittivity must be positive everywhere")
        settings = CPMLSettings(thickness=self.pml)
        blocks = []
        for n in self.shape:
            p = axis_profile(n, 1.0, self.dt, settings)
            blocks += [p.b_e, p.c_e, 1 / p.kappa_e, p.b_h, p.c_h, 1 / p.kappa_h]
        self.profiles = np.concatenate(blocks).astype(self.dtype)
        self.sources: list[tuple[tuple, Any]] = []
        self.n = 0

    def add_source(self, region: tuple, waveform: Any) -> None:
        """A soft J_z over ``region`` (a tuple of ints / slices) with time dependence ``waveform``."""
        self.sources.append((tuple(region), waveform))

    def step(self, steps: int = 1) -> None:
        raise NotImplementedError

    def ez(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def cells(self) -> int:
        return int(np.prod(self.shape))


class NumpySolver(Solver3D):
    """The teaching :class:`Simulation` behind the common interface."""

    name = "numpy"

    def __init__(self, shape, pml=10, courant=None, eps=1.0, dtype=np.float64) -> None:
        super().__init__(shape, pml, courant, eps, dtype)
        self.sim = Simulation(self.shape, pml=self.pml, courant=self.courant, eps=self.eps, dtype=self.dtype)

    def step(self, steps: int = 1) -> None:
        for _ in range(steps):
            self.sim.update_h()
            self.sim.update_e()
            for region, waveform in self.sources:
                self.sim.E[2][region] -= self.sim.cb[region] * waveform((self.n + 0.5) * self.dt)
            self.n += 1

    def ez(self) -> np.ndarray:
        return np.asarray(self.sim.E[2], np.float64)


class NumbaSolver(Solver3D):
    """Fused, parallel CPU kernels (numba ``prange`` over x), CPML in the same pass."""

    name = "numba"

    def __init__(self, shape, pml=10, courant=None, eps=1.0, dtype=np.float32) -> None:
        super().__init__(shape, pml, courant, eps, dtype)
        from hyperion.physics import numba_kernels

        self.kernels = numba_kernels
        nx, ny, nz = self.shape
        p = self.pml
        self.E = np.zeros((3,) + self.shape, self.dtype)
        self.H = np.zeros((3,) + self.shape, self.dtype)
        self.psi = [np.zeros((4, 2 * p, ny, nz), self.dtype), np.zeros((4, nx, 2 * p, nz), self.dtype),
                    np.zeros((4, nx, ny, 2 * p), self.dtype)]
        self.cb = (self.dt / self.eps).astype(self.dtype)

    def step(self, steps: int = 1) -> None:
        for _ in range(steps):
            self.kernels.update_h(self.E, self.H, *self.psi, self.profiles, self.pml, self.dtype.type(self.dt))
            self.kernels.update_e(self.E, self.H, *self.psi, self.profiles, self.pml, self.cb)
            for region, waveform in self.sources:
                self.E[2][region] -= self.cb[region] * self.dtype.type(waveform((self.n + 0.5) * self.dt))
            self.n += 1

    def ez(self) -> np.ndarray:
        return self.E[2].astype(np.float64)


class CudaSolver(Solver3D):
    """Fused CUDA kernels (``kernels/yee3d.cu``, compiled with CuPy RawModule through level 3's loader)."""

    name = "cuda"
    block = (32, 8, 1)

    def __init__(self, shape, pml=10, courant=None, eps=1.0, dtype=np.float32) -> None:
        if np.dtype(dtype) != np.float32:
            raise TypeError("the CUDA backend runs in float32")
        super().__init__(shape, pml, courant, eps, dtype)
        import cupy as cp

        from hyperion.kernels.loader import compile_options, stubs_in

        source = (KERNELS / "yee3d.cu").read_text(encoding="utf-8")
        if stubs_in(source):
            raise NotImplementedError(stubs_in(source)[0])
        module = cp.RawModule(code=source, options=compile_options(), backend="nvrtc")
        self._update_h, self._update_e = module.get_function("update_h"), module.get_function("update_e")
        self.cp = cp
        nx, ny, nz = self.shape
        p = self.pml
        self.E = [cp.zeros(self.shape, cp.float32) for _ in range(3)]
        self.H = [cp.zeros(self.shape, cp.float32) for _ in range(3)]
        self.psi = [cp.zeros((4, 2 * p, ny, nz), cp.float32), cp.zeros((4, nx, 2 * p, nz), cp.float32),
                    cp.zeros((4, nx, ny, 2 * p), cp.float32)]
        self.cb = cp.asarray((self.dt / self.eps).astype(np.float32))
        self.prof = cp.asarray(self.profiles)
        self.dims = (np.int32(nx), np.int32(ny), np.int32(nz), np.int32(p))
        self.launch = ((nz + 31) // 32, (ny + 7) // 8, nx)

    def step(self, steps: int = 1) -> None:
        dt = np.float32(self.dt)
        for _ in range(steps):
            self._update_h(self.launch, self.block, (*self.dims, dt, *self.E, *self.H, *self.psi, self.prof))
            self._update_e(self.launch, self.block,
                           (*self.dims, *self.E, *self.E, *self.H, *self.psi, self.prof, self.cb))
            for region, waveform in self.sources:
                self.E[2][region] -= self.cb[region] * np.float32(waveform((self.n + 0.5) * self.dt))
            self.n += 1

    def synchronize(self) -> None:
        self.cp.cuda.Device().synchronize()

    def ez(self) -> np.ndarray:
        return self.cp.asnumpy(self.E[2]).astype(np.float64)


# the one dispatch point: a backend name -> its solver class
BACKENDS: dict[str, type[Solver3D]] = {"numpy": NumpySolver, "numba": NumbaSolver, "cuda": CudaSolver}


def make_solver(backend: str, shape: tuple[int, int, int], **options: Any) -> Solver3D:
    """A 3D solver on ``backend`` (one of :data:`BACKENDS`)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; known: {sorted(BACKENDS)}")
    return BACKENDS[backend](shape, **options)


def cuda_available() -> bool:
    """Whether CuPy imports and sees a GPU (the CUDA backend's tests skip otherwise)."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False
