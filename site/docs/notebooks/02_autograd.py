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
# # Autograd, step by step
#
# We build a small graph, look at its Functions, replay the backward pass by hand in topological
# order, and compare with `backward()`, PyTorch-free. Companion of the page "Autograd".

# %%
import numpy as np

import hyperion.tensor as ht
from hyperion.tensor.autograd import toposort
from hyperion.tensor.strides import unbroadcast
from hyperion.tensor.testing import gradcheck

ht.manual_seed(0)
x = ht.randn(3, 4, requires_grad=True)
w = ht.randn(4, requires_grad=True)
loss = ((x * w).tanh() * x).sum()
print("loss", loss)

# %% [markdown]
# ## The graph is the chain of parents
#
# `toposort` lists every tensor the loss depends on, the loss first and each tensor before the
# tensors it was computed from.

# %%
order = toposort(loss)
for t in order:
    kind = "leaf" if t.grad_fn is None else type(t.grad_fn).__name__
    print(f"{kind:<8} shape {t.shape}")

# %% [markdown]
# ## Replaying backward by hand
#
# The engine keeps one gradient per tensor, visits tensors in topological order, calls each
# Function's `backward`, and sums results back to each parent's shape with `unbroadcast`.

# %%
grads = {id(loss): np.ones(())}
manual = {}
for t in order:
    g = grads.pop(id(t))
    if t.grad_fn is None:
        manual[id(t)] = g
        continue
    ctx = t.grad_fn
    parent_grads = ctx.backward(g)
    if not isinstance(parent_grads, tuple):
        parent_grads = (parent_grads,)
    for parent, pg in zip(ctx.parents, parent_grads):
        if pg is None or not parent.requires_grad:
            continue
        pg = unbroadcast(pg, parent.shape)
        grads[id(parent)] = grads.get(id(parent), 0) + pg

# %% [markdown]
# `ctx.backward` frees nothing by itself, so the same graph can now run the real engine.

# %%
loss.backward()
print("x.grad matches the replay:", np.allclose(x.grad.numpy(), manual[id(x)]))
print("w.grad matches the replay:", np.allclose(w.grad.numpy(), manual[id(w)]))

# %% [markdown]
# ## And both match finite differences (float64)

# %%
rng = np.random.default_rng(0)
print("gradcheck:", gradcheck(lambda a, b: ((a * b).tanh() * a).sum(),
                              rng.standard_normal((3, 4)), rng.standard_normal(4)))

# %% [markdown]
# ## Gradients accumulate
#
# A second backward adds to `.grad`: this is why training loops call `zero_grad()` first.

# %%
before = x.grad.numpy().copy()
((x * w).tanh() * x).sum().backward()
print("doubled:", np.allclose(x.grad.numpy(), 2 * before))

# %% [markdown]
# ## Deep graphs need an iterative sort
#
# A chain of 100,000 ops would overflow Python's recursion limit with a recursive sort.

# %%
y = ht.tensor([1.0], requires_grad=True)
z = y
for _ in range(100_000):
    z = z * 1.0
z.sum().backward()
print("100,000-op chain, y.grad =", y.grad)
