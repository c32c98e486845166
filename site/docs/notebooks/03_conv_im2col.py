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
# A tap (one kernel offset seen by every window) is a strided view of the padded input; im2col
# stacks the taps into a `(KH·KW·C, N·OH·OW)` matrix so that the whole convolution is one matrix
# product. We look at the taps, time the layout choice, check that naive and im2col agree forward
# and backward, watch the first layer skip its input gradient, check max pooling's tie rule and
# time the two convolutions. Companion of the page "Convolution by im2col".

# %%
import time

import numpy as np

import hyperion.tensor as ht
from hyperion.tensor import functional as F
from hyperion.tensor.backend import get_backend
from hyperion.tensor.ops.conv import im2col, tap

cpu = get_backend("cpu")
ht.manual_seed(0)
x = ht.randn(16, 8, 28, 28, requires_grad=True)
w = ht.randn(16, 8, 3, 3, requires_grad=True)
geom = ((3, 3), (28, 28), (1, 1), (1, 1))  # kernel, out_hw, stride, dilation (padding 1)


def best_of(fn, repeat=5):
    """Best wall time of ``fn()`` in seconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# %% [markdown]
# ## A tap copies nothing; im2col copies each tap once

# %%
xp = np.pad(x.detach().numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
t = tap(xp, 2, 1, *geom[1:])
print("tap (2, 1)", t.shape, "shares memory with the padded input:", np.shares_memory(t, xp))
cols = im2col(cpu, xp, *geom)
print("im2col matrix", cols.shape, f"({cols.nbytes / xp.nbytes:.1f}x the padded input's bytes)")

# %% [markdown]
# ## Why rows ordered (kernel offset, channel)
#
# The same numbers in the classic window-major layout, one row per window `(N·OH·OW, C·KH·KW)`:
# a sliding-window view made contiguous copies `N·OH·OW` windows in runs of `KW` elements.
# im2col copies `KH·KW` whole taps instead.

# %%
def window_major(xp):
    view = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))   # (N, C, OH, OW, KH, KW)
    return np.ascontiguousarray(view.transpose(0, 2, 3, 1, 4, 5)).reshape(-1, 8 * 3 * 3)


same = np.array_equal(window_major(xp), cols.reshape(3, 3, 8, -1).transpose(3, 2, 0, 1).reshape(-1, 72))
print("same numbers, other order:", same)
t_window, t_taps = best_of(lambda: window_major(xp)), best_of(lambda: im2col(cpu, xp, *geom))
print(f"window-major gather {t_window * 1e3:.2f} ms, im2col by taps {t_taps * 1e3:.2f} ms "
      f"({t_window / t_taps:.1f}x)")


# %% [markdown]
# ## Same answer, forward and backward

# %%
def run(conv, inp=x):
    inp.grad = w.grad = None
    start = time.perf_counter()
    out = conv(inp, w, padding=1)
    (out * out).sum().backward()
    grad_x = None if inp.grad is None else inp.grad.numpy()
    return out.detach().numpy(), grad_x, w.grad.numpy(), time.perf_counter() - start


fast, slow = run(F.conv2d), run(F.conv2d_naive)
for name, a, b in zip(("output", "grad x", "grad w"), fast[:3], slow[:3]):
    print(f"{name:<7} max relative difference {np.abs(a - b).max() / np.abs(b).max():.1e}")

# %% [markdown]
# ## The first layer skips its input gradient
#
# Images do not require a gradient, so `Conv2d.backward` skips `wmatᵀ @ g` and col2im.

# %%
images = x.detach()                          # same values, requires_grad=False
print("grad of the images:", run(F.conv2d, images)[1])
t_with = best_of(lambda: run(F.conv2d, x))
t_without = best_of(lambda: run(F.conv2d, images))
print(f"forward + backward: {t_with * 1e3:.1f} ms with the input gradient, "
      f"{t_without * 1e3:.1f} ms without")

# %% [markdown]
# ## Max pooling: one gradient per window, to its first maximum
#
# Small integers make ties common. Every window must send its gradient to exactly one pixel:
# the gradient of `sum(max_pool2d(x))` sums to the number of windows, and with non-overlapping
# 2×2 windows no pixel gets more than 1.

# %%
small_ints = np.random.default_rng(0).integers(0, 3, (4, 3, 8, 8)).astype(np.float32)
ties = ht.tensor(small_ints, requires_grad=True)
pooled = F.max_pool2d(ties, 2)
pooled.sum().backward()
g = ties.grad.numpy()
print("windows", pooled.numel(), "gradient total", g.sum(), "largest entry", g.max())

# %% [markdown]
# ## Timing (best of three, after the warm-up runs above)

# %%
versions = (("im2col", F.conv2d), ("naive", F.conv2d_naive))
best = {name: min(run(conv)[3] for _ in range(3)) for name, conv in versions}
print(f"im2col {best['im2col'] * 1e3:.1f} ms, naive {best['naive'] * 1e3:.1f} ms (forward + backward, "
      f"{best['naive'] / best['im2col']:.1f}x)")
