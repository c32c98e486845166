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
# # Entropy, cross-entropy and KL, measured
#
# Discrete identities, the Gaussian closed forms against Monte Carlo estimates with 95% confidence
# intervals, and KL's asymmetry: one Gaussian fitted to two modes. Every number comes from
# `hyperion.foundations.probability`; `level0_foundations/tests/test_probability.py` asserts the
# same facts. Companion of the page "Probability".
# Run it as a script (`python site/docs/notebooks/l0_probability.py`) or open it with jupytext.

# %%
import matplotlib.pyplot as plt
import numpy as np

from hyperion.foundations import probability as pr

# %% [markdown]
# ## Discrete distributions
#
# $H(p, q) = H(p) + \mathrm{KL}(p\|q)$, and $\mathrm{KL}(p\|q) \ne \mathrm{KL}(q\|p)$.

# %%
p = np.array([0.7, 0.2, 0.1])
q = np.array([0.4, 0.4, 0.2])
print(f"H(p) = {pr.entropy(p):.4f}  H(p, q) = {pr.cross_entropy(p, q):.4f}  "
      f"KL(p‖q) = {pr.kl_divergence(p, q):.4f}  KL(q‖p) = {pr.kl_divergence(q, p):.4f}")
print(f"H(p) + KL(p‖q) = {pr.entropy(p) + pr.kl_divergence(p, q):.4f}  (= H(p, q))")
print(f"uniform on 3 outcomes: H = {pr.entropy(np.full(3, 1 / 3)):.4f} = log 3 = {np.log(3):.4f}")

# %% [markdown]
# ## Gaussians: closed forms vs. Monte Carlo
#
# Two random 3-D Gaussians $P$, $Q$. Each repeat draws 2000 points from $P$ and estimates
# $H(P) = \mathbb E[-\log p]$, $H(P, Q) = \mathbb E[-\log q]$ and $\mathrm{KL}(P\|Q) = \mathbb E[\log p - \log q]$
# with a 95% interval $\bar x \pm 1.96\, s/\sqrt n$. About 95% of the intervals should hold the closed form.

# %%
mc = pr.monte_carlo_experiment(dim=3, samples=2000, repeats=200, seed=0)
for name in ("entropy", "cross_entropy", "kl"):
    e = mc["first"][name]
    print(f"{name:14s} closed form {mc['closed'][name]:.4f}   first MC estimate {e['mean']:.4f} "
          f"[{e['low']:.4f}, {e['high']:.4f}]   coverage over {mc['repeats']} repeats: "
          f"{mc['coverage'][name]:.3f}")

fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
est = mc["estimates"]["kl"]
ax.hist(est, bins=30, color="C0", alpha=0.7, label=f"{mc['repeats']} MC estimates (n = {mc['samples']})")
ax.axvline(mc["closed"]["kl"], color="k", label="closed form")
se = mc["first"]["kl"]["se"]
ax.axvspan(mc["closed"]["kl"] - 1.96 * se, mc["closed"]["kl"] + 1.96 * se, color="gray", alpha=0.2,
           label="± 1.96 · standard error")
ax.set(xlabel="KL(P‖Q) estimate (nats)", title="Monte Carlo KL around its closed form")
_ = ax.legend(fontsize=8)

# %% [markdown]
# ## KL is not symmetric: fitting one Gaussian to two modes
#
# Target $p = \tfrac12 N(-3, 1) + \tfrac12 N(3, 1)$. Minimising the forward $\mathrm{KL}(p\|q)$ over
# Gaussians $q$ matches the moments (mean 0, variance $1 + 3^2 = 10$): it must put mass wherever $p$
# has mass. Minimising the reverse $\mathrm{KL}(q\|p)$ punishes $q$ for mass where $p$ has none: it
# sits on one mode. Both fits are the same grid search over $(\mu, \sigma)$.

# %%
asym = pr.kl_asymmetry_experiment(separation=3.0)
for name in ("forward", "reverse", "moments"):
    print(f"{name:8s} fit: mean {asym[name]['mean']:+.4f}, std {asym[name]['std']:.4f}")
print(f"reverse KL of the reverse fit {asym['reverse_kl_of_reverse_fit']:.4f} (log 2 = {np.log(2):.4f}), "
      f"of the moment-matched fit {asym['reverse_kl_of_forward_fit']:.4f}")

x = np.linspace(-9, 9, 600)
fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
ax.fill_between(x, np.exp(asym["target"].log_density(x)), color="gray", alpha=0.3, label="target p (bimodal)")
for name, color in (("forward", "C0"), ("reverse", "C3")):
    m, s = asym[name]["mean"], asym[name]["std"]
    ax.plot(x, np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi)), color=color,
            label=f"argmin {'KL(p‖q): mass-covering' if name == 'forward' else 'KL(q‖p): mode-seeking'}")
ax.set(xlabel="x", ylabel="density", title="one Gaussian fitted to two modes")
_ = ax.legend(fontsize=8)
