# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Matrix calculus, checked
#
# Experiment 1 of level 0 (`hyperion.foundations.matrix_calculus`). Every closed-form gradient and
# Jacobian of the pages [Matrix calculus](../level0/matrix-calculus.md) and
# [Jacobians](../level0/jacobians.md) is measured against central differences; then the full
# Jacobian of a small network is built by forward mode (one pass per input) and by reverse mode
# (one pass per output), and both are timed. Run it as a script:
# `python site/docs/notebooks/l0_matrix_calculus.py`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from hyperion.foundations.matrix_calculus import (
    chain_forward,
    chain_jvp,
    check_identities,
    directional_derivative,
    init_chain,
    mode_costs,
    softmax_jacobian,
)

# %% [markdown]
# ## Every identity against finite differences
#
# `check_identities(seed)` returns, for each identity, the largest absolute difference between the
# closed form and the central-difference estimate (float64, `eps = 1e-6`). Anything near `1e-9` is
# agreement: that is the size of the finite difference's own error. (`softmax_vjp` is checked
# against the explicit product `u @ softmax_jacobian(x)` instead, so it agrees to rounding.)

# %%
errors = {seed: check_identities(seed=seed) for seed in range(5)}
names = list(errors[0])
worst = {name: max(errors[s][name] for s in errors) for name in names}
for name in names:
    print(f"{name:16s} max |closed form - check| over 5 seeds: {worst[name]:.1e}")
assert max(worst.values()) < 1e-7

fig, ax = plt.subplots(figsize=(7, 3))
ax.barh(names, [worst[n] for n in names], color="tab:blue")
ax.set_xscale("log")
ax.set_xlim(1e-17, 1e-3)
ax.axvline(1e-5, color="tab:red", ls="--")
ax.text(1.5e-5, len(names) - 1, "gradcheck\ntolerance 1e-5", color="tab:red", va="center", fontsize=8)
ax.set_xlabel("max |closed form - check|")
ax.set_title("Closed-form derivatives vs central differences (softmax_vjp: vs u @ J), 5 seeds")
fig.tight_layout()

# %% [markdown]
# ## What the softmax Jacobian looks like
#
# $J = \operatorname{diag}(s) - s s^\top$: positive on the diagonal, negative off it, symmetric,
# rows summing to zero. Sharper logits make $s$ nearly one-hot and $J$ nearly zero: a saturated
# softmax passes almost no gradient.

# %%
x = np.array([2.0, 1.0, 0.1, -1.0, 0.5])
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
for ax, temperature in zip(axes, (0.3, 1.0, 5.0)):
    J = softmax_jacobian(x / temperature)
    im = ax.imshow(J, cmap="RdBu_r", vmin=-0.25, vmax=0.25)
    ax.set_title(f"J of softmax(x / {temperature})\nmax |J| = {np.abs(J).max():.3f}", fontsize=10)
    print(f"temperature {temperature}: row sums {np.abs(J.sum(axis=1)).max():.1e}, "
          f"asymmetry {np.abs(J - J.T).max():.1e}")
fig.colorbar(im, ax=axes, shrink=0.8)

# %% [markdown]
# ## A JVP is a directional derivative
#
# Forward mode carries a tangent beside each value; one pass gives $Jv$. Two evaluations of
# $f$ at $x \pm \varepsilon v$ estimate the same thing. The error of the estimate falls like
# $\varepsilon^2$ until rounding ($\sim u/\varepsilon$) takes over:

# %%
weights = init_chain([8, 16, 16, 4], seed=0)
rng = np.random.default_rng(0)
x, v = rng.standard_normal(8), rng.standard_normal(8)
exact = chain_jvp(weights, x, v)[1]
steps = np.logspace(-10, -1, 19)
fd_error = [np.abs(directional_derivative(lambda z: chain_forward(weights, z)[0], x, v, eps) - exact).max()
            for eps in steps]
best = steps[int(np.argmin(fd_error))]
print(f"best step {best:.1e}, error there {min(fd_error):.1e}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(steps, fd_error, "o-", label="|central difference - JVP|")
ax.loglog(steps, steps**2, "k:", label="ε² (truncation)")
ax.loglog(steps, np.finfo(float).eps / 2 / steps, "k--", label="u/ε (rounding)")
ax.set_xlabel("step ε")
ax.set_ylabel("max error")
ax.legend()
ax.set_title("Directional derivative: finite difference vs forward mode")
fig.tight_layout()

# %% [markdown]
# ## Forward mode vs reverse mode
#
# The full Jacobian of $f:\mathbb{R}^{n}\to\mathbb{R}^{m}$ costs $n$ forward passes (one per
# column) or one forward and $m$ backward passes (one per row). With $n = 128$ inputs, a scalar
# loss ($m = 1$) needs 1 reverse pass against 128 forward ones. Times are CPU wall times of one
# run, best of 3; compare the two columns, not machines.

# %%
costs = mode_costs(n_in=128, n_outs=(1, 2, 4, 8, 16, 32, 64, 128), width=128, depth=3, repeats=3)
print(f"{'m':>4} {'fwd passes':>10} {'rev passes':>10} {'fwd ms':>8} {'rev ms':>8} {'fwd/rev':>8}")
for row in costs["rows"]:
    print(f"{row['n_out']:4d} {row['forward_passes']:10d} {row['reverse_passes']:10d} "
          f"{1e3 * row['forward_s']:8.2f} {1e3 * row['reverse_s']:8.2f} {row['forward_s'] / row['reverse_s']:8.1f}")
    assert row["max_difference"] < 1e-12

m = [r["n_out"] for r in costs["rows"]]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(m, [1e3 * r["forward_s"] for r in costs["rows"]], "o-", label="forward mode (n = 128 JVPs)")
ax.loglog(m, [1e3 * r["reverse_s"] for r in costs["rows"]], "s-", label="reverse mode (m VJPs)")
ax.set_xlabel("number of outputs m")
ax.set_ylabel("ms for the full Jacobian")
ax.legend()
ax.set_title("Full Jacobian of R^128 → R^m")
fig.tight_layout()
