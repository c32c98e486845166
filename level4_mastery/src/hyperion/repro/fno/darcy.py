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
* :func:`generate` draws the coefficients in chunks on the device while a pool of CPU processes
  solves the chunks already drawn (each sent as the sign of the field: one byte a node).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from functools import lru_cache
from typing import Any

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
             pool: ProcessPoolExecutor | None = None, chunk: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``count`` pairs ``(a, u)`` solved on ``s_solve`` nodes per side, subsampled by ``subsample`` (float32).

    Coefficients are drawn batched on ``xp`` a chunk at a time; each chunk's solves go to ``pool``
    (in this process if None) while the next chunk is drawn.
    """
    rng = np.random.default_rng(seed)
    inputs, outputs = [], []
    for start in range(0, count, chunk):
        a = sample_coefficient(min(chunk, count - start), s_solve, rng, xp)
        a = xp.asnumpy(a) if hasattr(xp, "asnumpy") else np.asarray(a)
        inputs.append(a[:, ::subsample, ::subsample].astype(np.float32))
        positive = a > 7.5  # psi's two values, 12 and 3, as the sign they came from
        if pool is None:
            outputs += [solve_subsampled(field, subsample) for field in positive]
        else:
            outputs += [pool.submit(solve_subsampled, field, subsample) for field in positive]
    solutions = [u.result() if isinstance(u, Future) else u for u in outputs]
    return np.concatenate(inputs), np.stack(solutions)
