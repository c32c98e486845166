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
# # Tensors are strided views
#
# A Hyperion tensor is a flat storage buffer plus `shape`, `strides` (in elements) and `offset`.
# This notebook takes views of one buffer and checks, element by element, the formula
#
# $$\text{position}(i_0, \dots, i_{n-1}) = \text{offset} + \sum_{k=0}^{n-1} i_k \, s_k .$$
#
# Companion of the page "Tensors are strided views". Run it as a script
# (`python site/docs/notebooks/01_strides.py`) or open it as a notebook with jupytext.

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np

import hyperion.tensor as ht
from hyperion.tensor.strides import contiguous_strides, view_strides

x = ht.arange(24).reshape(2, 3, 4)
print("shape", x.shape, "strides", x.strides, "offset", x.offset)
print("contiguous strides of (2, 3, 4):", contiguous_strides((2, 3, 4)))

# %% [markdown]
# ## Every element comes from offset + i·s
#
# `storage(t)` reads the flat buffer that `t` views (the same buffer for all views of `x`).


# %%
def storage(t: ht.Tensor) -> np.ndarray:
    return t._storage  # the flat 1-D buffer; private, used here only to show the layout


def check_layout(t: ht.Tensor, name: str) -> None:
    buf, values = storage(t), t.numpy()
    for index in itertools.product(*(range(n) for n in t.shape)):
        position = t.offset + sum(i * s for i, s in zip(index, t.strides))
        assert buf[position] == values[index], (name, index)
    same = t.untyped_storage_id() == x.untyped_storage_id()
    print(f"{name:<22} shape {str(t.shape):<12} strides {str(t.strides):<12} offset {t.offset:<3} "
          f"shares x's storage: {same}")


views = {
    "x": x,
    "x.permute(2, 0, 1)": x.permute(2, 0, 1),
    "x.T": x.T,
    "x[1]": x[1],
    "x[:, 1:, ::2]": x[:, 1:, ::2],
    "x[..., None, 0]": x[..., None, 0],
    "x[0, 0].expand(3, 4)": x[0, 0].expand(3, 4),
    "x.view(6, 4)": x.view(6, 4),
}
for name, view in views.items():
    check_layout(view, name)

# %% [markdown]
# ## The same twelve numbers, three ways
#
# Each panel is a 2-D view of one 3×4 buffer; a cell shows the storage position $p$ it reads.
# The transpose swaps the strides, $(4, 1) \to (1, 4)$; the slice `[::2, 1:]` starts at
# offset 1 and doubles the row stride.

# %%
grid = ht.arange(12).reshape(3, 4)
panels = {"grid": grid, "grid.T": grid.T, "grid[::2, 1:]": grid[::2, 1:]}
fig, axes = plt.subplots(1, 3, figsize=(9, 3.2), layout="constrained")
for ax, (name, view) in zip(axes, panels.items()):
    positions = np.array([[view.offset + i * view.strides[0] + j * view.strides[1]
                           for j in range(view.shape[1])] for i in range(view.shape[0])])
    assert (storage(view)[positions] == view.numpy()).all(), name
    ax.imshow(positions, cmap="viridis", vmin=0, vmax=11)
    for (i, j), p in np.ndenumerate(positions):
        ax.text(j, i, str(p), ha="center", va="center", color="white" if p < 6 else "black")
    ax.set_title(f"{name}\nstrides {view.strides}, offset {view.offset}", fontsize=10)
    ax.set_xticks(range(view.shape[1]))
    ax.set_yticks(range(view.shape[0]))
_ = fig.suptitle("storage position read by each element")

# %% [markdown]
# ## When does a view exist?
#
# Merging dimensions needs them to be contiguous among themselves. The transpose of a matrix is
# not, so flattening it has no view: `view_strides` says `None`, and `reshape` copies.

# %%
m = ht.arange(6).reshape(2, 3)
print("m.T strides", m.T.strides)
print("view of m as (3, 2):", view_strides(m.shape, m.strides, (3, 2)))
print("view of m.T as (6,):", view_strides(m.T.shape, m.T.strides, (6,)))
flat = m.T.reshape(6)
print(flat, "copied:", flat.untyped_storage_id() != m.untyped_storage_id())

# %% [markdown]
# ## Writing through a view
#
# A view shares storage, so an in-place write is seen by its base.

# %%
base = ht.zeros(3, 4)
with ht.no_grad():
    base[:, 1].fill_(1.0)
    base[2].add_(5.0)
print(base)
