"""Central differences against the 3D time-reversal gradient on 32³ fp64 (numba): the numbers behind the README."""
import numpy as np

from hyperion.physics import grad3d
from hyperion.physics.sources import GaussianPulse

OMEGAS = np.array([2 * np.pi * 0.08, 2 * np.pi * 0.06])
problem = grad3d.Problem3D((32, 32, 32), 6, (16, slice(10, 22), slice(10, 22)), GaussianPulse.for_band(0.08, 0.05),
                           60, (np.array([22, 12]), np.array([16, 20]), np.array([16, 9])), OMEGAS)
rng = np.random.default_rng(1)
eps = 1 + rng.random(problem.interior_shape)
dft, _ = grad3d.run_forward(problem, eps, "numba")
g = 2 * dft
grads = {m: grad3d.gradient(problem, eps, g, "numba", m) for m in grad3d.METHODS}
scale = np.abs(grads["reverse"]).max()
print("reverse vs checkpoint (max rel):", np.abs(grads["reverse"] - grads["checkpoint"]).max() / scale)
def loss(e):
    return float(np.sum(np.abs(grad3d.run_forward(problem, e, "numba")[0]) ** 2))



h = 1e-5
largest = np.unravel_index(np.argmax(np.abs(grads["reverse"])), eps.shape)
for cell in [largest, (4, 10, 10), (0, 0, 0), (19, 2, 15)]:
    up, down = eps.copy(), eps.copy()
    up[cell] += h
    down[cell] -= h
    c = (loss(up) - loss(down)) / (2 * h)
    gr = grads["reverse"][cell]
    print(cell, f"central {c:.6e} reverse {gr:.6e} |diff|/max|g| {abs(c - gr) / scale:.1e} "
          f"|diff|/|g_cell| {abs(c - gr) / abs(gr):.1e}")
