"""The numba CPU kernels of the 3D update: one ``prange`` over x, nz contiguous and innermost.

Same layout and same CPML-in-the-slab scheme as ``kernels/yee3d.cu`` (see there); E and H are
stacked ``[3][nx][ny][nz]`` arrays, profiles packed per axis as (b_e, c_e, 1/κ_e, b_h, c_h, 1/κ_h).
The forward pass takes each row (i, j) away from the walls in one branch-free loop (vectorised by LLVM)
and then corrects only the cells that lie in a CPML slab; the walls go cell by cell (``_h_cell``).
"""

from __future__ import annotations

import numba
import numpy as np

# numba's OpenMP layer spin-waits at the end of every prange; on a 2-core machine shared with other work, a
# thread that loses its core stalls its partner for a whole time slice (measured at 100³ under load: 44-58
# Mcells/s with OpenMP on 2 threads, 122-183 with the workqueue layer, which blocks instead). So the workqueue
# layer, unless NUMBA_THREADING_LAYER chose one; it takes effect only if no parallel region has run yet.
if numba.config.THREADING_LAYER == "default":
    numba.config.THREADING_LAYER = "workqueue"


@numba.njit(cache=True)
def _slab(i: int, n: int, p: int) -> int:
    """Index into the slab arrays: i on the left layer, i - (n - 2p) on the right, -1 in between."""
    i = np.int64(i)  # a prange index may be unsigned, and unsigned - signed is a float in numba
    return i if i < p else (i - (n - 2 * p) if i >= n - p else np.int64(-1))


@numba.njit(inline="always")
def _h_cell(E, H, psi_x, psi_y, psi_z, prof, p, dt, i, j, k) -> None:
    """The H update of one cell with its CPML, every edge case included (the rows the fast path leaves)."""
    _, nx, ny, nz = E.shape
    ox, oy, oz = 3 * nx, 6 * nx + 3 * ny, 6 * nx + 6 * ny + 3 * nz  # the h-profiles of each axis
    si, sj, sk = _slab(i, nx, p), _slab(j, ny, p), _slab(k, nz, p)
    ex, ey, ez = E[0, i, j, k], E[1, i, j, k], E[2, i, j, k]
    d_ez_dy = (E[2, i, j + 1, k] if j + 1 < ny else 0.0) - ez
    d_ex_dy = (E[0, i, j + 1, k] if j + 1 < ny else 0.0) - ex
    d_ey_dz = (E[1, i, j, k + 1] if k + 1 < nz else 0.0) - ey
    d_ex_dz = (E[0, i, j, k + 1] if k + 1 < nz else 0.0) - ex
    d_ez_dx = (E[2, i + 1, j, k] if i + 1 < nx else 0.0) - ez
    d_ey_dx = (E[1, i + 1, j, k] if i + 1 < nx else 0.0) - ey
    if si >= 0:
        b, c, ik = prof[ox + i], prof[ox + nx + i], prof[ox + 2 * nx + i]
        psi_x[0, si, j, k] = b * psi_x[0, si, j, k] + c * d_ez_dx
        d_ez_dx = d_ez_dx * ik + psi_x[0, si, j, k]
        psi_x[1, si, j, k] = b * psi_x[1, si, j, k] + c * d_ey_dx
        d_ey_dx = d_ey_dx * ik + psi_x[1, si, j, k]
    if sj >= 0:
        b, c, ik = prof[oy + j], prof[oy + ny + j], prof[oy + 2 * ny + j]
        psi_y[0, i, sj, k] = b * psi_y[0, i, sj, k] + c * d_ez_dy
        d_ez_dy = d_ez_dy * ik + psi_y[0, i, sj, k]
        psi_y[1, i, sj, k] = b * psi_y[1, i, sj, k] + c * d_ex_dy
        d_ex_dy = d_ex_dy * ik + psi_y[1, i, sj, k]
    if sk >= 0:
        b, c, ik = prof[oz + k], prof[oz + nz + k], prof[oz + 2 * nz + k]
        psi_z[0, i, j, sk] = b * psi_z[0, i, j, sk] + c * d_ey_dz
        d_ey_dz = d_ey_dz * ik + psi_z[0, i, j, sk]
        psi_z[1, i, j, sk] = b * psi_z[1, i, j, sk] + c * d_ex_dz
        d_ex_dz = d_ex_dz * ik + psi_z[1, i, j, sk]
    H[0, i, j, k] -= dt * (d_ez_dy - d_ey_dz)
    H[1, i, j, k] -= dt * (d_ex_dz - d_ez_dx)
    H[2, i, j, k] -= dt * (d_ey_dx - d_ex_dy)


@numba.njit(inline="always")
def _e_cell(E, H, psi_x, psi_y, psi_z, prof, p, cb, i, j, k) -> None:
    """The E update of one cell with its CPML and PEC walls, every edge case included."""
    _, nx, ny, nz = E.shape
    ox, oy, oz = 0, 6 * nx, 6 * nx + 6 * ny  # the e-profiles of each axis
    si, sj, sk = _slab(i, nx, p), _slab(j, ny, p), _slab(k, nz, p)
    hx, hy, hz = H[0, i, j, k], H[1, i, j, k], H[2, i, j, k]
    d_hz_dy = hz - (H[2, i, j - 1, k] if j > 0 else 0.0)
    d_hx_dy = hx - (H[0, i, j - 1, k] if j > 0 else 0.0)
    d_hy_dz = hy - (H[1, i, j, k - 1] if k > 0 else 0.0)
    d_hx_dz = hx - (H[0, i, j, k - 1] if k > 0 else 0.0)
    d_hz_dx = hz - (H[2, i - 1, j, k] if i > 0 else 0.0)
    d_hy_dx = hy - (H[1, i - 1, j, k] if i > 0 else 0.0)
    if si >= 0:
        b, c, ik = prof[ox + i], prof[ox + nx + i], prof[ox + 2 * nx + i]
        psi_x[2, si, j, k] = b * psi_x[2, si, j, k] + c * d_hz_dx
        d_hz_dx = d_hz_dx * ik + psi_x[2, si, j, k]
        psi_x[3, si, j, k] = b * psi_x[3, si, j, k] + c * d_hy_dx
        d_hy_dx = d_hy_dx * ik + psi_x[3, si, j, k]
    if sj >= 0:
        b, c, ik = prof[oy + j], prof[oy + ny + j], prof[oy + 2 * ny + j]
        psi_y[2, i, sj, k] = b * psi_y[2, i, sj, k] + c * d_hz_dy
        d_hz_dy = d_hz_dy * ik + psi_y[2, i, sj, k]
        psi_y[3, i, sj, k] = b * psi_y[3, i, sj, k] + c * d_hx_dy
        d_hx_dy = d_hx_dy * ik + psi_y[3, i, sj, k]
    if sk >= 0:
        b, c, ik = prof[oz + k], prof[oz + nz + k], prof[oz + 2 * nz + k]
        psi_z[2, i, j, sk] = b * psi_z[2, i, j, sk] + c * d_hy_dz
        d_hy_dz = d_hy_dz * ik + psi_z[2, i, j, sk]
        psi_z[3, i, j, sk] = b * psi_z[3, i, j, sk] + c * d_hx_dz
        d_hx_dz = d_hx_dz * ik + psi_z[3, i, j, sk]
    cbv = cb[i, j, k]
    ex = E[0, i, j, k] + cbv * (d_hz_dy - d_hy_dz)
    ey = E[1, i, j, k] + cbv * (d_hx_dz - d_hz_dx)
    ez = E[2, i, j, k] + cbv * (d_hy_dx - d_hx_dy)
    E[0, i, j, k] = 0.0 if (j == 0 or k == 0) else ex
    E[1, i, j, k] = 0.0 if (i == 0 or k == 0) else ey
    E[2, i, j, k] = 0.0 if (i == 0 or j == 0) else ez


# The fast path of a row (i, j) away from the walls: first the plain curl over the whole row (a loop LLVM
# vectorises: no branches, nz contiguous), then, only where the row lies in a CPML slab, the correction
# d -> d/κ + ψ of the stretched derivatives: d·(1/κ) - d + ψ added to what the plain pass used.
@numba.njit(parallel=True, fastmath=True, cache=True)
def update_h(E: np.ndarray, H: np.ndarray, psi_x: np.ndarray, psi_y: np.ndarray, psi_z: np.ndarray,
             prof: np.ndarray, p: int, dt) -> None:
    _, nx, ny, nz = E.shape
    ox, oy, oz = 3 * nx, 6 * nx + 3 * ny, 6 * nx + 6 * ny + 3 * nz  # the h-profiles of each axis
    for ii in numba.prange(nx):
        i = np.int64(ii)
        for j in range(ny):
            if i + 1 == nx or j + 1 == ny:  # the far walls: fields past them read as 0
                for k in range(nz):
                    _h_cell(E, H, psi_x, psi_y, psi_z, prof, p, dt, i, j, k)
                continue
            for k in range(nz - 1):  # plain curl
                ex, ey, ez = E[0, i, j, k], E[1, i, j, k], E[2, i, j, k]
                H[0, i, j, k] -= dt * ((E[2, i, j + 1, k] - ez) - (E[1, i, j, k + 1] - ey))
                H[1, i, j, k] -= dt * ((E[0, i, j, k + 1] - ex) - (E[2, i + 1, j, k] - ez))
                H[2, i, j, k] -= dt * ((E[1, i + 1, j, k] - ey) - (E[0, i, j + 1, k] - ex))
            _h_cell(E, H, psi_x, psi_y, psi_z, prof, p, dt, i, j, nz - 1)
            si = _slab(i, nx, p)
            if si >= 0:  # x slab: (Hy,x) (Hz,x)
                b, c, ik = prof[ox + i], prof[ox + nx + i], prof[ox + 2 * nx + i]
                for k in range(nz - 1):
                    d_ez = E[2, i + 1, j, k] - E[2, i, j, k]
                    d_ey = E[1, i + 1, j, k] - E[1, i, j, k]
                    a = b * psi_x[0, si, j, k] + c * d_ez
                    q = b * psi_x[1, si, j, k] + c * d_ey
                    psi_x[0, si, j, k], psi_x[1, si, j, k] = a, q
                    H[1, i, j, k] += dt * (d_ez * ik - d_ez + a)
                    H[2, i, j, k] -= dt * (d_ey * ik - d_ey + q)
            sj = _slab(j, ny, p)
            if sj >= 0:  # y slab: (Hx,y) (Hz,y)
                b, c, ik = prof[oy + j], prof[oy + ny + j], prof[oy + 2 * ny + j]
                for k in range(nz - 1):
                    d_ez = E[2, i, j + 1, k] - E[2, i, j, k]
                    d_ex = E[0, i, j + 1, k] - E[0, i, j, k]
                    a = b * psi_y[0, i, sj, k] + c * d_ez
                    q = b * psi_y[1, i, sj, k] + c * d_ex
                    psi_y[0, i, sj, k], psi_y[1, i, sj, k] = a, q
                    H[0, i, j, k] -= dt * (d_ez * ik - d_ez + a)
                    H[2, i, j, k] += dt * (d_ex * ik - d_ex + q)
            for sk in range(2 * p):  # z slabs: (Hx,z) (Hy,z), the first and last p cells of the row
                k = sk if sk < p else sk + nz - 2 * p
                if k == nz - 1:  # done by _h_cell
                    continue
                b, c, ik = prof[oz + k], prof[oz + nz + k], prof[oz + 2 * nz + k]
                d_ey = E[1, i, j, k + 1] - E[1, i, j, k]
                d_ex = E[0, i, j, k + 1] - E[0, i, j, k]
                a = b * psi_z[0, i, j, sk] + c * d_ey
                q = b * psi_z[1, i, j, sk] + c * d_ex
                psi_z[0, i, j, sk], psi_z[1, i, j, sk] = a, q
                H[0, i, j, k] += dt * (d_ey * ik - d_ey + a)
                H[1, i, j, k] -= dt * (d_ex * ik - d_ex + q)


@numba.njit(parallel=True, fastmath=True, cache=True)
def update_e(E: np.ndarray, H: np.ndarray, psi_x: np.ndarray, psi_y: np.ndarray, psi_z: np.ndarray,
             prof: np.ndarray, p: int, cb: np.ndarray) -> None:
    _, nx, ny, nz = E.shape
    ox, oy, oz = 0, 6 * nx, 6 * nx + 6 * ny  # the e-profiles of each axis
    for ii in numba.prange(nx):
        i = np.int64(ii)
        for j in range(ny):
            if i == 0 or j == 0:  # the PEC walls at index 0
                for k in range(nz):
                    _e_cell(E, H, psi_x, psi_y, psi_z, prof, p, cb, i, j, k)
                continue
            _e_cell(E, H, psi_x, psi_y, psi_z, prof, p, cb, i, j, 0)
            for k in range(1, nz):  # plain curl
                hx, hy, hz, cbv = H[0, i, j, k], H[1, i, j, k], H[2, i, j, k], cb[i, j, k]
                E[0, i, j, k] += cbv * ((hz - H[2, i, j - 1, k]) - (hy - H[1, i, j, k - 1]))
                E[1, i, j, k] += cbv * ((hx - H[0, i, j, k - 1]) - (hz - H[2, i - 1, j, k]))
                E[2, i, j, k] += cbv * ((hy - H[1, i - 1, j, k]) - (hx - H[0, i, j - 1, k]))
            si = _slab(i, nx, p)
            if si >= 0:  # x slab: (Ey,x) (Ez,x)
                b, c, ik = prof[ox + i], prof[ox + nx + i], prof[ox + 2 * nx + i]
                for k in range(1, nz):
                    d_hz = H[2, i, j, k] - H[2, i - 1, j, k]
                    d_hy = H[1, i, j, k] - H[1, i - 1, j, k]
                    a = b * psi_x[2, si, j, k] + c * d_hz
                    q = b * psi_x[3, si, j, k] + c * d_hy
                    psi_x[2, si, j, k], psi_x[3, si, j, k] = a, q
                    E[1, i, j, k] -= cb[i, j, k] * (d_hz * ik - d_hz + a)
                    E[2, i, j, k] += cb[i, j, k] * (d_hy * ik - d_hy + q)
            sj = _slab(j, ny, p)
            if sj >= 0:  # y slab: (Ex,y) (Ez,y)
                b, c, ik = prof[oy + j], prof[oy + ny + j], prof[oy + 2 * ny + j]
                for k in range(1, nz):
                    d_hz = H[2, i, j, k] - H[2, i, j - 1, k]
                    d_hx = H[0, i, j, k] - H[0, i, j - 1, k]
                    a = b * psi_y[2, i, sj, k] + c * d_hz
                    q = b * psi_y[3, i, sj, k] + c * d_hx
                    psi_y[2, i, sj, k], psi_y[3, i, sj, k] = a, q
                    E[0, i, j, k] += cb[i, j, k] * (d_hz * ik - d_hz + a)
                    E[2, i, j, k] -= cb[i, j, k] * (d_hx * ik - d_hx + q)
            for sk in range(2 * p):  # z slabs: (Ex,z) (Ey,z)
                k = sk if sk < p else sk + nz - 2 * p
                if k == 0:  # done by _e_cell
                    continue
                b, c, ik = prof[oz + k], prof[oz + nz + k], prof[oz + 2 * nz + k]
                d_hy = H[1, i, j, k] - H[1, i, j, k - 1]
                d_hx = H[0, i, j, k] - H[0, i, j, k - 1]
                a = b * psi_z[2, i, j, sk] + c * d_hy
                q = b * psi_z[3, i, j, sk] + c * d_hx
                psi_z[2, i, j, sk], psi_z[3, i, j, sk] = a, q
                E[0, i, j, k] -= cb[i, j, k] * (d_hy * ik - d_hy + a)
                E[1, i, j, k] += cb[i, j, k] * (d_hx * ik - d_hx + q)


# ---- the backward pass: the transposed steps of ``kernels/adjoint3d.cu`` (see there for the algebra), with
# kernel 2's core path (cells whose stencil touches no slab take a plain transposed curl) ----
@numba.njit(cache=True)
def _dual(s, a, slot, i, j, k, chi_x, chi_y, chi_z, out_x, out_y, out_z, write, prof, h, p):
    """dbar of one (axis, slot) CPML pair at (i, j, k) for seed s; writes chi_out for the cell's own pairs."""
    nx, ny, nz = chi_y.shape[1], chi_x.shape[2], chi_x.shape[3]
    if a == 0:
        pos, n, offset = i, nx, 0
    elif a == 1:
        pos, n, offset = j, ny, 6 * nx
    else:
        pos, n, offset = k, nz, 6 * nx + 6 * ny
    sl = _slab(pos, n, p)
    if sl < 0:
        return s
    q = offset + h * n
    b, c, ik = prof[q + pos], prof[q + n + pos], prof[q + 2 * n + pos]
    if a == 0:
        phi = chi_x[slot, sl, j, k] + s
        if write:
            out_x[slot, sl, j, k] = b * phi
    elif a == 1:
        phi = chi_y[slot, i, sl, k] + s
        if write:
            out_y[slot, i, sl, k] = b * phi
    else:
        phi = chi_z[slot, i, j, sl] + s
        if write:
            out_z[slot, i, j, sl] = b * phi
    return s * ik + c * phi


@numba.njit(parallel=True, fastmath=False, cache=True)
def transpose_e(Eb, Hb, cx, cy, cz, ox, oy, oz, prof, p, cb, mode, E, H, E0, grad) -> None:
    """Hb += (E step)ᵀ Eb with the CPML; mode 1 also undoes the E step on R, mode 2 adds the stored-E gradient."""
    _, nx, ny, nz = Eb.shape
    for ii in numba.prange(nx):
        i = np.int64(ii)  # a signed index, as in _slab
        for j in range(ny):
            for k in range(nz):
                c0 = cb[i, j, k]
                if p <= i < nx - p - 1 and p <= j < ny - p - 1 and p <= k < nz - p - 1:  # kernel 2's core path
                    s0, s1, s2 = c0 * Eb[0, i, j, k], c0 * Eb[1, i, j, k], c0 * Eb[2, i, j, k]
                    cy_, cz_, cx_ = cb[i, j + 1, k], cb[i, j, k + 1], cb[i + 1, j, k]
                    Hb[0, i, j, k] += (s1 - cz_ * Eb[1, i, j, k + 1]) - (s2 - cy_ * Eb[2, i, j + 1, k])
                    Hb[1, i, j, k] += (s2 - cx_ * Eb[2, i + 1, j, k]) - (s0 - cz_ * Eb[0, i, j, k + 1])
                    Hb[2, i, j, k] += (s0 - cy_ * Eb[0, i, j + 1, k]) - (s1 - cx_ * Eb[1, i + 1, j, k])
                else:
                    s0 = c0 * Eb[0, i, j, k] if (j > 0 and k > 0) else 0.0
                    s1 = c0 * Eb[1, i, j, k] if (i > 0 and k > 0) else 0.0
                    s2 = c0 * Eb[2, i, j, k] if (i > 0 and j > 0) else 0.0
                    hz = _dual(s0, 1, 2, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 0, p)
                    hy = _dual(-s0, 2, 2, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 0, p)
                    hx = _dual(s1, 2, 3, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 0, p)
                    hz += _dual(-s1, 0, 2, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 0, p)
                    hy += _dual(s2, 0, 3, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 0, p)
                    hx += _dual(-s2, 1, 3, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 0, p)
                    if j + 1 < ny:
                        m0 = cb[i, j + 1, k] if k > 0 else 0.0
                        m2 = cb[i, j + 1, k] if i > 0 else 0.0
                        hz -= _dual(m0 * Eb[0, i, j + 1, k], 1, 2, i, j + 1, k, cx, cy, cz, ox, oy, oz, False, prof,
                                    0, p)
                        hx -= _dual(-m2 * Eb[2, i, j + 1, k], 1, 3, i, j + 1, k, cx, cy, cz, ox, oy, oz, False, prof,
                                    0, p)
                    if k + 1 < nz:
                        m0 = cb[i, j, k + 1] if j > 0 else 0.0
                        m1 = cb[i, j, k + 1] if i > 0 else 0.0
                        hy -= _dual(-m0 * Eb[0, i, j, k + 1], 2, 2, i, j, k + 1, cx, cy, cz, ox, oy, oz, False, prof,
                                    0, p)
                        hx -= _dual(m1 * Eb[1, i, j, k + 1], 2, 3, i, j, k + 1, cx, cy, cz, ox, oy, oz, False, prof,
                                    0, p)
                    if i + 1 < nx:
                        m1 = cb[i + 1, j, k] if k > 0 else 0.0
                        m2 = cb[i + 1, j, k] if j > 0 else 0.0
                        hz -= _dual(-m1 * Eb[1, i + 1, j, k], 0, 2, i + 1, j, k, cx, cy, cz, ox, oy, oz, False, prof,
                                    0, p)
                        hy -= _dual(m2 * Eb[2, i + 1, j, k], 0, 3, i + 1, j, k, cx, cy, cz, ox, oy, oz, False, prof,
                                    0, p)
                    Hb[0, i, j, k] += hx
                    Hb[1, i, j, k] += hy
                    Hb[2, i, j, k] += hz
                inside = p <= i < nx - p and p <= j < ny - p and p <= k < nz - p
                if mode == 1 and inside:
                    cux = (H[2, i, j, k] - H[2, i, j - 1, k]) - (H[1, i, j, k] - H[1, i, j, k - 1])
                    cuy = (H[0, i, j, k] - H[0, i, j, k - 1]) - (H[2, i, j, k] - H[2, i - 1, j, k])
                    cuz = (H[1, i, j, k] - H[1, i - 1, j, k]) - (H[0, i, j, k] - H[0, i, j - 1, k])
                    grad[i, j, k] += Eb[0, i, j, k] * cux + Eb[1, i, j, k] * cuy + Eb[2, i, j, k] * cuz
                    E[0, i, j, k] -= c0 * cux
                    E[1, i, j, k] -= c0 * cuy
                    E[2, i, j, k] -= c0 * cuz
                elif mode == 2 and inside:
                    acc = 0.0
                    for u in range(3):
                        acc += Eb[u, i, j, k] * (E[u, i, j, k] - E0[u, i, j, k])
                    grad[i, j, k] += acc / c0


@numba.njit(parallel=True, fastmath=False, cache=True)
def transpose_h(Eb, Hb, cx, cy, cz, ox, oy, oz, prof, p, dt, mode, E, H) -> None:
    """Eb += (H step)ᵀ Hb with the CPML; mode 1 also undoes the H step on R."""
    _, nx, ny, nz = Eb.shape
    for ii in numba.prange(nx):
        i = np.int64(ii)  # a signed index, as in _slab
        for j in range(ny):
            for k in range(nz):
                if p < i < nx - p and p < j < ny - p and p < k < nz - p:  # kernel 2's core path
                    hx, hy, hz = Hb[0, i, j, k], Hb[1, i, j, k], Hb[2, i, j, k]
                    Eb[0, i, j, k] += dt * ((hy - Hb[1, i, j, k - 1]) - (hz - Hb[2, i, j - 1, k]))
                    Eb[1, i, j, k] += dt * ((hz - Hb[2, i - 1, j, k]) - (hx - Hb[0, i, j, k - 1]))
                    Eb[2, i, j, k] += dt * ((hx - Hb[0, i, j - 1, k]) - (hy - Hb[1, i - 1, j, k]))
                else:
                    t0, t1, t2 = -dt * Hb[0, i, j, k], -dt * Hb[1, i, j, k], -dt * Hb[2, i, j, k]
                    ez = -_dual(t0, 1, 0, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 3, p)
                    ey = -_dual(-t0, 2, 0, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 3, p)
                    ex = -_dual(t1, 2, 1, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 3, p)
                    ez -= _dual(-t1, 0, 0, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 3, p)
                    ey -= _dual(t2, 0, 1, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 3, p)
                    ex -= _dual(-t2, 1, 1, i, j, k, cx, cy, cz, ox, oy, oz, True, prof, 3, p)
                    if j > 0:
                        ez += _dual(-dt * Hb[0, i, j - 1, k], 1, 0, i, j - 1, k, cx, cy, cz, ox, oy, oz, False, prof,
                                    3, p)
                        ex += _dual(dt * Hb[2, i, j - 1, k], 1, 1, i, j - 1, k, cx, cy, cz, ox, oy, oz, False, prof,
                                    3, p)
                    if k > 0:
                        ey += _dual(dt * Hb[0, i, j, k - 1], 2, 0, i, j, k - 1, cx, cy, cz, ox, oy, oz, False, prof,
                                    3, p)
                        ex += _dual(-dt * Hb[1, i, j, k - 1], 2, 1, i, j, k - 1, cx, cy, cz, ox, oy, oz, False, prof,
                                    3, p)
                    if i > 0:
                        ez += _dual(dt * Hb[1, i - 1, j, k], 0, 0, i - 1, j, k, cx, cy, cz, ox, oy, oz, False, prof,
                                    3, p)
                        ey += _dual(-dt * Hb[2, i - 1, j, k], 0, 1, i - 1, j, k, cx, cy, cz, ox, oy, oz, False, prof,
                                    3, p)
                    Eb[0, i, j, k] += ex
                    Eb[1, i, j, k] += ey
                    Eb[2, i, j, k] += ez
                if mode == 1 and p <= i < nx - p and p <= j < ny - p and p <= k < nz - p:
                    H[0, i, j, k] += dt * ((E[2, i, j + 1, k] - E[2, i, j, k]) - (E[1, i, j, k + 1] - E[1, i, j, k]))
                    H[1, i, j, k] += dt * ((E[0, i, j, k + 1] - E[0, i, j, k]) - (E[2, i + 1, j, k] - E[2, i, j, k]))
                    H[2, i, j, k] += dt * ((E[1, i + 1, j, k] - E[1, i, j, k]) - (E[0, i, j + 1, k] - E[0, i, j, k]))
