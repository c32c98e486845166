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
# # Optimisation, measured
#
# Gradient descent on quadratics against its theory: the rate $1 - 1/\kappa$ for step $1/L$ and
# $(\kappa-1)/(\kappa+1)$ for the best step $2/(L+\mu)$; divergence past $2/L$; heavy-ball momentum
# and Nesterov needing $\sim\sqrt\kappa$ iterations instead of $\sim\kappa$. Then a convex and a
# non-convex landscape, and ISTA vs. FISTA on the lasso. Every number comes from
# `hyperion.foundations.optimization`; the tests in `level0_foundations/tests/test_optimization.py`
# assert the same facts. Companion of the page "Optimisation".
# Run it as a script (`python site/docs/notebooks/l0_optimization.py`) or open it with jupytext.

# %%
import matplotlib.pyplot as plt
import numpy as np

from hyperion.foundations import optimization as opt

# %% [markdown]
# ## Gradient descent: measured rate vs. theory
#
# The error $\|x_k - x^\star\|$ contracts by $|1 - \alpha\lambda|$ per step along each eigenvector;
# the slowest direction sets the rate. Measured over the second half of each run.

# %%
rates = opt.gd_rate_experiment(kappas=(10.0, 30.0, 100.0))
print(f"{'kappa':>6} {'step':>9} {'measured':>10} {'theory':>10}")
for row in rates["rows"]:
    for name in ("one_over_L", "optimal"):
        r = row[name]
        print(f"{row['kappa']:6.0f} {name:>9} {r['measured']:10.5f} {r['theory']:10.5f}")

fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
for row, color in zip(rates["rows"], ("C0", "C1", "C2")):
    for name, style in (("one_over_L", "-"), ("optimal", "--")):
        r = row[name]
        k = np.arange(r["errors"].size)
        ax.semilogy(k, r["errors"] / r["errors"][0], style, color=color,
                    label=f"κ={row['kappa']:.0f}, {'1/L' if name == 'one_over_L' else '2/(L+μ)'}")
        ax.semilogy(k, r["theory"] ** k, ":", color="gray", lw=0.8)
ax.set(xlabel="iteration k", ylabel="relative error", title="GD on quadratics (dotted: theory rate^k)")
_ = ax.legend(fontsize=8)

# %% [markdown]
# ## Past 2/L it diverges
#
# With step $c \cdot 2/L$ the factor along the top eigenvector is $|1 - 2c|$, above 1 as soon as $c > 1$.

# %%
steps = opt.step_size_experiment(multiples=(0.5, 0.9, 0.99, 1.01, 1.05, 1.2))
for row in steps["rows"]:
    print(f"step = {row['multiple']:.2f}·2/L   growth per step: measured {row['measured']:.4f}, "
          f"theory max|1-αλ| = {row['theory']:.4f}")
fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
for row in steps["rows"]:
    ax.semilogy(row["errors"] / row["errors"][0], label=f"{row['multiple']:.2f} · 2/L")
ax.set(xlabel="iteration k", ylabel="relative error", title="step size around 2/L (κ = 10)")
_ = ax.legend(fontsize=8, ncol=2)

# %% [markdown]
# ## Momentum: iterations grow like √κ
#
# Iterations to shrink the error $10^6$-fold, and the slope of $\log(\text{iterations})$ against
# $\log\kappa$: 1 for GD, ½ for heavy ball (Polyak's parameters) and Nesterov.

# %%
acc = opt.acceleration_experiment(kappas=(10.0, 100.0, 1000.0, 3000.0))
print(f"{'kappa':>6} {'GD':>7} {'heavy ball':>11} {'Nesterov':>9}")
for row in acc["rows"]:
    print(f"{row['kappa']:6.0f} {row['gd']:7d} {row['heavy_ball']:11d} {row['nesterov']:9d}")
print("slopes of log(iterations) vs log(kappa):", {k: round(v, 3) for k, v in acc["slopes"].items()})

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
kappas = np.array([r["kappa"] for r in acc["rows"]])
for name in ("gd", "heavy_ball", "nesterov"):
    ax0.loglog(kappas, [r[name] for r in acc["rows"]], "o-", label=f"{name} (slope {acc['slopes'][name]:.2f})")
ax0.set(xlabel="κ", ylabel="iterations to 1e-6", title="iterations vs. condition number")
ax0.legend(fontsize=8)
row = acc["rows"][2]
for name in ("gd", "heavy_ball", "nesterov"):
    err = row["errors"][name][:4000]
    ax1.semilogy(err / err[0], label=name)
ax1.set(xlabel="iteration k", ylabel="relative error", title=f"κ = {row['kappa']:.0f}", ylim=(1e-9, 10))
_ = ax1.legend(fontsize=8)

# %% [markdown]
# ## Convex vs. non-convex
#
# On a convex function every start ends at the one minimum. On the double well
# $(x^2-1)^2 + y^2/2$ the end point depends on the side of the saddle the start is on.

# %%
land = opt.landscape_experiment(starts=200)
for name in ("convex", "double_well"):
    ends = np.unique(np.round(land[name], 6), axis=0)
    print(f"{name:12s}: {len(ends)} distinct end point(s): {ends.tolist()}")

xs, ys = np.meshgrid(np.linspace(-1.8, 1.8, 200), np.linspace(-1.8, 1.8, 200))
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for ax, (name, f) in zip(axes, (("convex", opt.convex_bowl), ("double_well", opt.double_well))):
    ax.contour(xs, ys, f(np.stack([xs, ys])), levels=30, cmap="Greys", linewidths=0.6)
    paths = land["paths_" + name]
    for i in range(paths.shape[2]):
        ax.plot(paths[:, 0, i], paths[:, 1, i], lw=1.2)
        ax.plot(paths[0, 0, i], paths[0, 1, i], "k.", ms=5)
    ax.set(title=name, xlabel="x", ylabel="y", aspect="equal")

# %% [markdown]
# ## The lasso: ISTA vs. FISTA
#
# $\min_x \tfrac12\|Ax-b\|^2 + \lambda\|x\|_1$. Both end at a point that satisfies the KKT conditions
# to rounding; FISTA's gap falls like $1/k^2$ instead of $1/k$ (dashed: the two theorems' bounds).

# %%
lasso = opt.lasso_experiment(iters=600)
print(f"KKT violation: ISTA {lasso['kkt_ista']:.1e}, FISTA {lasso['kkt_fista']:.1e}")
print("support found:", np.flatnonzero(lasso["x_fista"]).tolist())
print("true support: ", np.flatnonzero(lasso["x_true"]).tolist())
a, b, lam = lasso["A"], lasso["b"], lasso["lam"]
x_star, _ = opt.fista(a, b, lam, 3000)
f_star = opt.lasso_objective(a, b, lam, x_star)
L, k = np.linalg.norm(a, 2) ** 2, np.arange(1, 601)
_, obj_ista = opt.ista(a, b, lam, 600)
_, obj_fista = opt.fista(a, b, lam, 600)
fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
ax.loglog(k, np.maximum(obj_ista[1:] - f_star, 1e-16), label="ISTA")
ax.loglog(k, np.maximum(obj_fista[1:] - f_star, 1e-16), label="FISTA")
ax.loglog(k, L * (x_star @ x_star) / (2 * k), "--", color="C0", lw=0.8, label="L‖x*‖²/2k")
ax.loglog(k, 2 * L * (x_star @ x_star) / (k + 1) ** 2, "--", color="C1", lw=0.8, label="2L‖x*‖²/(k+1)²")
ax.set(xlabel="iteration k", ylabel="objective gap", ylim=(1e-14, 10), title="proximal gradient on the lasso")
_ = ax.legend(fontsize=8)
