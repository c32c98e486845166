"""The numba CPU kernels of the 3D update: the CUDA kernels' loops, one ``prange`` over x.

Same layout and same CPML-in-the-slab scheme as ``kernels/yee3d.cu`` (see there); E and H are
stacked ``[3][nx][ny][nz]`` arrays, profiles packed per axis as (b_e, c_e, 1/κ_e, b_h, c_h, 1/κ_h).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _slab(i: int, n: int, p: int) -> int:
    """Index into the slab arrays: i on the left layer, i - (n - 2p) on the right, -1 in between."""
    i = np.int64(i)  # a prange index may be unsigned, and unsigned - signed is a float in numba
    return i if i < p else (i - (n - 2 * p) if i >= n - p else np.int64(-1))


@numba.njit(parallel=True, fastmath=False, cache=True)
def update_h(E: np.ndarray, H: np.ndarray, psi_x: np.ndarray, psi_y: np.ndarray, psi_z: np.ndarray,
             prof: np.ndarray, p: int, dt) -> None:
    _, nx, ny, nz = E.shape
    ox, oy, oz = 3 * nx, 6 * nx + 3 * ny, 6 * nx + 6 * ny + 3 * nz  # the h-profiles of each axis
    for i in numba.prange(nx):
        si = _slab(i, nx, p)
        for j in range(ny):
            sj = _slab(j, ny, p)
            for k in range(nz):
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
                sk = _slab(k, nz, p)
                if sk >= 0:
                    b, c, ik = prof[oz + k], prof[oz + nz + k], prof[oz + 2 * nz + k]
                    psi_z[0, i, j, sk] = b * psi_z[0, i, j, sk] + c * d_ey_dz
                    d_ey_dz = d_ey_dz * ik + psi_z[0, i, j, sk]
                    psi_z[1, i, j, sk] = b * psi_z[1, i, j, sk] + c * d_ex_dz
                    d_ex_dz = d_ex_dz * ik + psi_z[1, i, j, sk]
                H[0, i, j, k] -= dt * (d_ez_dy - d_ey_dz)
                H[1, i, j, k] -= dt * (d_ex_dz - d_ez_dx)
                H[2, i, j, k] -= dt * (d_ey_dx - d_ex_dy)


@numba.njit(parallel=True, fastmath=False, cache=True)
def update_e(E: np.ndarray, H: np.ndarray, psi_x: np.ndarray, psi_y: np.ndarray, psi_z: np.ndarray,
             prof: np.ndarray, p: int, cb: np.ndarray) -> None:
    _, nx, ny, nz = E.shape
    ox, oy, oz = 0, 6 * nx, 6 * nx + 6 * ny  # the e-profiles of each axis
    for i in numba.prange(nx):
        si = _slab(i, nx, p)
        for j in range(ny):
            sj = _slab(j, ny, p)
            for k in range(nz):
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
                sk = _slab(k, nz, p)
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
