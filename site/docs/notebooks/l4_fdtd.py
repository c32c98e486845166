# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # FDTD: the Yee update, a CPML absorbing a pulse, a gradient
#
# **Objectives.** Run level 4's Yee grid and watch a pulse spread at the speed the grid allows; see
# the Courant limit refuse an unstable step; measure how much of a pulse's energy stays in a box with
# reflecting walls and with a CPML; check the adjoint gradient with respect to the permittivity
# against central differences. **Prerequisites.** [FDTD: Yee grid, CPML, adjoint](../level4/fdtd.md),
# [Checking gradients](../level0/gradcheck.md). **Time:** 25 minutes.
#
# Everything runs the numpy solver of `hyperion.physics` on small 2D grids (TMz: fields $E_z$,
# $H_x$, $H_y$), so the whole notebook takes a few seconds on a CPU. Units: $c = \varepsilon_0 =
# \mu_0 = \Delta x = 1$.

# %%
import matplotlib.pyplot as plt
import numpy as np

from hyperion.physics import CourantError, GaussianPulse, PointSource, Simulation, adjoint, courant_limit, tmz

# %% [markdown]
# ## The Yee update
#
# One step advances $H$ by half a step from the curl of $E$, then $E$ from the curl of $H$:
#
# $$H^{n+1/2} = H^{n-1/2} - \Delta t\, \nabla\times E^n, \qquad
#   E^{n+1} = c_a E^n + c_b\,(\nabla\times H^{n+1/2} - J^{n+1/2}).$$
#
# Every curl is a difference of two neighbouring cells, which is why the time step is bounded: in
# 2D, $c\,\Delta t \le \Delta x/\sqrt 2$. The solver refuses a step above the limit rather than let
# the fields grow without bound.

# %%
print(f"2D limit: S = c dt/dx <= {courant_limit(2):.6f}")
try:
    Simulation((40, 40), courant=0.71)
except CourantError as error:
    print("refused:", error)

# %% [markdown]
# A Gaussian pulse from a soft point source in the middle of a 121 × 121 grid, with a 10-cell CPML
# on every wall. After $n$ steps the front has travelled $c\,n\,\Delta t$ cells; the snapshot below
# draws that radius as a dashed circle. The grid's waves are slightly slower than $c$ along the axes
# (numerical dispersion), so the front sits just inside the circle there.

# %%
pulse = GaussianPulse(width=4.0, delay=16.0)  # a plain Gaussian in time (no carrier)
sim = Simulation((121, 121), pml=10)
sim.sources.append(PointSource((60, 60), pulse))
sim.run(70)
radius = (sim.n * sim.dt - pulse.delay)
print(f"dt = {sim.dt:.4f}, {sim.n} steps: front at about {radius:.1f} cells from the source")

fig, ax = plt.subplots(figsize=(4.6, 4))
ez = sim.E[2][:, :, 0]
limit = np.abs(ez).max()
image = ax.imshow(ez.T, origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit)
ax.add_patch(plt.Circle((60, 60), radius, fill=False, ls="--", color="k", lw=0.8))
ax.add_patch(plt.Rectangle((10, 10), 100, 100, fill=False, color="0.5", lw=0.8))  # inner edge of the CPML
ax.set_title(f"$E_z$ after {sim.n} steps")
_ = fig.colorbar(image, ax=ax, shrink=0.8)

# %% [markdown]
# ## A CPML absorbing the pulse
#
# Run the same pulse three times: in a box with bare PEC walls (perfect mirrors), and with a CPML
# of 5 and of 10 cells in front of the walls. The discrete energy $\tfrac12\sum(\varepsilon E^2 +
# H^2)$ is conserved by the lossless Yee update between the walls, so whatever leaves is what the
# layer absorbed.

# %%
carrier = GaussianPulse.for_band(0.06, 0.04)  # 10 to 50 cells per wavelength, no DC part


def energy_history(pml, steps=400, size=81):
    sim = Simulation((size, size), pml=pml)
    sim.sources.append(PointSource((size // 2, size // 2), carrier))
    energies = []
    for _ in range(steps):
        sim.step()
        energies.append(sim.energy())
    return np.array(energies)


histories = {"PEC walls": energy_history(None), "CPML, 5 cells": energy_history(5),
             "CPML, 10 cells": energy_history(10)}
fig, ax = plt.subplots(figsize=(6, 3.2))
source_off = int(2 * carrier.delay / sim.dt)  # the pulse is over by t = 2 x delay
for label, energy in histories.items():
    ax.semilogy(energy / energy[source_off], label=label)
    print(f"{label:<15} energy after 400 steps: {energy[-1] / energy[source_off]:.2e} of the energy at step "
          f"{source_off}")
for label, energy in histories.items():
    print(f"{label:<15} energy at step 180: {energy[179] / energy[source_off]:.1e} of the energy at step {source_off}")
pec = histories["PEC walls"][source_off:]
print(f"PEC walls: energy after step {source_off} stays within [{pec.min() / pec[0]:.3f}, {pec.max() / pec[0]:.3f}] "
      "of its value then")
ax.axvline(source_off, color="0.6", lw=0.8)
ax.set_xlabel("step")
ax.set_ylabel(f"energy / energy at step {source_off}")
_ = ax.legend()

# %% [markdown]
# With PEC walls the energy stays: the pulse bounces around the box for ever (the few per cent of
# wobble is the discrete energy's own: it adds $E^n$ and $H^{n-1/2}$, half a step apart). With a
# CPML it falls by about seven orders of magnitude once the front has crossed the layer. The
# thinner layer shows its reflection on the way: at step 180 the 5-cell box still holds about twenty
# times more energy than the 10-cell one (printed above), the part the layer turned back, until that
# too crosses a wall. By step 400 both end at about the same level: this energy says how much is
# *left*, not how much was reflected. The [validation page](../level4/fdtd-validation.md) measures the
# reflection itself against a larger reference domain (about −73 dB for the default 10 cells).

# %% [markdown]
# ## A gradient with respect to ε
#
# The TMz update is linear in its state, so the gradient of a loss of the recorded fields with
# respect to the permittivity map is one adjoint run backwards in time. Here the loss is the
# power of the running DFT of $E_z$ at two monitor cells, at one frequency. `adjoint.gradient`
# gives the whole map $\partial L/\partial\varepsilon$ from one forward and one backward run;
# central differences need two forward runs per cell, so we check a few cells.

# %%
grid = tmz.TMzGrid.make((40, 36), courant=0.5, pml=8)
source = np.zeros(grid.shape)
source[14, 18] = 1.0
problem = adjoint.TMzProblem(grid, source, GaussianPulse.for_band(0.08, 0.05), steps=160,
                             monitor=(np.array([27, 27]), np.array([12, 24])),
                             omegas=np.array([2 * np.pi * 0.08]))
eps = np.ones(grid.shape)
eps[18:24, 10:26] = 2.0  # a dielectric block between source and monitors


def loss(eps_map):
    dft, _ = adjoint.run_forward(problem, eps_map)
    return float(np.sum(np.abs(dft) ** 2))


dft, _ = adjoint.run_forward(problem, eps)
g = 2 * dft  # dL/dRe + i dL/dIm of L = sum |DFT|^2
grad = adjoint.gradient(problem, eps, g, method="checkpoint")

print(f"largest |dL/deps| on the grid: {np.abs(grad).max():.3e}")
h = 1e-6
for cell in [(20, 18), (16, 18), (30, 30), (4, 4)]:
    up, down = eps.copy(), eps.copy()
    up[cell] += h
    down[cell] -= h
    central = (loss(up) - loss(down)) / (2 * h)
    error = abs(grad[cell] - central) / np.abs(grad).max()
    print(f"cell {cell}: adjoint {grad[cell]: .6e}   central difference {central: .6e}   "
          f"difference / max|grad| {error:.1e}")
    assert error < 1e-6, "the adjoint gradient disagrees with central differences"

# %%
fig, ax = plt.subplots(figsize=(4.6, 4))
limit = np.abs(grad).max()
image = ax.imshow(grad.T, origin="lower", cmap="PuOr", vmin=-limit, vmax=limit)
ax.plot(14, 18, "k*", label="source")
ax.plot(problem.monitor[0], problem.monitor[1], "ks", ms=4, label="monitors")
ax.add_patch(plt.Rectangle((17.5, 9.5), 6, 16, fill=False, color="k", lw=0.8))
ax.set_title(r"$\partial L / \partial \varepsilon$")
_ = ax.legend(loc="upper right", fontsize=8)

# %% [markdown]
# Each printed cell agrees with its central difference to about the finite-difference error. The
# map is largest around the source and the monitors and in the space between them, where a change
# of ε changes what reaches the monitors; it is not zero inside the CPML, since waves that the layer
# turns back, however weakly, also reach the monitors. The three ways of getting $E_z^n$ back in
# reverse order (store, checkpoint, time reversal) agree to round-off; the
# [FDTD page](../level4/fdtd.md) compares their memory and cost.
