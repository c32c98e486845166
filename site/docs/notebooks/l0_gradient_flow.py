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
# # Vanishing and exploding gradients, measured
#
# Experiment 3 of level 0 (`hyperion.foundations.gradient_flow`), companion of the page
# [Gradient instability](../level0/gradient-flow.md). A plain MLP of square layers written in
# numpy (forward `mlp_forward`, backward `mlp_backward`, task 0.4), freshly initialised with weights
# $\mathcal N(0, \text{gain}^2/\text{width})$, one batch of Gaussian inputs, and the norm of
# $\partial L/\partial h_l$ at every layer. Run it as a script:
# `python site/docs/notebooks/l0_gradient_flow.py`.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

from hyperion.foundations.gradient_flow import HE_GAIN, depth_sweep, fixes, gradient_norms, init_sweep

DEPTH, WIDTH, BATCH = 50, 128, 32

# %% [markdown]
# ## Gradient norm per layer, for four init scales (ReLU)
#
# Backward through one ReLU layer multiplies the gradient's norm by about $\text{gain}/\sqrt 2$.
# Measured (dots) against that prediction (lines), normalised by the gradient arriving at the top:

# %%
sweep = init_sweep(depth=DEPTH, width=WIDTH, batch=BATCH, gains=(0.5, 1.0, HE_GAIN, 2.0))
fig, ax = plt.subplots(figsize=(7, 4))
for gain, measured, theory in zip(sweep["gains"], sweep["measured"], sweep["theory"]):
    (line,) = ax.semilogy(sweep["layer"], measured, ".", label=f"gain {gain:.3g}")
    ax.semilogy(sweep["layer"], theory, "-", color=line.get_color(), lw=0.8)
    print(f"gain {gain:.3f}: ‖∂L/∂x‖ / ‖∂L/∂h_L‖ = {measured[0]:.2e}, predicted (gain/√2)^{DEPTH} = {theory[0]:.2e}")
ax.set_xlabel("layer l (0 = input)")
ax.set_ylabel("‖∂L/∂h_l‖ / ‖∂L/∂h_L‖")
ax.set_title(f"Plain ReLU MLP, depth {DEPTH}, width {WIDTH}: dots measured, lines (gain/√2)^(L-l)")
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## Against depth
#
# The ratio at the input for networks of depth 2 to 80: a straight line on a log scale, with slope
# $\log(\text{gain}/\sqrt2)$ per layer.

# %%
ds = depth_sweep(depths=(2, 5, 10, 20, 40, 80), gains=(1.0, HE_GAIN, 2.0), width=WIDTH, batch=BATCH)
fig, ax = plt.subplots(figsize=(6, 4))
for gain, measured, theory in zip(ds["gains"], ds["measured"], ds["theory"]):
    (line,) = ax.semilogy(ds["depths"], measured, "o", label=f"gain {gain:.3g}")
    ax.semilogy(ds["depths"], theory, "-", color=line.get_color(), lw=0.8)
    print(f"gain {gain:.3f}: measured / predicted over depths {ds['depths'].tolist()}: "
          f"{np.round(measured / theory, 2)}")
ax.set_xlabel("depth L")
ax.set_ylabel("‖∂L/∂x‖ / ‖∂L/∂h_L‖")
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## The weight gradients are a different story
#
# $\partial L/\partial W_l = \delta_l^\top h_{l-1}$: the backward signal $\delta_l$ shrinks toward the
# input, but with small gain the forward activations $h_{l-1}$ shrink toward the *output* by the
# same factor, and for a ReLU network without biases (positively homogeneous) the two cancel:
# $\|\partial L/\partial W_l\|$ is nearly the same at every layer. What vanishes is its size
# relative to the scale of everything else: the whole network's gradient is $(\text{gain}/\sqrt2)^L$
# times too small (or too large).

# %%
for gain in (1.0, HE_GAIN, 2.0):
    r = gradient_norms(DEPTH, WIDTH, BATCH, gain=gain)
    print(f"gain {gain:.3f}: ‖∂L/∂W‖/‖W‖ first layer {r['relative'][0]:.2e}, last {r['relative'][-1]:.2e}; "
          f"rms of the output {r['forward'][-1]:.2e}")

# %% [markdown]
# ## What fixes it
#
# He init (gain $\sqrt2$) for ReLU and Xavier for tanh fix the plain network at initialisation.
# Residual connections $h + \alpha\,\varphi(W h)$ fix it only with a scaled branch: with
# $\alpha = 1$ each layer multiplies the gradient by $\sqrt{1 + \text{gain}^2/2}$. Pre-layer-norm
# residual blocks keep it polynomial in depth. Layer norm alone in a plain net does *not* fix it:
# its backward divides by the standard deviation of the (mean-removed) ReLU output, a gain of
# about 1.2 per layer.

# %%
result = fixes(depth=DEPTH, width=WIDTH, batch=BATCH)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5.5), sharey=True)
for name, r in result.items():
    ax = left if name.startswith("plain") and "norm" not in name else right
    ax.semilogy(np.arange(DEPTH + 1), r["activations"], label=name)
    print(f"{name:45s} spread max/min over layers {r['spread']:10.3g}   input/top {r['activations'][0]:10.3g}")
left.set_title(f"Plain nets: the init scale (depth {DEPTH}, width {WIDTH})")
right.set_title("Residual connections and layer norm")
left.set_ylabel("‖∂L/∂h_l‖ / ‖∂L/∂h_L‖")
for ax in (left, right):
    ax.set_xlabel("layer l (0 = input)")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
fig.tight_layout()
ln = result["plain ReLU + layer norm, gain 1"]["activations"]
print(f"plain ReLU + layer norm: measured backward factor {ln[0] ** (1 / DEPTH):.3f} per layer (geometric mean), "
      f"mean-field 1/sqrt(1 - 1/π) = {1 / math.sqrt(1 - 1 / math.pi):.3f}")

# %% [markdown]
# The bare residual block, layer by layer: near the top the backward factor is the predicted
# $\sqrt{1 + g^2/2}$; deeper, the gradient has been multiplied by many $I + W^\top D$ and lines up
# with the directions those amplify most, so the factor grows.

# %%
a = result["residual ReLU, gain 1, branch 1"]["activations"]
factor = a[:-1] / a[1:]  # ‖∂L/∂h_(l-1)‖ / ‖∂L/∂h_l‖
print(f"bare residual, gain 1: backward factor {factor[-10:].mean():.2f} per layer over the top 10 layers "
      f"(predicted sqrt(1 + 1/2) = {math.sqrt(1.5):.2f}), {factor[:-10].mean():.2f} over the 40 below")
