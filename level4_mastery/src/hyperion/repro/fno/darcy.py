"""Darcy flow data: ``-div(a grad u) = f`` on the unit square, ``u = 0`` on the boundary, ``f = 1``.

Li et al. (2021) take ``a = psi(g)`` with ``g ~ N(0, (-Delta + 9 I)^-2)`` under zero-Neumann boundary
conditions and ``psi`` mapping the positive reals to 12 and the negative to 3, solve on a 421 x 421
grid and subsample to 85 / 141 / 211 points. Here:

* :func:`sample_coefficient` draws ``g`` as a cosine series (the Neumann eigenfunctions
  ``cos(pi k1 x) cos(pi k2 y)``, standard deviation ``1 / (pi^2 |k|^2 + 9)``, mean mode dropped),
  evaluated on the grid by two matrix products per sample -- batched on numpy or CuPy;
* :func:`solve` is the 5-point finite-difference scheme with face-averaged coefficients
  ``a_{i+1/2,j} = (a_ij + a_{i+1,j}) / 2``, assembled as a scipy sparse matrix and solved directly
  by SuperLU. The unknowns are numbered in a geometric nested-dissection order
  (:func:`nested_dissection`: cut the grid in two by a line of nodes, number each half the same way,
  the line last), computed once per grid size, so SuperLU runs with ``permc_spec="NATURAL"`` and no
  ordering of its own, pivoting on the diagonal (the matrix is symmetric positive definite and
  diagonally dominant: no pivoting is needed). It replaced SuperLU's minimum-degree ordering of
  ``A + A^T``, which ordered the same pattern again for every sample; measured on the H200 machine's
  CPU, one process, three samples at s = 421 (``python -m hyperion.repro.fno.bench_solver``): 1.22 s
  against 1.29 s per solve -- only 1.05x, the numerical factorisation dominates either way;
* :func:`solve_pcg` solves the same linear systems iteratively, a whole batch at once on numpy or CuPy
  (the issue's protocol asks for a sparse direct solve; this is the GPU alternative, checked against it):
  conjugate gradients on the matrix-free 5-point stencil, preconditioned by the constant-coefficient
  Laplacian, inverted exactly by sine transforms (:func:`poisson_inverse`). As ``3 <= a <= 12``, the
  preconditioned matrix's eigenvalues lie in ``[3, 12]`` (each face term of ``x^T A x`` is ``a_face``
  times that of ``x^T L x``): condition number at most 4, whatever the grid, and CG's error shrinks
  at least by ``(sqrt(4) - 1) / (sqrt(4) + 1) = 1/3`` per iteration;
* :func:`generate` draws the coefficients in chunks on the device while a pool of CPU processes
  solves the chunks already drawn (each sent as the sign of the field: one byte a node), or solves
  each chunk where it was drawn with :func:`solve_pcg` (``solver="pcg"``).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

Array = Any


def sample_coefficient(count: int, s: int, rng: np.random.Generator, xp: Any = np,
                       modes: int | None = None) -> Array:
    """``count`` fields ``a = 12 if g >= 0 else 3`` on the ``s x s`` grid of [0, 1]^2 (nodes on the boundary)."""
    modes = s if modes is None else modes
    k = np.arange(modes)
    std = 1.0 / (np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + 9.0)
    std[0, 0] = 0.0
    xi = rng.standard_normal((count, modes, modes))
    basis = xp.asarray(np.cos(np.pi * np.linspace(0.0, 1.0, s)[:, None] * k[None, :]))
    g = basis @ xp.asarray(std * xi) @ basis.T
    return psi(g >= 0, xp)


def psi(positive: Array, xp: Any = np) -> Array:
    """The paper's map of the Gaussian field's sign to the coefficient: 12 where ``g >= 0``, else 3."""
    return xp.where(positive, 12.0, 3.0)


@lru_cache(maxsize=8)
def nested_dissection(m: int, leaf: int = 16) -> np.ndarray:
    """An elimination order of the ``m x m`` grid's nodes (row-major numbers): split the longer side of a
    rectangle by its middle line of nodes, order each half recursively, then the line; rectangles of
    at most ``leaf`` nodes in row-major order. A node's neighbours on the 5-point stencil lie in its own
    half or on the line, so eliminating the halves creates no fill across them (George, 1973)."""
    index = np.arange(m * m).reshape(m, m)
    order: list[np.ndarray] = []
    stack: list[tuple[int, int, int, int] | np.ndarray] = [(0, m, 0, m)]
    while stack:  # an explicit stack (no recursion): pop a rectangle, push line, halves in reverse
        item = stack.pop()
        if isinstance(item, np.ndarray):
            order.append(item)
            continue
        i0, i1, j0, j1 = item
        if i1 <= i0 or j1 <= j0:
            continue
        if (i1 - i0) * (j1 - j0) <= leaf:
            order.append(index[i0:i1, j0:j1].ravel())
        elif i1 - i0 >= j1 - j0:
            mid = (i0 + i1) // 2
            stack += [index[mid, j0:j1], (mid + 1, i1, j0, j1), (i0, mid, j0, j1)]
        else:
            mid = (j0 + j1) // 2
            stack += [index[i0:i1, mid], (i0, i1, mid + 1, j1), (i0, i1, j0, mid)]
    result = np.concatenate(order)
    result.flags.writeable = False
    return result


def operator(a: np.ndarray, order: np.ndarray | None = None) -> sp.csr_matrix:
    """The 5-point matrix of ``-div(a grad .)`` on the interior nodes of the grid of ``a`` (spacing 1/(n-1)).

    Unknowns are numbered row by row, or in ``order`` (unknown ``k`` is interior node ``order[k]``,
    row-major): then the matrix is ``P A P^T`` of the row-major one, assembled directly."""
    n = a.shape[0]
    if a.shape != (n, n) or n < 3:
        raise ValueError(f"darcy.operator: expected a square grid of at least 3 x 3 nodes, got {a.shape}")
    m, h2 = n - 2, (n - 1) ** 2
    east = 0.5 * (a[1:-1, 1:-1] + a[2:, 1:-1])  # face between node (i, j) and (i + 1, j)
    west = 0.5 * (a[1:-1, 1:-1] + a[:-2, 1:-1])
    north = 0.5 * (a[1:-1, 1:-1] + a[1:-1, 2:])
    south = 0.5 * (a[1:-1, 1:-1] + a[1:-1, :-2])
    diagonal = (east + west + north + south).ravel() * h2
    if order is None:
        index = np.arange(m * m).reshape(m, m)
    else:
        index = np.empty(m * m, dtype=np.int64)
        index[order] = np.arange(m * m)
        index = index.reshape(m, m)
    rows = [index.ravel()]
    cols = [index.ravel()]
    vals = [diagonal]
    for coeff, di, dj in ((east, 1, 0), (west, -1, 0), (north, 0, 1), (south, 0, -1)):
        i0, i1 = max(0, -di), m - max(0, di)  # interior neighbours only: boundary values are zero
        j0, j1 = max(0, -dj), m - max(0, dj)
        rows.append(index[i0:i1, j0:j1].ravel())
        cols.append(index[i0 + di : i1 + di, j0 + dj : j1 + dj].ravel())
        vals.append(-h2 * coeff[i0:i1, j0:j1].ravel())
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m * m,) * 2)


def solve(a: np.ndarray, f: np.ndarray | float = 1.0) -> np.ndarray:
    """``u`` on the grid of ``a`` (shape (n, n), nodes on the boundary) with ``u = 0`` on the boundary."""
    a = np.asarray(a, dtype=np.float64)
    n = a.shape[0]
    if a.shape != (n, n) or n < 3:
        raise ValueError(f"darcy.solve: expected a square grid of at least 3 x 3 nodes, got {a.shape}")
    order = nested_dissection(n - 2)
    rhs = np.broadcast_to(np.asarray(f, dtype=np.float64), a.shape)[1:-1, 1:-1].ravel()
    factors = splu(operator(a, order).tocsc(), permc_spec="NATURAL",
                   options={"SymmetricMode": True, "DiagPivotThresh": 0.0})
    interior = np.empty((n - 2) * (n - 2))
    interior[order] = factors.solve(rhs[order])
    u = np.zeros((n, n))
    u[1:-1, 1:-1] = interior.reshape(n - 2, n - 2)
    return u


SOLVERS = ("direct", "pcg")
PCG_RTOL = 1e-10  # solve_pcg's default stopping point: |f - A u| / |f| on the interior nodes


class PCGSolution(NamedTuple):
    """What :func:`solve_pcg` returns: ``u`` (on the device it ran on) and, per sample (host arrays), the
    iterations it took and its final relative residual ``|f - A u| / |f|`` (2-norms, interior nodes)."""

    u: Array
    iterations: np.ndarray
    relative_residual: np.ndarray


def stencil_coefficients(a: Array) -> tuple[Array, Array, Array]:
    """The batched 5-point matrix of :func:`operator` as three arrays, for ``a`` of shape (batch, n, n):
    ``(x_faces, y_faces, diagonal)``, ``x_faces[b, i, j]`` coupling interior nodes ``(i, j)`` and
    ``(i + 1, j)`` (shape (batch, m - 1, m), ``m = n - 2``), ``y_faces`` likewise along ``j``, and the
    diagonal (batch, m, m) -- which also counts the faces to the boundary. All scaled by ``1 / h^2``."""
    h2 = (a.shape[-1] - 1) ** 2
    x_faces = 0.5 * h2 * (a[:, :-1, 1:-1] + a[:, 1:, 1:-1])  # every face along i, boundary ones included
    y_faces = 0.5 * h2 * (a[:, 1:-1, :-1] + a[:, 1:-1, 1:])
    diagonal = x_faces[:, :-1] + x_faces[:, 1:] + y_faces[:, :, :-1] + y_faces[:, :, 1:]
    return x_faces[:, 1:-1], y_faces[:, :, 1:-1], diagonal


def apply_stencil(u: Array, coefficients: tuple[Array, Array, Array]) -> Array:
    """``A u`` for interior values ``u`` (batch, m, m), matrix-free: the product :func:`operator`'s matrix
    gives, sample by sample (zero boundary values)."""
    x_faces, y_faces, diagonal = coefficients
    out = diagonal * u
    out[:, :-1] -= x_faces * u[:, 1:]
    out[:, 1:] -= x_faces * u[:, :-1]
    out[:, :, :-1] -= y_faces * u[:, :, 1:]
    out[:, :, 1:] -= y_faces * u[:, :, :-1]
    return out


def sine_transform(x: Array, axis: int, xp: Any = np) -> Array:
    """The type-I discrete sine transform ``X_k = sum_j x_j sin(pi j k / (m + 1))`` (j, k = 1 ... m) along
    ``axis``, through a real FFT of the odd extension ``(0, x, 0, -reversed x)`` of length ``2 (m + 1)``
    (CuPy's ``cupyx.scipy.fft`` has no type I). It is its own inverse up to the factor ``2 / (m + 1)``."""
    x = xp.moveaxis(x, axis, -1)
    zero = xp.zeros(x.shape[:-1] + (1,), dtype=x.dtype)
    extended = xp.concatenate([zero, x, zero, -x[..., ::-1]], axis=-1)
    transform = -0.5 * xp.fft.rfft(extended, axis=-1)[..., 1 : x.shape[-1] + 1].imag
    return xp.moveaxis(transform, -1, axis)


def poisson_inverse(r: Array, xp: Any = np) -> Array:
    """``L^{-1} r`` for the 5-point Laplacian ``L`` (coefficient 1, zero Dirichlet boundary, spacing
    ``1 / (m + 1)``) on interior values ``r`` (batch, m, m): sine transforms diagonalise ``L``."""
    spectrum = sine_transform(sine_transform(r, 1, xp), 2, xp) * _inverse_eigenvalues(r.shape[-1], xp)
    return sine_transform(sine_transform(spectrum, 1, xp), 2, xp)


@lru_cache(maxsize=8)
def _inverse_eigenvalues(m: int, xp: Any) -> Array:
    """``1 / lambda_kl`` of the ``m x m`` Laplacian times ``(2 / (m + 1))^2``, the two inverse transforms'
    factor; made once per size and array module (on the device for CuPy)."""
    eigen = (2.0 * (m + 1)) ** 2 * np.sin(np.pi * np.arange(1, m + 1) / (2 * (m + 1))) ** 2
    return xp.asarray((2.0 / (m + 1)) ** 2 / (eigen[:, None] + eigen[None, :]))


def _norms(x: Array, xp: Any) -> Array:
    return xp.sqrt(xp.sum(x * x, axis=(1, 2)))


def solve_pcg(a: Array, f: Array | float = 1.0, xp: Any = np, rtol: float = PCG_RTOL,
              max_iterations: int = 200) -> PCGSolution:
    """:func:`solve` for a batch ``a`` (batch, n, n) at once, iteratively on ``xp`` (numpy or CuPy), float64.

    Conjugate gradients on :func:`apply_stencil`, preconditioned by :func:`poisson_inverse`; a sample
    stops (its step set to zero) once ``|f - A u| / |f| <= rtol`` on the interior nodes, the batch when
    all have. Raises if a sample is still above ``rtol`` after ``max_iterations``.
    """
    a = xp.asarray(a, dtype=xp.float64)
    if a.ndim != 3 or a.shape[1] != a.shape[2] or a.shape[1] < 3:
        raise ValueError(f"darcy.solve_pcg: expected a batch of square grids (batch, n, n), n >= 3, got {a.shape}")
    if not bool(xp.all(a > 0)):
        raise ValueError("darcy.solve_pcg: the coefficient a must be positive everywhere")
    coefficients = stencil_coefficients(a)
    b = xp.ascontiguousarray(xp.broadcast_to(xp.asarray(f, dtype=xp.float64), a.shape)[:, 1:-1, 1:-1])
    b_norm = _norms(b, xp)
    b_norm = xp.where(b_norm > 0, b_norm, 1.0)  # f = 0: u = 0, reached at once
    x = xp.zeros_like(b)
    r = b.copy()
    z = poisson_inverse(r, xp)
    p = z.copy()
    rz = xp.sum(r * z, axis=(1, 2))
    iterations = xp.zeros(a.shape[0], dtype=xp.int64)
    active = _norms(r, xp) / b_norm > rtol
    for _ in range(max_iterations if bool(active.any()) else 0):
        q = apply_stencil(p, coefficients)
        pq = xp.sum(p * q, axis=(1, 2))
        alpha = xp.where(active, rz / xp.where(active, pq, 1.0), 0.0)[:, None, None]
        x += alpha * p
        r -= alpha * q
        iterations += active
        active &= _norms(r, xp) / b_norm > rtol
        if not bool(active.any()):  # one synchronisation per iteration on a GPU
            break
        z = poisson_inverse(r, xp)
        rz_next = xp.sum(r * z, axis=(1, 2))
        beta = xp.where(active, rz_next / xp.where(active, rz, 1.0), 0.0)[:, None, None]
        p = z + beta * p
        rz = rz_next
    residual = _norms(b - apply_stencil(x, coefficients), xp) / b_norm
    residual, iterations = _to_host(residual, xp), _to_host(iterations, xp)
    if bool(active.any()):
        raise RuntimeError(f"darcy.solve_pcg: {int(_to_host(active, xp).sum())} of {a.shape[0]} samples still above "
                           f"relative residual {rtol:g} after {max_iterations} iterations (largest now "
                           f"{residual.max():.3g})")
    u = xp.zeros(a.shape, dtype=xp.float64)
    u[:, 1:-1, 1:-1] = x
    return PCGSolution(u, iterations, residual)


def _to_host(x: Array, xp: Any) -> np.ndarray:
    return xp.asnumpy(x) if hasattr(xp, "asnumpy") else np.asarray(x)


def solve_subsampled(positive: np.ndarray, subsample: int) -> np.ndarray:
    """:func:`solve` for ``a = psi(positive)``, returning every ``subsample``-th node (float32): what a
    worker is sent (the field's sign, one byte a node) and sends back."""
    return solve(psi(positive))[::subsample, ::subsample].astype(np.float32)


def _single_threaded() -> None:
    """Worker start-up: one BLAS thread per process (the pool already fills the cores)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # then the BLAS keeps its own thread count
        return
    threadpool_limits(1)


def solver_pool(workers: int) -> ProcessPoolExecutor:
    """CPU processes for the sparse solves (spawned: safe beside CUDA and threads in this process)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_single_threaded)


def generate(count: int, s_solve: int, subsample: int, seed: int, xp: Any = np,
             pool: ProcessPoolExecutor | None = None, chunk: int = 100, solver: str = "direct",
             log: list[dict[str, Any]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``count`` pairs ``(a, u)`` solved on ``s_solve`` nodes per side, subsampled by ``subsample`` (float32).

    Coefficients are drawn batched on ``xp`` a chunk at a time. ``solver="direct"``: each chunk's
    solves go to ``pool`` (in this process if None) while the next chunk is drawn. ``solver="pcg"``:
    each chunk is solved at once on ``xp`` by :func:`solve_pcg` (the same fields for the same seed);
    its iterations and residuals are appended to ``log`` if given.
    """
    if solver not in SOLVERS:
        raise ValueError(f"darcy.generate: solver must be one of {SOLVERS}, got {solver!r}")
    rng = np.random.default_rng(seed)
    inputs, outputs = [], []
    for start in range(0, count, chunk):
        a_device = sample_coefficient(min(chunk, count - start), s_solve, rng, xp)
        inputs.append(_to_host(a_device[:, ::subsample, ::subsample].astype(xp.float32), xp))
        if solver == "pcg":
            solution = solve_pcg(a_device, xp=xp)
            outputs += list(_to_host(solution.u[:, ::subsample, ::subsample].astype(xp.float32), xp))
            if log is not None:
                log.append({"samples": int(a_device.shape[0]), "iterations": solution.iterations.tolist(),
                            "relative_residual_max": float(solution.relative_residual.max())})
            continue
        positive = _to_host(a_device > 7.5, xp)  # psi's two values, 12 and 3, as the sign they came from
        if pool is None:
            outputs += [solve_subsampled(field, subsample) for field in positive]
        else:
            outputs += [pool.submit(solve_subsampled, field, subsample) for field in positive]
    solutions = [u.result() if isinstance(u, Future) else u for u in outputs]
    return np.concatenate(inputs), np.stack(solutions)
