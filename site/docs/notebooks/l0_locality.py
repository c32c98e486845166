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
# # Memory locality, measured
#
# The same loop, two orders: row-order traversal uses every byte of each 64-byte cache line it loads,
# column order uses 8 of them. Then strided access, and the transpose, naive vs. blocked. The kernels
# are numba loops from `hyperion.foundations.locality`, compiled once before timing; every timing is
# the best of several interleaved runs, reported as a ratio within this run. On a shared or
# virtual machine the ratios move from run to run: read them as orders of magnitude, not as
# constants. Companion of the page "HPC fundamentals".
# Run it as a script (`python site/docs/notebooks/l0_locality.py`) or open it with jupytext.

# %%
import matplotlib.pyplot as plt
import numpy as np

from hyperion.foundations import locality as lo

kernels = lo.kernels()  # compiles on first use (a few seconds)

# %% [markdown]
# ## Row order vs. column order
#
# A 2048×2048 float64 array is 32 MiB, as large as this machine's whole L3 cache.

# %%
trav = lo.traversal_experiment(n=2048, repeat=5)
print(f"array: {trav['bytes'] / 2**20:.0f} MiB")
print(f"numba loops : column order / row order = {trav['numba_ratio']:.1f}x slower")
print(f"numpy slices: a[:, j].sum() per column / a[i, :].sum() per row = {trav['numpy_ratio']:.1f}x slower")

# %% [markdown]
# ## Strided access
#
# Sum every $s$-th element of a 64 MiB array (twice this machine's L3). Within one cache line
# ($s \le 8$ for float64) every line is still loaded, so skipping elements saves little: the cost per
# element summed grows.

# %%
stride = lo.stride_experiment(size=1 << 23, repeat=3)
print(f"{'stride':>6} {'bytes apart':>11} {'total time / s=1':>17} {'time per element / s=1':>23}")
for s in stride["times"]:
    print(f"{s:6d} {8 * s:11d} {stride['time_ratio'][s]:17.2f} {stride['per_element_ratio'][s]:23.2f}")

fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
ss = np.array(list(stride["times"]))
ax.loglog(ss, [stride["per_element_ratio"][s] for s in ss], "o-", label="time per element (vs. s = 1)")
ax.loglog(ss, [stride["time_ratio"][s] for s in ss], "s-", label="total time (vs. s = 1)")
ax.axvline(8, color="gray", ls=":", label="one 64-byte line")
ax.set(xlabel="stride s (elements)", ylabel="ratio", title="summing every s-th float64 of 64 MiB")
_ = ax.legend(fontsize=8)

# %% [markdown]
# ## Transpose: naive vs. blocked
#
# The naive loop reads rows and writes columns. The blocked loop transposes one $b \times b$ tile at a
# time, small enough that its lines are still in L1 when they are used again.

# %%
trans = lo.transpose_experiment(n=2048, blocks=(8, 16, 32, 64), repeat=3)
for name, speedup in trans["speedup_over_naive"].items():
    print(f"{name:12s} {speedup:5.2f}x the naive loop's speed")
a = np.random.default_rng(0).standard_normal((300, 200))
assert np.array_equal(lo.blocked_transpose(a, 32), a.T)  # task 0.8, the numpy version, agrees

fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
names = list(trans["speedup_over_naive"])
ax.bar(names, [trans["speedup_over_naive"][n] for n in names], color="C2")
ax.axhline(1, color="k", lw=0.8)
ax.set(ylabel="speed-up over naive", title="transposing 2048×2048 float64")
_ = ax.tick_params(axis="x", labelrotation=30)

# %% [markdown]
# ## A power of two is the worst size
#
# A 2048-float64 row is 16 KiB, a multiple of the 4 KiB one L1 way spans: every element of a column
# falls in the same cache set, and the set's few ways are evicted over and over. At 2000 the column
# spreads over the sets. Same loops, 5% fewer elements.

# %%
pitch = lo.pitch_experiment(sizes=(2000, 2048), block=8, repeat=3)
for n in pitch["sizes"]:
    print(f"n = {n}: naive time per element {pitch['naive_per_element_ratio'][n]:.2f}x, blocked "
          f"{pitch['blocked_per_element_ratio'][n]:.2f}x that of n = 2000; blocked speed-up over naive "
          f"{pitch['blocked_speedup'][n]:.2f}x")

# %% [markdown]
# ## Once the data are in cache: SIMD
#
# A 256 KiB array fits in L2. Summed in strict IEEE order, each add waits for the previous one; with
# `fastmath` the compiler may reassociate, using vector lanes and several accumulators. float32 packs
# twice as many lanes into a register as float64.

# %%
simd = lo.simd_experiment(size=1 << 15, repeat=20)
print(f"float64: reassociated sum {simd['fast_speedup_f64']:.1f}x faster than strict order")
print(f"float32: reassociated sum {simd['fast_speedup_f32']:.1f}x faster than strict order")
print(f"reassociated: float64 takes {simd['f64_over_f32_fast']:.2f}x the time of float32")
