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
# # Floating point, measured
#
# Experiment 2 of level 0 (`hyperion.foundations.floating_point`), companion of the page
# [Floating-point stability](../level0/floating-point.md). Each section calls one function of the
# module and plots what it returns: the four formats, cancellation, `log1p`/`expm1`, softmax
# overflow, and summation error against $n$. Run it as a script:
# `python site/docs/notebooks/l0_floating_point.py`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from hyperion.foundations.floating_point import (
    cancellation,
    float_formats,
    growth_exponent,
    log1p_expm1,
    softmax_overflow,
    summation_error,
)

# %% [markdown]
# ## Four formats
#
# `float_formats()` measures each format by arithmetic in it: epsilon by halving until
# $1 + \varepsilon/2$ rounds to 1, the largest finite by doubling until overflow, the smallest
# normal and subnormal by halving. bfloat16 is emulated by rounding float32 to its top 16 bits
# (`hyperion.foundations.bfloat16.to_bfloat16`).

# %%
formats = float_formats()
print(f"{'format':9s} {'bits':>4s} {'mantissa':>8s} {'eps':>10s} {'max':>10s} {'min normal':>11s} "
      f"{'min subnormal':>13s} {'exp overflows at':>16s}")
for f in formats:
    print(f"{f['format']:9s} {f['bits']:4d} {f['mantissa_bits']:8d} {f['eps']:10.3g} {f['max']:10.3g} "
          f"{f['min_normal']:11.3g} {f['min_subnormal']:13.3g} {f['log_max']:16.2f}")

fig, ax = plt.subplots(figsize=(7, 2.8))
for i, f in enumerate(formats):
    lo, hi = np.log10(f["min_subnormal"]), np.log10(f["max"])
    ax.plot([lo, hi], [i, i], lw=8, solid_capstyle="butt", color="tab:blue")
    ax.plot([np.log10(f["min_normal"])] * 2, [i - 0.3, i + 0.3], color="tab:red")
    ax.text(hi + 5, i, f"eps = {f['eps']:.2g}", va="center")
ax.set_yticks(range(len(formats)), [f["format"] for f in formats])
ax.set_xlabel("log10 of magnitude (bar: subnormal min .. max; red: smallest normal)")
ax.set_xlim(-340, 400)
ax.set_title("Range and precision of the four formats")
fig.tight_layout()

# %% [markdown]
# ## Catastrophic cancellation
#
# `(1 + x) - 1` keeps only the bits of $x$ that survive rounding $1 + x$: relative error up to
# $u/|x|$. `1 - cos x` loses about $2\log_2(1/x)$ bits, and everything once $\cos x$ rounds to 1;
# the identity $1 - \cos x = 2\sin^2(x/2)$ has no subtraction at all.

# %%
xs = np.logspace(-8, 0, 81)
c32 = cancellation(xs, "float32")
with np.errstate(divide="ignore"):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].loglog(c32["x"], np.maximum(c32["add_sub_naive"], 1e-9), ".", label="(1 + x) - 1")
    axes[0].loglog(c32["x"], c32["add_sub_bound"], "k--", label="bound u/x")
    axes[0].set_title("float32: (1 + x) - 1 vs x")
    axes[1].loglog(c32["x"], np.maximum(c32["one_minus_cos_naive"], 1e-9), ".", label="1 - cos x")
    axes[1].loglog(c32["x"], np.maximum(c32["one_minus_cos_stable"], 1e-9), ".", label="2 sin²(x/2)")
    axes[1].loglog(c32["x"], np.minimum(c32["one_minus_cos_bound"], 1), "k--", label="bound 2u/x²")
    axes[1].set_title("float32: 1 - cos x")
for ax in axes:
    ax.set_xlabel("x")
    ax.set_ylabel("relative error (floored at 1e-9)")
    ax.legend()
fig.tight_layout()
for x in (1e-3, 1e-4, 1e-6):
    i = int(np.argmin(np.abs(c32["x"] - x)))
    print(f"x = {c32['x'][i]:.0e}: (1+x)-1 rel. error {c32['add_sub_naive'][i]:.1e}, "
          f"1-cos x rel. error {c32['one_minus_cos_naive'][i]:.1e}, 2sin²(x/2) {c32['one_minus_cos_stable'][i]:.1e}")

# %% [markdown]
# ## `log1p` and `expm1`
#
# $\log(1+x)$ computes $1 + x$ first and inherits the same cancellation; `np.log1p` never forms
# $1 + x$. Likewise $e^x - 1$ against `np.expm1`.

# %%
l32 = log1p_expm1(np.logspace(-10, 0, 41), "float32")
fig, ax = plt.subplots(figsize=(6, 3.5))
for key, label in (("log_naive", "log(1 + x)"), ("log1p", "log1p(x)"), ("exp_naive", "exp(x) - 1"),
                   ("expm1", "expm1(x)")):
    ax.loglog(l32["x"], np.maximum(l32[key], 1e-9), ".-", label=label)
ax.set_xlabel("x")
ax.set_ylabel("relative error (float32, floored at 1e-9)")
ax.legend()
fig.tight_layout()
i = int(np.argmin(np.abs(l32["x"] - 1e-6)))
print(f"x = 1e-6: log(1+x) rel. error {l32['log_naive'][i]:.1e}, log1p {l32['log1p'][i]:.1e}; "
      f"exp(x)-1 {l32['exp_naive'][i]:.1e}, expm1 {l32['expm1'][i]:.1e}")

# %% [markdown]
# ## Softmax and logsumexp overflow
#
# `softmax_overflow()` bisects for the smallest logit $s$ at which the naive formulas on
# $[s, 0, -s]$ stop being finite: it is $\log(\text{max})$ of the format. The max-shifted versions
# (task 0.3) are finite up to the search's end ($10^4$).

# %%
over = softmax_overflow()
for dt in ("float16", "float32", "float64"):
    r = over[dt]
    print(f"{dt}: naive softmax breaks at logit {r['softmax_naive']:.3f}, naive logsumexp at "
          f"{r['logsumexp_naive']:.3f}, log(max) = {r['log_max']:.3f}; stable: "
          f"{'never (up to 1e4)' if r['softmax_stable'] == np.inf else r['softmax_stable']}")
at90 = over["at_90_float32"]
print("float32 logits [90, 0, -90]: naive softmax", at90["softmax_naive"], "stable", at90["softmax_stable"])
print("                        naive logsumexp", at90["logsumexp_naive"], "stable", at90["logsumexp_stable"])

# %% [markdown]
# ## Summation error against n
#
# `summation_error(ns, data=...)` sums $n$ float32 numbers three ways and compares with the exact
# sum (`math.fsum`). On uniform data the naive error grows like $\sqrt{n}\,u$ (rounding errors of
# random sign); on a constant the rounding errors share their sign and it grows like $n u$, the
# shape of the worst-case bound $(n-1)u$. Pairwise stays under $\lceil\log_2 n\rceil u$, Kahan under
# $2u$ for every $n$.

# %%
ns = np.unique(np.round(np.logspace(1, 18, 35, base=2)).astype(int))
results = {data: summation_error(ns, trials=3, data=data) for data in ("uniform", "constant")}
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, (data, r) in zip(axes, results.items()):
    u = r["u"]
    for key, style in (("naive", "o-"), ("pairwise", "s-"), ("kahan", "^-")):
        ax.loglog(r["n"], np.maximum(r[key], 1e-10) / u, style, ms=3, label=key)
    ax.loglog(r["n"], r["naive_bound"] / u, "k--", lw=1, label="naive bound (n-1)u")
    ax.loglog(r["n"], r["pairwise_bound"] / u, "k:", lw=1, label="pairwise bound ⌈log2 n⌉u")
    ax.loglog(r["n"], r["kahan_bound"] / u, "k-.", lw=1, label="Kahan bound 2u + nu²")
    ax.set_title(f"float32, {data} data")
    ax.set_xlabel("n")
    print(f"{data}: naive error grows like n^{growth_exponent(r['n'], r['naive']):.2f}; at n = {r['n'][-1]}: "
          f"naive {r['naive'][-1] / u:.1f} u, pairwise {r['pairwise'][-1] / u:.2f} u, "
          f"kahan {r['kahan'][-1] / u:.2f} u")
    assert np.all(r["kahan"] <= r["kahan_bound"]) and np.all(r["naive"] <= r["naive_bound"])
axes[0].set_ylabel("relative error / u (zero errors drawn at the bottom)")
axes[0].legend(fontsize=8)
fig.tight_layout()
