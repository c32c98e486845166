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
# # Convolution: naive loops vs im2col
#
# Both versions compute the same thing; im2col turns it into one matrix product. We check that
# they agree, forward and backward, and time them. Companion of the page "Convolution by im2col".

# %%
import time

import numpy as np

import hyperion.tensor as ht
from hyperion.tensor import functional as F
from hyperion.tensor.backend import get_backend
from hyperion.tensor.ops.conv import windows

ht.manual_seed(0)
x = ht.randn(16, 8, 28, 28, requires_grad=True)
w = ht.randn(16, 8, 3, 3, requires_grad=True)

# %% [markdown]
# ## The windows view copies nothing

# %%
xp = np.pad(x.detach().numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
win = windows(get_backend("cpu"), xp, (3, 3), (1, 1), (1, 1))
print("windows view", win.shape, "shares memory with the padded input:", np.shares_memory(win, xp))
cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(-1, 8 * 3 * 3)   # the one copy
print("im2col matrix", cols.shape, f"({cols.nbytes / xp.nbytes:.1f}x the input's bytes)")


# %% [markdown]
# ## Same answer, forward and backward

# %%
def run(conv):
    x.grad = w.grad = None
    start = time.perf_counter()
    out = conv(x, w, padding=1)
    (out * out).sum().backward()
    return out.detach().numpy(), x.grad.numpy(), w.grad.numpy(), time.perf_counter() - start


fast, slow = run(F.conv2d), run(F.conv2d_naive)
for name, a, b in zip(("output", "grad x", "grad w"), fast[:3], slow[:3]):
    print(f"{name:<7} max relative difference {np.abs(a - b).max() / np.abs(b).max():.1e}")

# %% [markdown]
# ## Timing (best of three, after the warm-up runs above)

# %%
versions = (("im2col", F.conv2d), ("naive", F.conv2d_naive))
best = {name: min(run(conv)[3] for _ in range(3)) for name, conv in versions}
print(f"im2col {best['im2col'] * 1e3:.1f} ms, naive {best['naive'] * 1e3:.1f} ms (forward + backward, "
      f"{best['naive'] / best['im2col']:.1f}x)")
