"""The gradient oracle in 3D: the forward run of :mod:`hyperion.physics.grad3d` written in Hyperion tensors.

Every step is recorded in Hyperion's graph, so ``backward()`` differentiates the loop as written, with
nothing hand-derived: the reference the time-reversal and checkpointing gradients are checked against.
ψ lives on the whole grid here (zero where c = 0) and the profiles come from :func:`axis_profile`
directly, so this also checks the fast backends' slab bookkeeping. Small grids only.
"""

from __future__ import annotations

import numpy as np

from hyperion.physics.grad3d import Problem3D
from hyperion.physics.pml import CPMLSettings, axis_profile
from hyperion.physics.yee import courant_limit
from hyperion.tensor import Tensor, cat, stack, tensor


def _slice(axis: int, part: slice) -> tuple:
    index = [slice(None)] * 3
    index[axis] = part
    return tuple(index)


def _forward(f: Tensor, axis: int) -> Tensor:
    """f[i+1] - f[i], f = 0 past the last cell."""
    return cat([f[_slice(axis, slice(1, None))] - f[_slice(axis, slice(None, -1))], -f[_slice(axis, slice(-1, None))]],
               axis)


def _backward(f: Tensor, axis: int) -> Tensor:
    """f[i] - f[i-1], f = 0 before the first cell."""
    return cat([f[_slice(axis, slice(0, 1))], f[_slice(axis, slice(1, None))] - f[_slice(axis, slice(None, -1))]],
               axis)


def _pad(inner: Tensor, shape: tuple[int, int, int], p: int, value: float) -> Tensor:
    """``inner`` in the middle of a ``shape`` block filled with ``value``."""
    out = inner
    for axis in range(3):
        side = list(out.shape)
        side[axis] = p
        block = tensor(np.full(side, value))
        out = cat([block, out, block], axis)
    return out


def unrolled_dft3d(eps_interior: Tensor, problem: Problem3D) -> Tensor:
    """(2, frequencies, monitors): the DFT at the monitors, as a Hyperion graph of every step."""
    shape, p = problem.shape, problem.pml
    dt = 0.99 * courant_limit(3) if problem.courant is None else float(problem.courant)
    cb = _pad(eps_interior, shape, p, problem.background) ** -1 * dt
    settings = CPMLSettings(thickness=p)
    profile = {}
    for axis, n in enumerate(shape):
        prof = axis_profile(n, 1.0, dt, settings)
        along = [1, 1, 1]
        along[axis] = n
        for name, (b, c, kappa) in (("e", (prof.b_e, prof.c_e, prof.kappa_e)),
                                    ("h", (prof.b_h, prof.c_h, prof.kappa_h))):
            profile[name, axis] = tuple(tensor(np.broadcast_to(a.reshape(along), shape).copy())
                                        for a in (b, c, 1 / kappa))
    masks = []
    for u in range(3):
        mask = np.ones(shape)
        for axis in {0, 1, 2} - {u}:
            mask[_slice(axis, slice(0, 1))] = 0.0
        masks.append(tensor(mask))
    source = np.zeros(shape)
    source[tuple(problem.source)] = 1.0
    source_t = tensor(source)
    zero = tensor(np.zeros(shape))
    E, H = [zero] * 3, [zero] * 3
    psi: dict = {}
    terms = {u: ((1.0, (u + 1) % 3, (u + 2) % 3), (-1.0, (u + 2) % 3, (u + 1) % 3)) for u in range(3)}

    def stretch(d: Tensor, key: tuple, kind: str, axis: int) -> Tensor:
        b, c, inverse_kappa = profile[kind, axis]
        psi[key] = b * psi.get(key, zero) + c * d
        return d * inverse_kappa + psi[key]

    samples = []
    cells = list(zip(*problem.monitor))
    for n in range(problem.steps):
        H = [H[u] - sum((stretch(_forward(E[f], a), ("h", u, a), "h", a) * (s * dt) for s, a, f in terms[u]), zero)
             for u in range(3)]
        E = [(E[u] + cb * sum((stretch(_backward(H[f], a), ("e", u, a), "e", a) * s for s, a, f in terms[u]), zero))
             * masks[u] for u in range(3)]
        E[2] = E[2] - cb * source_t * float(problem.waveform((n + 0.5) * dt))
        samples.append(stack([E[2][int(i), int(j), int(k)] for i, j, k in cells]))
    history = stack(samples)  # (steps, monitors)
    table = np.stack([problem.weights(n + 1, dt) for n in range(problem.steps)])  # (steps, frequencies)
    re = tensor(np.ascontiguousarray(table.real.T)) @ history
    im = tensor(np.ascontiguousarray(table.imag.T)) @ history
    return stack([re, im])
