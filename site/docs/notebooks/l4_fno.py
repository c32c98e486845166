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
# # The Fourier Neural Operator: a spectral convolution and a tiny training run
#
# **Objectives.** Generate Burgers data with the project's own solver; see what a spectral
# convolution keeps and drops; check that the same layer acts on any grid; train a small FNO for a
# few seconds and evaluate it, zero-shot, at resolutions it never saw. **Prerequisites.**
# [Reproducing the Fourier Neural Operator](../level4/fno.md), [Autograd](../level1/autograd.md).
# **Time:** 25 minutes.
#
# Everything is scaled down to run in seconds on a CPU: 100 samples instead of 1,200, 64 points
# instead of 8,192, width 16 and 8 modes instead of 64 and 16, 20 epochs instead of 500. The
# numbers below are this small run's, not the paper's; the [FNO page](../level4/fno.md) has those.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import hyperion.tensor as ht
from hyperion.repro.fno import burgers
from hyperion.repro.fno.model import FNO1d, SpectralConv1d
from hyperion.repro.fno.train import evaluate, predict, train
from hyperion.tensor.random import Generator

# %% [markdown]
# ## Burgers data from the project's solver
#
# The task: from an initial condition $u_0$ on the periodic interval $[0, 1)$, predict the solution
# of $u_t + (u^2/2)_x = \nu u_{xx}$ at $t = 1$ ($\nu = 0.1$). The initial conditions are random
# smooth functions (a Gaussian random field); `burgers.solve` integrates each one pseudo-spectrally
# (ETDRK4). We solve on 256 points and keep every 4th for training.

# %%
start = time.perf_counter()
a_fine, u_fine = burgers.generate(100, s_solve=256, subsample=1, seed=0, dt=1 / 200)
print(f"100 initial conditions solved at 256 points in {time.perf_counter() - start:.2f} s")
a, u = a_fine[:, ::4], u_fine[:, ::4]  # the 64-point training resolution
decay = np.linalg.norm(u, axis=1) / np.linalg.norm(a, axis=1)
print(f"||u(1)|| / ||u0||: median {np.median(decay):.3f} (viscosity drains the energy)")

fig, axes = plt.subplots(1, 2, figsize=(9, 3), sharex=True)
x = np.arange(64) / 64
for i in range(3):
    axes[0].plot(x, a[i])
    axes[1].plot(x, u[i])
axes[0].set_title("$u_0$ (input)")
axes[1].set_title("$u(\\cdot, 1)$ (target)")
_ = axes[1].set_xlabel("x")

# %% [markdown]
# ## What a spectral convolution keeps
#
# A Fourier layer's kernel $K$ takes the FFT along space, keeps the lowest `modes` frequencies,
# multiplies each kept frequency by its own learned complex matrix (channels in × channels out),
# and transforms back with zeros for everything else. So whatever the input, the output of
# $K$ has no frequency at or above `modes` (up to float32 round-off):

# %%
layer = SpectralConv1d(1, 1, modes=8, generator=Generator(0))
signal = ht.tensor(a[:1, :, None])  # (batch, points, channels): channel-last
with ht.no_grad():
    out = layer(signal).numpy()[0, :, 0]
spectrum_in, spectrum_out = np.abs(np.fft.rfft(a[0])), np.abs(np.fft.rfft(out))
print(f"largest |mode| at k >= 8: input {spectrum_in[8:].max():.3e}, output {spectrum_out[8:].max():.3e} "
      f"(output's largest mode overall {spectrum_out.max():.3e})")

fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(spectrum_in, "o-", ms=3, label="input")
ax.semilogy(np.maximum(spectrum_out, 1e-12), "s-", ms=3, label="after the spectral convolution")
ax.axvline(7.5, color="0.5", lw=0.8)
ax.set_xlabel("frequency k")
_ = ax.legend()

# %% [markdown]
# That is why the layer is followed by a pointwise linear map $W$ and a nonlinearity: $Kv + Wv$
# lets high frequencies through, and GELU creates new ones, so the network is not limited to
# 8 modes even though each $K$ is.
#
# The weights are per *frequency*, not per grid point, so the same layer applies to any grid. On
# a function with nothing above the grid's Nyquist frequency, the output at 256 points, read every
# 4th point, equals the output at 64 points. Our $u_0$ has a little energy above 32 (it decays as
# $1/k^2$), which the 64-point grid aliases, so the two agree closely but not exactly:

# %%
with ht.no_grad():
    coarse = layer(ht.tensor(a_fine[:1, ::4, None])).numpy()[0, :, 0]
    fine = layer(ht.tensor(a_fine[:1, :, None])).numpy()[0, :, 0]
print(f"max |coarse - fine[::4]| / max |fine| = {np.abs(coarse - fine[::4]).max() / np.abs(fine).max():.2e}")

# %% [markdown]
# ## A tiny training run
#
# `FNO1d`: lift $(u_0(x), x)$ to 16 channels, four Fourier layers, project back to one channel.
# The loss is the relative $L^2$ error $\lVert \hat u - u\rVert / \lVert u \rVert$, summed over the
# batch, and Adam's learning rate is halved every 4 epochs. A model that predicts zero everywhere
# scores exactly 1, so anything well below 1 has learned something.

# %%
train_x, train_y = ht.tensor(a[:80]), ht.tensor(u[:80])
test_x, test_y = ht.tensor(a[80:]), ht.tensor(u[80:])
model = FNO1d(modes=8, width=16, generator=Generator(0))
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
start = time.perf_counter()
history = train(model, train_x, train_y, test_x, test_y, epochs=20, batch_size=10, step_size=4)
print(f"20 epochs in {time.perf_counter() - start:.1f} s; test relative L2 after the last: {history.test[-1]:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].semilogy(history.train, label="train")
axes[0].semilogy(history.test_epochs, history.test, label="test")
axes[0].axhline(1.0, color="0.5", lw=0.8, ls="--")
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("relative L2")
axes[0].legend()
prediction = predict(model, test_x[:1])[0]
axes[1].plot(x, u[80], label="solver")
axes[1].plot(x, prediction, "--", label="FNO")
axes[1].set_title("one test sample")
_ = axes[1].legend()

# %% [markdown]
# The curves are noisy: 80 samples, 8 steps an epoch and a loss normalised by each sample's own
# (small) norm. The paper's protocol (1,000 samples, 500 epochs) is what the
# [FNO page](../level4/fno.md) reports.
#
# ## Zero-shot at other resolutions
#
# The model was trained on 64 points only. Evaluate the same weights on the test set at 128 and 256
# points, sampled from the same solves (its grid input $x_j = j/n$ adapts to $n$):

# %%
for stride in (4, 2, 1):
    points = 256 // stride
    error = evaluate(model, ht.tensor(a_fine[80:, ::stride]), ht.tensor(u_fine[80:, ::stride]))
    print(f"{points:4d} points: test relative L2 {error:.3f}")
