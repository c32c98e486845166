"""The steps a 3D gradient needs, per backend: forward, record/restore the shell, undo a step, transpose a step.

One layout for all three (that of :mod:`hyperion.physics.backends`): E and H stacked ``[3][nx][ny][nz]``,
the CPML's ψ only in the slabs (``psi[a][4]``: slots 0, 1 the H pairs, 2, 3 the E pairs of axis a). The
adjoint run keeps χ, the adjoint of ψ, in the same layout. :data:`ENGINES` is the one dispatch point.

The interior ``R = [P, n-P)³`` has no CPML, so the forward step there is the plain, exactly reversible Yee
step. Time reversal runs the forward fields back on R alone; what R's update reads from outside it is
the *shell*: tangential H on the layer below each low face and tangential E on the layer above each high
face, recorded every step (12 layers of (n-2P)² cells instead of every CPML cell).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperion.physics.backends import KERNELS, Solver3D
from hyperion.physics.yee import backward_difference, forward_difference


@dataclass
class State:
    E: Any
    H: Any
    psi: list


@dataclass
class Adjoint:
    E: Any
    H: Any
    chi: list  # read by the next transposed step
    chi_out: list  # written by it (the backends that recompute a neighbour's term need both)
    spare: Any = None  # a second (E, H) for the backends that write a step's adjoint to other buffers


def _terms(u: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(sign, axis, field component) of the two derivatives in component u of a curl."""
    return (1, (u + 1) % 3, (u + 2) % 3), (-1, (u + 2) % 3, (u + 1) % 3)


def _slot(axis: int, component: int, on_h: bool) -> int:
    """Which ψ slot of ``axis`` stretches ∂(component)/∂axis in the H (on_h) or E update."""
    upper = component == max({0, 1, 2} - {axis})
    return (0 if upper else 1) if on_h else (2 if upper else 3)


class Engine(Solver3D):
    """What every backend shares: the packed profiles, the shell indices, sampling, injecting, recording."""

    xp: Any = np

    dtype_default: Any = np.float64

    def __init__(self, shape, pml, courant, eps, source: tuple, waveform, monitor: tuple, dtype=None) -> None:
        super().__init__(shape, pml, courant, eps, dtype or self.dtype_default)
        xp, p = self.xp, self.pml
        self.interior = tuple(slice(p, n - p) for n in self.shape)
        self.source_region, self.waveform = tuple(source), waveform
        self.cb = xp.asarray((self.dt / self.eps).astype(self.dtype))
        self.monitor = xp.asarray(np.ravel_multi_index(monitor, self.shape).astype(np.int64))
        e_index, h_index = [], []

        def layer(axis: int, index: int) -> np.ndarray:
            ranges = [np.arange(p, n - p) for n in self.shape]
            ranges[axis] = np.array([index])
            return np.ravel_multi_index(np.meshgrid(*ranges, indexing="ij"), self.shape).ravel()

        for axis in range(3):
            low, high = layer(axis, p - 1), layer(axis, self.shape[axis] - p)
            for component in sorted({0, 1, 2} - {axis}):
                h_index.append(component * self.cells + low)
                e_index.append(component * self.cells + high)
        self.e_shell, self.h_shell = (xp.asarray(np.concatenate(part).astype(np.int64)) for part in (e_index, h_index))
        self.shell_size = int(self.e_shell.size + self.h_shell.size)

    def current(self, n: int) -> float:
        return float(self.waveform((n + 0.5) * self.dt))

    def zero_state(self) -> State:
        xp, (nx, ny, nz), p = self.xp, self.shape, self.pml
        psi = [xp.zeros((4, 2 * p, ny, nz), self.dtype), xp.zeros((4, nx, 2 * p, nz), self.dtype),
               xp.zeros((4, nx, ny, 2 * p), self.dtype)]
        return State(xp.zeros((3,) + self.shape, self.dtype), xp.zeros((3,) + self.shape, self.dtype), psi)

    def zero_adjoint(self) -> Adjoint:
        a, b = self.zero_state(), self.zero_state()
        return Adjoint(a.E, a.H, a.psi, b.psi)

    def copy(self, state: State) -> State:
        return State(state.E.copy(), state.H.copy(), [p.copy() for p in state.psi])

    def record(self, state: State, row: Any) -> None:
        """The shell of ``state`` into ``row`` (tangential E above the high faces, then H below the low ones)."""
        ne = self.e_shell.size
        self.xp.take(state.E.reshape(-1), self.e_shell, out=row[:ne])
        self.xp.take(state.H.reshape(-1), self.h_shell, out=row[ne:])

    def restore(self, state: State, row: Any) -> None:
        ne = self.e_shell.size
        state.E.reshape(-1)[self.e_shell] = row[:ne]
        state.H.reshape(-1)[self.h_shell] = row[ne:]

    def sample(self, state: State, row: Any) -> None:
        row[...] = state.E[2].reshape(-1)[self.monitor]

    def inject(self, adjoint: Adjoint, values: Any) -> None:
        adjoint.E[2].reshape(-1)[self.monitor] += values

    def add_source(self, E: Any, n: int, sign: float = -1.0) -> None:
        """The soft J_z of step n: ``E_z -= cb J`` (sign -1, forward) or ``+= cb J`` (undoing it)."""
        region = self.source_region
        E[2][region] += sign * self.cb[region] * self.dtype.type(self.current(n))

    def source_gradient(self, adjoint: Adjoint, grad: Any, n: int) -> None:
        """The -J part of ∂E^{n+1}/∂cb = curl H - J (time reversal accumulates Eb · curl H)."""
        grad[self.source_region] -= adjoint.E[2][self.source_region] * self.dtype.type(self.current(n))

    def eps_gradient(self, grad_cb: Any, to_host: bool = True) -> Any:
        """∂L/∂ε on R from ∂L/∂cb: ∂cb/∂ε = -Δt/ε² = -cb²/Δt, taken where the arrays live; as float64 numpy,
        or (``to_host=False``) left where the fields are, in the engine's dtype."""
        cb = self.cb[self.interior]
        g = grad_cb[self.interior] * (cb * cb) * self.dtype.type(-1.0 / self.dt)
        return np.asarray(self.to_host(g), np.float64) if to_host else g

    def to_host(self, array: Any) -> np.ndarray:
        return np.asarray(array)

    # the field a checkpointing segment keeps per step: "E" (adjoint_step reads E^{n+1} and E^n) or "H" (H^{n+1/2})
    segment_field = "E"

    def step_into(self, state: State, n: int, slot: Any) -> None:
        """One forward step that writes the new value of :attr:`segment_field` into ``slot`` (then uses it)."""
        self.step(state, n, out=slot)

    def swap(self, adjoint: Adjoint) -> None:
        adjoint.chi, adjoint.chi_out = adjoint.chi_out, adjoint.chi


class NumpyEngine(Engine):
    """Vectorised numpy: the readable version of each step (float64)."""

    name = "numpy"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        p = self.pml
        self.slabs = [np.r_[0:p, n - p:n] for n in self.shape]
        # per axis: (b, c, 1/κ) at E points (h = 0) and at H points (h = 1), on the slab cells only
        self.coeffs = []
        start = 0
        for axis, n in enumerate(self.shape):
            block = self.profiles[start:start + 6 * n].astype(np.float64).reshape(6, n)
            shape = [1, 1, 1]
            shape[axis] = 2 * p
            self.coeffs.append([tuple(block[3 * h + q][self.slabs[axis]].reshape(shape) for q in range(3))
                                for h in (0, 1)])
            start += 6 * n
        self.masks = []
        for u in range(3):
            mask = np.ones(self.shape)
            for axis in {0, 1, 2} - {u}:
                index = [slice(None)] * 3
                index[axis] = 0
                mask[tuple(index)] = 0.0
            self.masks.append(mask)

    def _in_slab(self, axis: int) -> tuple:
        index = [slice(None)] * 3
        index[axis] = self.slabs[axis]
        return tuple(index)

    def _stretch(self, d: np.ndarray, psi: list, axis: int, slot: int, on_h: bool) -> np.ndarray:
        """d/κ + ψ' on the slab of ``axis`` with ψ' = b ψ + c d (ψ updated in place)."""
        b, c, inverse_kappa = self.coeffs[axis][int(on_h)]
        at = self._in_slab(axis)
        psi[axis][slot] = b * psi[axis][slot] + c * d[at]
        d[at] = d[at] * inverse_kappa + psi[axis][slot]
        return d

    def step(self, state: State, n: int, out: Any = None) -> None:
        if out is not None:
            out[...] = state.E
            state.E = out
        E, H = state.E, state.H
        for u in range(3):
            for sign, axis, f in _terms(u):
                d = self._stretch(forward_difference(E[f], axis, False), state.psi, axis, _slot(axis, f, True), True)
                H[u] -= self.dt * sign * d
        for u in range(3):
            for sign, axis, f in _terms(u):
                d = self._stretch(backward_difference(H[f], axis, False), state.psi, axis, _slot(axis, f, False),
                                  False)
                E[u] += self.cb * sign * d
            E[u] *= self.masks[u]
        self.add_source(E, n)

    def _dual(self, seed: np.ndarray, chi: list, axis: int, slot: int, on_h: bool) -> np.ndarray:
        """The transposed stretch: φ = χ + s, dbar = s/κ + c φ, χ ← b φ (on the slab; dbar = s elsewhere)."""
        b, c, inverse_kappa = self.coeffs[axis][int(on_h)]
        at = self._in_slab(axis)
        dbar = seed.copy()
        phi = chi[axis][slot] + seed[at]
        dbar[at] = seed[at] * inverse_kappa + c * phi
        chi[axis][slot] = b * phi
        return dbar

    def transpose_e(self, adjoint: Adjoint) -> None:
        """H̄ += (E step)ᵀ Ē: the transpose of a backward difference is minus a forward one."""
        for u in range(3):
            seed = self.cb * self.masks[u] * adjoint.E[u]
            for sign, axis, f in _terms(u):
                dbar = self._dual(sign * seed, adjoint.chi, axis, _slot(axis, f, False), False)
                adjoint.H[f] -= forward_difference(dbar, axis, False)

    def transpose_h(self, adjoint: Adjoint) -> None:
        for u in range(3):
            for sign, axis, f in _terms(u):
                dbar = self._dual(-sign * self.dt * adjoint.H[u], adjoint.chi, axis, _slot(axis, f, True), True)
                adjoint.E[f] -= backward_difference(dbar, axis, False)  # Dfᵀ = -Db

    def _curl(self, F: np.ndarray, on_h: bool) -> list[np.ndarray]:
        difference = forward_difference if on_h else backward_difference
        return [sum(sign * difference(F[f], axis, False) for sign, axis, f in _terms(u)) for u in range(3)]

    def reverse_step(self, state: State, adjoint: Adjoint, grad: np.ndarray, n: int, row: Any) -> None:
        """State n+1 → n on R (the shell from ``row``), adjoint n+1 → n, grad += Ē^{n+1} · ∂E^{n+1}/∂cb."""
        R = self.interior
        curl_h = self._curl(state.H, on_h=False)
        for u in range(3):
            grad[R] += adjoint.E[u][R] * curl_h[u][R]
            state.E[u][R] -= self.cb[R] * curl_h[u][R]
        self.add_source(state.E, n, +1.0)
        self.source_gradient(adjoint, grad, n)
        self.transpose_e(adjoint)
        self.restore(state, row)
        curl_e = self._curl(state.E, on_h=True)
        for u in range(3):
            state.H[u][R] += self.dt * curl_e[u][R]
        self.transpose_h(adjoint)

    def adjoint_step(self, adjoint: Adjoint, grad: np.ndarray, e_next: np.ndarray, e_now: np.ndarray,
                     n: int = 0) -> None:
        R = self.interior
        grad[R] += np.sum(adjoint.E[(slice(None),) + R] * (e_next - e_now)[(slice(None),) + R], axis=0) / self.cb[R]
        self.transpose_e(adjoint)
        self.transpose_h(adjoint)


class NumbaEngine(Engine):
    """The numba kernels (``numba_kernels``): forward as in :class:`NumbaSolver`, the transposes fused."""

    name = "numba"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from hyperion.physics import numba_kernels

        self.kernels = numba_kernels

    def step(self, state: State, n: int, out: Any = None) -> None:
        if out is not None:
            out[...] = state.E
            state.E = out
        self.kernels.update_h(state.E, state.H, *state.psi, self.profiles, self.pml, self.dtype.type(self.dt))
        self.kernels.update_e(state.E, state.H, *state.psi, self.profiles, self.pml, self.cb)
        self.add_source(state.E, n)

    def reverse_step(self, state: State, adjoint: Adjoint, grad: np.ndarray, n: int, row: Any) -> None:
        a = adjoint
        self.kernels.transpose_e(a.E, a.H, *a.chi, *a.chi_out, self.profiles, self.pml, self.cb, 1, state.E, state.H,
                                 state.E, grad)
        self.add_source(state.E, n, +1.0)
        self.source_gradient(adjoint, grad, n)
        self.restore(state, row)
        self.kernels.transpose_h(a.E, a.H, *a.chi, *a.chi_out, self.profiles, self.pml, self.dtype.type(self.dt), 1,
                                 state.E, state.H)
        self.swap(a)

    def adjoint_step(self, adjoint: Adjoint, grad: np.ndarray, e_next: np.ndarray, e_now: np.ndarray,
                     n: int = 0) -> None:
        a = adjoint
        self.kernels.transpose_e(a.E, a.H, *a.chi, *a.chi_out, self.profiles, self.pml, self.cb, 2, e_next, e_next,
                                 e_now, grad)
        self.kernels.transpose_h(a.E, a.H, *a.chi, *a.chi_out, self.profiles, self.pml, self.dtype.type(self.dt), 0,
                                 e_next, e_next)
        self.swap(a)


class CudaEngine(Engine):
    """CuPy arrays; the forward kernels of ``yee3d.cu`` and the fused transposes of ``adjoint3d.cu`` (fp32)."""

    name = "cuda"
    block = (32, 8, 1)
    dtype_default = np.float32
    # adjoint3d.cu's kernel 1 (every cell through the slab code, two passes per step), 2 (the same with a plain
    # transposed curl in the core), 3 (the core in one pass per step with ping-pong buffers, the rest as kernel 1)
    # 4 (kernel 3 in two launches: core and outer E step together, the outer H step on its blocks only), 5
    # (kernel 4 with 4 planes per thread), 6 (kernel 4 with no warp mixing core and outer cells, the outer cells
    # numbered densely, the recorded shell restored inside the kernels), 7 (kernel 6 with 48 registers a thread) or
    # 8 (kernel 6 with each core thread marching 8 planes in x, carrying the values the next plane reuses).
    # Kernel 4 is the fastest measured on the H200, 6-8 included (results/fdtd_speed/h200_2026-12-05/).
    kernel = 4
    march = 8  # kernel 8: planes a core thread marches

    def __init__(self, *args, **kwargs) -> None:
        if np.dtype(kwargs.get("dtype") or np.float32) != np.float32:
            raise TypeError("the CUDA backend runs in float32")
        self.xp = self.array_module()
        super().__init__(*args, **kwargs)
        self.kernel, self.march = self.kernel, self.march  # this engine's, whatever the class says later
        if self.kernel not in (1, 2, 3, 4, 5, 6, 7, 8):
            raise ValueError(f"adjoint3d.cu has kernels 1 to 8, not {self.kernel}")
        self.planes = 4 if self.kernel == 5 else 1
        defines = {2: (("CORE_FAST_PATH", 1),), 5: (("PLANES", self.planes),), 7: (("STEP6_MIN_BLOCKS", 5),),
                   8: (("MARCH", self.march),)}.get(self.kernel, ())
        forward, backward = self.compile(defines)
        self._update_h, self._update_e = forward("update_h"), forward("update_e")
        self._update_h_to = forward("update_h_to")
        names = {1: ("transpose_e", "transpose_h"), 2: ("transpose_e", "transpose_h"),
                 3: ("transpose_e3", "transpose_h3"), 4: ("step4", "transpose_h4"), 5: ("step4", "transpose_h4"),
                 6: ("step6", "outer6_h"), 7: ("step6", "outer6_h"), 8: ("step8", "outer6_h")}[self.kernel]
        self._transpose_e, self._transpose_h = (backward(name) for name in names)
        self._step_core = backward("step_core")
        self._gather2, self._add_at = backward("gather2"), backward("add_at")
        nx, ny, nz = self.shape
        if self.kernel >= 3 and 3 * nx * ny * nz >= 2**31:
            raise ValueError(f"adjoint3d.cu kernel {self.kernel} indexes the core in 32 bits: {self.shape} is too "
                             "large (3 nx ny nz must stay below 2^31); use kernel 1")
        self.prof = self.xp.asarray(self.profiles)
        self.dims = (np.int32(nx), np.int32(ny), np.int32(nz), np.int32(self.pml))
        self.launch = ((nz + 31) // 32, (ny + 7) // 8, nx)
        self.box = []  # the source region as [start, stop) per axis (kernel 3 undoes the source inline)
        for n, part in zip(self.shape, self.source_region):
            span = np.arange(n)[part].ravel()
            if self.kernel >= 3 and not np.array_equal(span, np.arange(span.min(), span.max() + 1)):
                raise ValueError(f"adjoint3d.cu kernel 3 needs a source region of contiguous cells, got {part!r}")
            self.box += [np.int32(span.min()), np.int32(span.max() + 1)]
        self.spare: State | None = None  # kernel 3's second E, H buffers of the state being reversed
        self.outer_blocks = self.xp.asarray(self._outer_blocks())  # kernel 4's transpose_h4 runs these blocks
        if self.kernel >= 6:
            self.launch6 = self._launch6()

    def _launch6(self) -> tuple[int, int]:
        """Kernels 6-8: (blocks of step6/step8, blocks of outer6_h), as the kernels count them (``core_blocks_k``,
        ``outer_count``; kernel 8's core blocks cover ``march`` planes each)."""
        (nx, ny, nz), t = self.shape, self.pml + 1
        if min(self.shape) <= 2 * t:
            raise ValueError(f"adjoint3d.cu kernel {self.kernel} needs a core: every side of {self.shape} must exceed "
                             f"2 (P + 1) = {2 * t}")
        if self.block != (32, 8, 1):
            raise ValueError(f"adjoint3d.cu kernel {self.kernel} is written for blocks of (32, 8, 1), not {self.block}")
        threads = self.block[0] * self.block[1]
        core_k = (nz - t - 1) // self.block[0] - t // self.block[0] + 1  # k-blocks, aligned, covering [t, nz-t)
        core = core_k * -(-(ny - 2 * t) // self.block[1]) * -(-(nx - 2 * t) // (self.march if self.kernel == 8 else 1))
        outer = -(-(nx * ny * nz - (nx - 2 * t) * (ny - 2 * t) * (nz - 2 * t)) // threads)
        return core + outer, outer

    def _outer_blocks(self) -> np.ndarray:
        """(block x, block y, plane group) of every launch block holding a cell outside the core [P+1, n-P-1)³."""
        p = self.pml

        def inside(n: int, width: int) -> np.ndarray:  # per block along an axis: all its cells in the core
            starts = np.arange(0, n, width)
            return (starts >= p + 1) & (np.minimum(starts + width, n) <= n - p - 1)

        bx, by = self.block[0], self.block[1]
        fk, fj, fi = inside(self.shape[2], bx), inside(self.shape[1], by), inside(self.shape[0], self.planes)
        z, y, x = np.meshgrid(np.arange(fi.size), np.arange(fj.size), np.arange(fk.size), indexing="ij")
        keep = ~(fi[z] & fj[y] & fk[x])
        return np.stack([x[keep], y[keep], z[keep]], axis=1).astype(np.int32).ravel()

    def array_module(self) -> Any:
        import cupy

        return cupy

    def compile(self, defines: tuple) -> tuple[Callable, Callable]:
        """``get_function`` of the compiled yee3d.cu and adjoint3d.cu (``defines`` for the latter)."""
        import cupy

        from hyperion.kernels.loader import compile_options

        forward = cupy.RawModule(code=(KERNELS / "yee3d.cu").read_text(encoding="utf-8"),
                                 options=compile_options(), backend="nvrtc")
        backward = cupy.RawModule(code=(KERNELS / "adjoint3d.cu").read_text(encoding="utf-8"),
                                  options=compile_options(defines), backend="nvrtc")
        return forward.get_function, backward.get_function

    def to_host(self, array: Any) -> np.ndarray:
        return self.xp.asnumpy(array)

    def _gather(self, a_index: Any, A: Any, b_index: Any, B: Any, row: Any) -> None:
        count = int(a_index.size + b_index.size)
        self._gather2((-(-count // 256), 1, 1), (256, 1, 1), (np.int32(a_index.size), np.int32(b_index.size), a_index,
                                                              A, b_index, B, row))

    def record(self, state: State, row: Any) -> None:  # one launch (gather2) instead of two takes
        self._gather(self.e_shell, state.E, self.h_shell, state.H, row)

    def sample(self, state: State, row: Any) -> None:
        self._gather(self.monitor, state.E[2], self.monitor[:0], state.E[2], row)

    def inject(self, adjoint: Adjoint, values: Any) -> None:  # one launch (add_at) instead of take, add, scatter
        count = self.monitor.size
        if values.size != count or not values.flags.c_contiguous:
            raise ValueError(f"inject needs {count} contiguous values (one a monitor), got shape {values.shape} with "
                             f"strides {values.strides}")
        self._add_at((-(-count // 32), 1, 1), (32, 1, 1), (np.int32(count), self.monitor, values, adjoint.E[2]))

    def zero_adjoint(self) -> Adjoint:
        adjoint = super().zero_adjoint()
        if self.kernel >= 3:
            adjoint.spare = (self.xp.zeros_like(adjoint.E), self.xp.zeros_like(adjoint.H))
        return adjoint

    def step(self, state: State, n: int, out: Any = None) -> None:
        target = state.E if out is None else out
        dt = np.float32(self.dt)
        self._update_h(self.launch, self.block, (*self.dims, dt, *state.E, *state.H, *state.psi, self.prof))
        self._update_e(self.launch, self.block, (*self.dims, *state.E, *target, *state.H, *state.psi, self.prof,
                                                 self.cb))
        state.E = target
        self.add_source(state.E, n)

    def _transposes(self, adjoint: Adjoint, grad: Any, mode_e: int, mode_h: int, E: Any, H: Any, E0: Any,
                    between: Any = None) -> None:
        a, dims = adjoint, self.dims
        self._transpose_e(self.launch, self.block, (*dims, np.int32(mode_e), *a.E, *a.H, *a.chi, *a.chi_out,
                                                    self.prof, self.cb, *E, *H, *E0, grad))
        if between is not None:
            between()
        self._transpose_h(self.launch, self.block, (*dims, np.int32(mode_h), np.float32(self.dt), *a.E, *a.H,
                                                    *a.chi, *a.chi_out, self.prof, *E, *H))
        self.swap(a)

    def _step3(self, adjoint: Adjoint, grad: Any, mode: int, E: Any, H: Any, E_out: Any, H_out: Any, J: float,
               between: Any = None, row: Any = None) -> None:
        """Kernels 3-8: the core in one pass, the rest in two; outputs to the spare buffers, then swapped.

        ``row`` (kernels 6-8, mode 1): the recorded shell, which their kernels restore into E_out and H_out.
        """
        a, dims, dt = adjoint, self.dims, np.float32(self.dt)
        Eb_out, Hb_out = a.spare
        source = (*self.box, np.float32(J))
        if self.kernel >= 6:
            row = self.cb if row is None else row  # read only in mode 1
            step_blocks, outer_blocks = self.launch6
            self._transpose_e((step_blocks, 1, 1), self.block, (*dims, np.int32(mode), dt, *source, a.E, a.H, Eb_out,
                                                                Hb_out, *a.chi, *a.chi_out, self.prof, self.cb, E, H,
                                                                E_out, H_out, grad, row))
            self._transpose_h((outer_blocks, 1, 1), self.block, (*dims, np.int32(1 if mode == 1 else 0), dt, a.E,
                                                                 Hb_out, Eb_out, *a.chi, *a.chi_out, self.prof, E_out,
                                                                 H, H_out, row))
            a.spare, a.E, a.H = (a.E, a.H), Eb_out, Hb_out
            self.swap(a)
            return
        if self.kernel >= 4:
            launch = (self.launch[0], self.launch[1], -(-self.shape[0] // self.planes))
            self._transpose_e(launch, self.block, (*dims, np.int32(mode), dt, *source, a.E, a.H, Eb_out, Hb_out,
                                                        *a.chi, *a.chi_out, self.prof, self.cb, E, H, E_out, H_out,
                                                        grad))
            if between is not None:
                between()
            self._transpose_h((self.outer_blocks.size // 3, 1, 1), self.block,
                              (*dims, np.int32(1 if mode == 1 else 0), dt, self.outer_blocks, a.E, Hb_out, Eb_out,
                               *a.chi, *a.chi_out, self.prof, E_out, H, H_out))
            a.spare, a.E, a.H = (a.E, a.H), Eb_out, Hb_out
            self.swap(a)
            return
        self._step_core(self.launch, self.block, (*dims, np.int32(mode), dt, *source, a.E, a.H, Eb_out, Hb_out,
                                                  self.cb, E, H, E_out, H_out, grad))
        self._transpose_e(self.launch, self.block, (*dims, np.int32(mode), *source, a.E, a.H, Hb_out, *a.chi,
                                                    *a.chi_out, self.prof, self.cb, E, H, E_out, grad))
        if between is not None:
            between()
        self._transpose_h(self.launch, self.block, (*dims, np.int32(1 if mode == 1 else 0), dt, a.E, Hb_out, Eb_out,
                                                    *a.chi, *a.chi_out, self.prof, E_out, H, H_out))
        a.spare, a.E, a.H = (a.E, a.H), Eb_out, Hb_out
        self.swap(a)

    def reverse_step(self, state: State, adjoint: Adjoint, grad: Any, n: int, row: Any) -> None:
        if self.kernel >= 3:
            if self.spare is None:
                self.spare = State(self.xp.zeros_like(state.E), self.xp.zeros_like(state.H), state.psi)
            spare = self.spare
            if self.kernel >= 6:  # the kernels restore the shell themselves
                self._step3(adjoint, grad, 1, state.E, state.H, spare.E, spare.H, self.current(n), row=row)
            else:
                self._step3(adjoint, grad, 1, state.E, state.H, spare.E, spare.H, self.current(n),
                            lambda: self.restore(spare, row))
            self.spare = State(state.E, state.H, state.psi)
            state.E, state.H = spare.E, spare.H
            return

        def between() -> None:
            self.add_source(state.E, n, +1.0)
            self.source_gradient(adjoint, grad, n)
            self.restore(state, row)

        self._transposes(adjoint, grad, 1, 1, state.E, state.H, state.E, between)

    @property
    def segment_field(self) -> str:  # kernels 3-8 keep H (their mode 3), kernels 1-2 keep E
        return "H" if self.kernel >= 3 else "E"

    def step_into(self, state: State, n: int, slot: Any) -> None:
        if self.segment_field == "E":
            return self.step(state, n, out=slot)
        dt = np.float32(self.dt)
        self._update_h_to(self.launch, self.block, (*self.dims, dt, *state.E, *state.H, *slot, *state.psi, self.prof))
        state.H = slot
        self._update_e(self.launch, self.block, (*self.dims, *state.E, *state.E, *state.H, *state.psi, self.prof,
                                                 self.cb))
        self.add_source(state.E, n)

    def adjoint_step(self, adjoint: Adjoint, grad: Any, next_slot: Any, now_slot: Any, n: int = 0) -> None:
        """One transposed step of a checkpointing segment: slots of E (kernels 1, 2) or of H (3-8, mode 3)."""
        if self.kernel >= 3:
            self._step3(adjoint, grad, 3, next_slot, next_slot, next_slot, next_slot, self.current(n))
        else:
            self._transposes(adjoint, grad, 2, 0, next_slot, next_slot, now_slot)


# the one dispatch point of the gradient: a backend name -> its engine
ENGINES: dict[str, type[Engine]] = {"numpy": NumpyEngine, "numba": NumbaEngine, "cuda": CudaEngine}
