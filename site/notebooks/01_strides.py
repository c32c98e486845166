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
# `position = offset + sum(i_k * s_k)`. Companion of the page "Tensors are strided views".
# Run it as a script (`python site/notebooks/01_strides.py`) or open it as a notebook with jupytext.

# %%
import itertools

import numpy as np

import hyperion.tensor as ht
from hyperion.tensor.strides import contiguous_strides, view_strides

x = ht.arange(24).reshape(2, 3, 4)
print("shape", x.shape, "strides", x.strides, "offset", x.offset)
print("contiguous strides of (2, 3, 4):", contiguous_strides((2, 3, 4)))

# %% [markdown]
# ## Every element comes from `offset + i·s`
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
