"""The course's explanatory diagrams, drawn from the code at every site build (so they never drift).

    python site/diagrams.py OUT_DIR      writes every diagram as OUT_DIR/NAME.svg (a quick look)

``hooks.py`` calls :func:`render_all` during ``mkdocs build`` and serves each SVG at
``assets/diagrams/NAME.svg``; nothing is committed. Each diagram computes what it shows with the
course's own code where the course has it: the strides and offsets of real Hyperion views, the
autograd graph and backward order of a real expression (``hyperion.tensor.autograd.toposort``), the
im2col matrix of ``hyperion.tensor.ops.conv.im2col``, the causal mask of
``hyperion.transformer.attention.attention_mask``, the angles of ``hyperion.transformer.rope``, and the
tile sizes read from the ``#define`` lines of ``level3_hpc/.../matmul/08_double_buffered.cu``.
The Yee cell and the CPML grading are drawn from their textbook definitions (level 4's solver lands
later; its pages can reuse them).
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MATMUL_08 = ROOT / "level3_hpc/src/hyperion/kernels/matmul/08_double_buffered.cu"
C = {"buf": "#e8eaf6", "hi": "#ff7043", "hi2": "#5c6bc0", "hi3": "#66bb6a", "grid": "#9e9e9e",
     "ink": "#212121", "mask": "#bdbdbd"}
DIAGRAMS: dict[str, Callable[[], plt.Figure]] = {}


def diagram(fn: Callable[[], plt.Figure]) -> Callable[[], plt.Figure]:
    DIAGRAMS[fn.__name__] = fn
    return fn


def svg(fig: plt.Figure) -> str:
    """The figure as a deterministic SVG (no date, fixed ids)."""
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "hyperion", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue()


def cells(ax, values, x0: float, y0: float, colors=None, size: float = 1.0, fmt="{}", fontsize=9) -> None:
    """A row-major grid of labelled squares with its top-left corner at (x0, y0), y pointing down."""
    values = np.atleast_2d(values)
    for (i, j), value in np.ndenumerate(values):
        color = colors[i][j] if colors is not None else "white"
        ax.add_patch(Rectangle((x0 + j * size, y0 + i * size), size, size, facecolor=color,
                               edgecolor=C["ink"], linewidth=0.8))
        if value is not None and value != "":
            ax.text(x0 + (j + 0.5) * size, y0 + (i + 0.5) * size, fmt.format(value), ha="center",
                    va="center", fontsize=fontsize)


def canvas(width: float, height: float, w_in: float = 8.0) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(w_in, w_in * height / width))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


# ---------------------------------------------------------------- level 1

@diagram
def strides() -> plt.Figure:
    """One buffer of 12 numbers, three views of it: each element's offset = offset + Σ index·stride."""
    from hyperion import tensor as ht

    base = ht.arange(12).reshape(3, 4)
    views = [("x = arange(12).reshape(3, 4)", base), ("x.T", base.T), ("x[1:, ::2]", base[1:, ::2])]
    palette = ["#ef9a9a", "#90caf9", "#a5d6a7", "#fff59d", "#ce93d8", "#ffcc80",
               "#80deea", "#f48fb1", "#c5e1a5", "#b0bec5", "#ffab91", "#9fa8da"]
    fig, ax = canvas(20.5, 10.8)
    ax.text(0, -0.2, "storage (one flat buffer, shared by every view)", fontsize=10, va="bottom")
    cells(ax, [list(range(12))], 0, 0, [palette], size=1.0)
    for k in range(12):
        ax.text(k + 0.5, 1.35, f"@{k}", ha="center", fontsize=7, color=C["grid"])
    x0 = 0.0
    for title, view in views:
        shape, stride, offset = view.shape, view.strides, view.offset
        addresses = np.array([[offset + i * stride[0] + j * stride[1] for j in range(shape[1])]
                              for i in range(shape[0])])
        ax.text(x0, 2.9, title, fontsize=9, family="monospace", va="bottom")
        ax.text(x0, 4.1, f"shape {tuple(shape)}\nstrides {tuple(stride)}, offset {offset}",
                fontsize=8, va="bottom", color="#424242")
        cells(ax, addresses, x0, 4.3, [[palette[a] for a in row] for row in addresses], size=1.0)
        ax.text(x0, 4.5 + shape[0] + 0.6,
                f"[i, j] → {offset} + {stride[0]}·i + {stride[1]}·j", fontsize=8, family="monospace",
                va="top")
        x0 += 7.0
    ax.text(0, 10.6, "Each cell shows the buffer address it reads: no view copies the data.",
            fontsize=9, style="italic")
    return fig


@diagram
def autograd_graph() -> plt.Figure:
    """The graph Hyperion records for  loss = sum(a*b + exp(a))  and the order backward visits it."""
    from hyperion import tensor as ht
    from hyperion.tensor.autograd import toposort

    a = ht.tensor([1.0, 2.0], requires_grad=True)
    b = ht.tensor([3.0, 4.0], requires_grad=True)
    loss = (a * b + a.exp()).sum()
    order = toposort(loss)
    names = {id(a): "a (leaf)", id(b): "b (leaf)"}
    depth: dict[int, int] = {}
    for node in reversed(order):  # parents first
        parents = node._ctx.parents if node._ctx is not None else ()
        depth[id(node)] = 1 + max((depth[id(p)] for p in parents), default=-1)
    layers: dict[int, list] = {}
    for node in order[::-1]:
        layers.setdefault(depth[id(node)], []).append(node)
    pos = {}
    for d, nodes in layers.items():
        for k, node in enumerate(nodes):
            pos[id(node)] = (1.5 + 3.2 * d, 1.5 + 2.0 * k + (1.0 if len(nodes) == 1 else 0))
    fig, ax = canvas(3.2 * len(layers) + 1.5, 5.0)
    for node in order:
        if node._ctx is None:
            continue
        for parent in node._ctx.parents:
            ax.add_patch(FancyArrowPatch(pos[id(parent)], pos[id(node)], arrowstyle="-|>",
                                         mutation_scale=12, color=C["grid"], shrinkA=28, shrinkB=28))
    for rank, node in enumerate(order, start=1):
        x, y = pos[id(node)]
        label = names.get(id(node)) or type(node._ctx).__name__
        leaf = node._ctx is None
        ax.add_patch(Rectangle((x - 1.1, y - 0.45), 2.2, 0.9, facecolor=C["buf"] if leaf else "#fff3e0",
                               edgecolor=C["ink"]))
        ax.text(x, y, label, ha="center", va="center", fontsize=9, family="monospace")
        ax.text(x + 1.05, y - 0.55, str(rank), ha="center", va="center", fontsize=8, color="white",
                bbox={"boxstyle": "circle", "facecolor": C["hi"], "edgecolor": "none"})
    ax.text(0.2, 4.7, "loss = (a*b + a.exp()).sum():  arrows run forward; the orange numbers are "
            "toposort(loss), the order backward visits the nodes", fontsize=8.5)
    return fig


@diagram
def im2col() -> plt.Figure:
    """A 1×1×4×4 input, a 3×3 kernel: every window becomes one column of the im2col matrix."""
    from hyperion.tensor.backend import get_backend
    from hyperion.tensor.ops.conv import im2col as to_columns

    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    cols = to_columns(get_backend("cpu"), x, (3, 3), (2, 2), (1, 1), (1, 1))  # (9, 4)
    window_colors = ["#ef9a9a", "#90caf9", "#a5d6a7", "#ffcc80"]
    fig, ax = canvas(17, 10.5)
    ax.text(0, -0.3, "input 4×4 (one channel)", fontsize=10)
    colors = [["white"] * 4 for _ in range(4)]
    for i in range(3):
        for j in range(3):
            colors[i][j] = window_colors[0]
    cells(ax, x[0, 0].astype(int), 0, 0, colors)
    ax.add_patch(Rectangle((1, 1), 3, 3, fill=False, edgecolor="#1565c0", linewidth=2.5, linestyle="--"))
    ax.text(0, 4.6, "red: window (0,0)\nblue dashed: window (1,1)", fontsize=8, va="top")
    ax.text(6.5, -0.3, f"im2col: {cols.shape[0]}×{cols.shape[1]} (KH·KW·C rows, N·OH·OW columns)",
            fontsize=10)
    col_colors = [[window_colors[j] for j in range(cols.shape[1])] for _ in range(cols.shape[0])]
    cells(ax, cols.astype(int), 6.5, 0, col_colors, size=0.9, fontsize=8)
    for j in range(cols.shape[1]):
        ax.text(6.5 + 0.9 * (j + 0.5), 8.5, f"({j // 2},{j % 2})", ha="center", fontsize=7)
    ax.text(12.0, 2.0, "conv = W (C_out × 9) @ cols (9 × 4)", fontsize=10, family="monospace")
    ax.text(12.0, 3.0, "→ C_out × 4, reshaped to C_out × 2 × 2", fontsize=9)
    ax.text(12.0, 4.5, "column k = window k flattened;\nrow (i, j) = kernel tap (i, j)\nof every window",
            fontsize=9, va="top")
    return fig


@diagram
def broadcasting() -> plt.Figure:
    """(3,1) + (1,4) → (3,4) by stride 0; the backward sums the gradient back over the expanded axes."""
    from hyperion import tensor as ht

    a = ht.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    b = ht.tensor([[10.0, 20.0, 30.0, 40.0]], requires_grad=True)
    out = a + b
    out.sum().backward()
    fig, ax = canvas(20, 9.4)
    ax.text(0, -0.3, "a (3,1)", fontsize=10, family="monospace")
    cells(ax, a.detach().numpy().astype(int), 0, 0, [[C["buf"]]] * 3)
    ax.text(2.5, -0.3, "a.expand(3,4): strides (1, 0)", fontsize=8, family="monospace")
    cells(ax, np.repeat(a.detach().numpy().astype(int), 4, 1), 2.5, 0, [[C["buf"]] + ["#f5f5f5"] * 3] * 3)
    ax.text(0, 4.0, "b (1,4)", fontsize=10, family="monospace")
    cells(ax, b.detach().numpy().astype(int), 0, 4.4, [["#fff3e0"] * 4])
    ax.text(0, 5.9, "b.expand(3,4): strides (0, 1)", fontsize=8, family="monospace")
    cells(ax, np.repeat(b.detach().numpy().astype(int), 3, 0), 0, 6.2, [["#fff3e0"] * 4] + [["#f5f5f5"] * 4] * 2)
    ax.text(9.3, -0.3, "out = a + b (3,4)", fontsize=10, family="monospace")
    cells(ax, out.detach().numpy().astype(int), 9.3, 0, [[C["hi3"]] * 4] * 3)
    ax.text(14.5, -0.3, "backward: grad_out = ones(3,4)", fontsize=9, family="monospace")
    cells(ax, np.ones((3, 4), int), 14.5, 0)
    ax.text(14.5, 4.0, "unbroadcast → a.grad: sum over axis 1", fontsize=8.5, family="monospace")
    cells(ax, a.grad.numpy().astype(int), 14.5, 4.4, [[C["buf"]]] * 3)
    ax.text(14.5, 8.0, "unbroadcast → b.grad: sum over axis 0", fontsize=8.5, family="monospace")
    cells(ax, b.grad.numpy().astype(int), 14.5, 8.3, [["#fff3e0"] * 4], size=0.8)
    ax.text(8.0, 4.4, "grey cells: the same memory\nas the coloured cell beside\n"
            "them (a stride of 0)", fontsize=8, va="top", style="italic")
    return fig


# ---------------------------------------------------------------- level 2

@diagram
def attention() -> plt.Figure:
    """Q, K, V of 6 tokens; scores, the causal mask, softmax weights, output — computed, not sketched."""
    from hyperion.transformer.attention import attention_mask

    rng = np.random.default_rng(0)
    n, d = 6, 4
    q, k, v = (rng.standard_normal((n, d)) for _ in range(3))
    scores = q @ k.T / np.sqrt(d)
    blocked = attention_mask(n, n, causal=True)[0, 0]
    masked = np.where(blocked, -np.inf, scores)
    weights = np.exp(masked - masked.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    out = weights @ v
    fig, axes = plt.subplots(1, 6, figsize=(13, 2.9), gridspec_kw={"width_ratios": [4, 4, 6, 6, 4, 4]})
    panels = [("Q (6×4)", q, "RdBu_r"), ("K (6×4)", k, "RdBu_r"), ("QKᵀ/√d", scores, "RdBu_r"),
              ("softmax(mask)", weights, "Oranges"), ("V (6×4)", v, "RdBu_r"), ("out = W·V", out, "RdBu_r")]
    for ax, (title, data, cmap) in zip(axes, panels, strict=True):
        limit = np.abs(data).max()
        ax.imshow(data, cmap=cmap, vmin=0 if cmap == "Oranges" else -limit, vmax=limit)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks(range(n) if ax is axes[0] else [])
    for (i, j) in zip(*np.nonzero(blocked), strict=True):
        axes[3].text(j, i, "×", ha="center", va="center", color=C["grid"], fontsize=9)
        axes[2].text(j, i, "·", ha="center", va="center", color="#616161", fontsize=9)
    axes[0].set_ylabel("query position")
    fig.suptitle("causal self-attention of 6 tokens, head dim 4 (× = masked: query i sees keys ≤ i;"
                 " each row of weights sums to 1)", fontsize=10, y=1.04)
    return fig


@diagram
def rope() -> plt.Figure:
    """RoPE turns each pair of a query by position × its frequency: pair 0 fast, the last pair slow."""
    from hyperion.transformer.rope import rope_angles

    head_dim, positions = 8, 8
    cos, sin = rope_angles(head_dim, positions)
    fig, axes = plt.subplots(1, head_dim // 2, figsize=(12, 3.3))
    for pair, ax in enumerate(axes):
        for m in range(positions):
            color = plt.cm.viridis(m / (positions - 1))
            ax.annotate("", xy=(cos[m, pair], sin[m, pair]), xytext=(0, 0),
                        arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.5})
            ax.text(1.13 * cos[m, pair], 1.13 * sin[m, pair], str(m), fontsize=7, ha="center",
                    va="center", color=color)
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color=C["grid"], lw=0.6))
        ax.set_xlim(-1.3, 1.3)
        ax.set_ylim(-1.3, 1.3)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        theta = 10000.0 ** (-2 * pair / head_dim)
        ax.set_title(f"pair {pair}: θ = {theta:.3g} rad/pos", fontsize=9)
    fig.suptitle("the unit vector (1, 0) of each pair, rotated for positions 0-7 (head dim 8, base 10000):"
                 " a dot product then depends on m − n only", fontsize=10)
    return fig


@diagram
def flash_tiles() -> plt.Figure:
    """FlashAttention's loop order over score tiles, and the online softmax's running max and sum."""
    n, block = 16, 4
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((n, n)) * 2
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [1, 1.25]})
    left.set_xlim(0, n)
    left.set_ylim(n, 0)
    left.set_aspect("equal")
    step = 0
    for qb in range(n // block):
        for kb in range(n // block):
            visible = kb <= qb  # causal: tiles above the diagonal are skipped whole
            color = plt.cm.Blues(0.25 + 0.6 * kb / (n // block)) if visible else "#eeeeee"
            left.add_patch(Rectangle((kb * block, qb * block), block, block, facecolor=color,
                                     edgecolor="white", lw=2))
            if visible:
                step += 1
                left.text((kb + 0.5) * block, (qb + 0.5) * block, f"Q{qb}·K{kb}", ha="center",
                          va="center", fontsize=8)
            else:
                left.text((kb + 0.5) * block, (qb + 0.5) * block, "skipped", ha="center", va="center",
                          fontsize=7, color=C["grid"])
    left.set_title(f"{n}×{n} scores in {block}×{block} tiles (causal): each query block streams\n"
                   "its key blocks left to right; the n×n matrix is never stored", fontsize=9)
    left.set_xlabel("keys")
    left.set_ylabel("queries")
    # online softmax of row 13 over its key tiles
    row = 13
    visible_keys = row + 1
    m, l = -np.inf, 0.0
    ms, ls, xs = [], [], []
    for start in range(0, visible_keys, block):
        tile = scores[row, start:min(start + block, visible_keys)]
        m_new = max(m, tile.max())
        l = l * np.exp(m - m_new) + np.exp(tile - m_new).sum()
        m = m_new
        ms.append(m)
        ls.append(l)
        xs.append(min(start + block, visible_keys))
    exact = scores[row, :visible_keys]
    right.bar(range(visible_keys), exact, color=C["grid"], label=f"scores of query {row}")
    right.step(xs, ms, where="post", color=C["hi"], lw=2, label="running max m after each tile")
    twin = right.twinx()
    twin.plot(xs, ls, "o-", color=C["hi2"], label="running sum ℓ (rescaled by e^(m_old − m_new))")
    exact_l = np.exp(exact - exact.max()).sum()
    twin.axhline(exact_l, color=C["hi2"], ls=":", lw=1)
    twin.text(0.2, exact_l, f" exact Σe^(s−max) = {exact_l:.3f}", color=C["hi2"], fontsize=8, va="bottom")
    right.set_xlabel("key index")
    right.set_title(f"online softmax: after the last tile ℓ = {ls[-1]:.3f} — the exact normaliser", fontsize=9)
    lines = right.get_legend_handles_labels()
    lines2 = twin.get_legend_handles_labels()
    right.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, loc="lower left")
    return fig


# ---------------------------------------------------------------- level 3

def kernel_defines(path: Path = MATMUL_08) -> dict[str, int]:
    """The ``#define NAME value`` defaults of a kernel source (its tile sizes)."""
    found = dict(re.findall(r"^#define (\w+) (\d+)\s*$", path.read_text(), re.MULTILINE))
    return {name: int(value) for name, value in found.items()}


@diagram
def matmul_tiling() -> plt.Figure:
    """Matmul 08's hierarchy: the grid of block tiles of C, a block's warp tiles, a warp's thread tiles."""
    t = kernel_defines()
    bm, bn, bk, wm, wn, tm, tn, wniter = (t[k] for k in ("BM", "BN", "BK", "WM", "WN", "TM", "TN", "WNITER"))
    threads = t.get("NTHREADS", 128)
    wmiter = (wm * wn) // (32 * tm * tn * wniter)
    wsubm, wsubn = wm // wmiter, wn // wniter
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6))
    # C as a grid of block tiles (a 512×512 problem)
    size = 512
    ax = axes[0]
    for i in range(size // bm):
        for j in range(size // bn):
            ax.add_patch(Rectangle((j * bn, i * bm), bn, bm, facecolor=C["hi"] if (i, j) == (1, 2) else C["buf"],
                                   edgecolor="white", lw=1.5))
    ax.add_patch(Rectangle((0, bm), size, bm, fill=False, edgecolor=C["hi2"], lw=2, ls="--"))
    ax.add_patch(Rectangle((2 * bn, 0), bn, size, fill=False, edgecolor=C["hi3"], lw=2, ls="--"))
    ax.set_title(f"C (512×512) in {bm}×{bn} block tiles: one thread block each;\n"
                 f"block (1,2) reads a {bm}-row strip of A and a {bn}-column strip of B, {bk} k at a time",
                 fontsize=8.5)
    ax.set_xlim(0, size)
    ax.set_ylim(size, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    # one block tile as warp tiles
    ax = axes[1]
    warps = 0
    for i in range(bm // wm):
        for j in range(bn // wn):
            ax.add_patch(Rectangle((j * wn, i * wm), wn, wm, facecolor=plt.cm.Pastel1(warps % 9),
                                   edgecolor=C["ink"], lw=1))
            ax.text((j + 0.5) * wn, (i + 0.5) * wm, f"warp {warps}", ha="center", va="center", fontsize=8)
            warps += 1
    ax.set_title(f"one {bm}×{bn} block tile: {warps} warps ({threads} threads),\n"
                 f"each owning a {wm}×{wn} warp tile", fontsize=8.5)
    ax.set_xlim(0, bn)
    ax.set_ylim(bm, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    # one warp tile: WMITER × WNITER sub-tiles, each 32 threads × TM×TN results
    ax = axes[2]
    for si in range(wmiter):
        for sj in range(wniter):
            ax.add_patch(Rectangle((sj * wsubn, si * wsubm), wsubn, wsubm, fill=False, edgecolor=C["ink"], lw=1.5))
            for thread in range(32):
                ti, tj = divmod(thread, wsubn // tn)
                x, y = sj * wsubn + tj * tn, si * wsubm + ti * tm
                ax.add_patch(Rectangle((x, y), tn, tm, facecolor=C["hi"] if thread == 5 else "#fff3e0",
                                       edgecolor="#bdbdbd", lw=0.4))
    ax.set_title(f"one {wm}×{wn} warp tile: {wmiter}×{wniter} sub-tiles of {wsubm}×{wsubn};\n"
                 f"lane 5 (orange) holds a {tm}×{tn} accumulator tile in registers in each",
                 fontsize=8.5)
    ax.set_xlim(0, wn)
    ax.set_ylim(wm, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.suptitle(f"tile sizes read from {MATMUL_08.name} (BM={bm} BN={bn} BK={bk} WM={wm} WN={wn} "
                 f"WNITER={wniter} TM={tm} TN={tn})", fontsize=9, y=1.02)
    return fig


# ---------------------------------------------------------------- level 4 (textbook definitions)

@diagram
def yee_cell() -> plt.Figure:
    """The Yee cell: E components on the edges, H components at the face centres, half a cell apart."""
    fig = plt.figure(figsize=(6.5, 6))
    ax = fig.add_subplot(projection="3d")
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)])
    for p in corners:
        for q in corners:
            if np.sum(np.abs(p - q)) == 1 and tuple(p) < tuple(q):
                ax.plot(*zip(p, q, strict=True), color=C["grid"], lw=1)
    arrow = 0.3
    e_points = [((0.5, 0, 0), (1, 0, 0), "Ex"), ((0, 0.5, 0), (0, 1, 0), "Ey"), ((0, 0, 0.5), (0, 0, 1), "Ez")]
    h_points = [((0, 0.5, 0.5), (1, 0, 0), "Hx"), ((0.5, 0, 0.5), (0, 1, 0), "Hy"), ((0.5, 0.5, 0), (0, 0, 1), "Hz")]
    for (p, direction, label), color in [(e, C["hi"]) for e in e_points] + [(h, C["hi2"]) for h in h_points]:
        start = np.array(p) - arrow / 2 * np.array(direction)
        ax.quiver(*start, *(arrow * np.array(direction)), color=color, lw=2.5, arrow_length_ratio=0.35)
        ax.text(*(np.array(p) + 0.08), label, color=color, fontsize=11)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("z")
    ax.set_xticks([0, 0.5, 1])
    ax.set_yticks([0, 0.5, 1])
    ax.set_zticks([0, 0.5, 1])
    ax.set_title("Yee cell (i, j, k): E (orange) at edge centres, H (blue) at face centres;\n"
                 "each curl uses the four neighbours circling it; E and H also alternate in time (leapfrog)",
                 fontsize=9)
    return fig


@diagram
def cpml_layer() -> plt.Figure:
    """The CPML: a layer of d cells around the domain whose conductivity grows as (depth/d)^m."""
    n, d, m = 60, 10, 3
    sigma_max = 1.0
    depth = np.maximum(np.maximum(d - np.arange(n), np.arange(n) - (n - 1 - d)), 0) / d
    profile = sigma_max * depth ** m
    field = np.add.outer(profile, profile)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1, 1.3]})
    image = left.imshow(field, cmap="Purples", origin="lower")
    left.add_patch(Rectangle((d - 0.5, d - 0.5), n - 2 * d, n - 2 * d, fill=False, edgecolor=C["hi"], lw=2))
    left.text(n / 2, n / 2, "physical domain\n(σ = 0)", ha="center", va="center", fontsize=9)
    left.text(n / 2, d / 2, f"CPML, {d} cells", ha="center", va="center", fontsize=8, color=C["ink"])
    left.set_title("σx + σy over a 60×60 grid: the layer wraps the domain;\ncorners absorb along both axes",
                   fontsize=9)
    fig.colorbar(image, ax=left, fraction=0.046)
    x = np.arange(n)
    right.plot(x, profile, color=C["hi2"], lw=2, label=f"σ(x) = σ_max (depth/d)^{m}")
    kappa_max = 5.0
    right.plot(x, 1 + (kappa_max - 1) * depth ** m, color=C["hi3"], lw=1.5,
               label=f"κ(x) = 1 + ({kappa_max:g} − 1)(depth/d)^{m}")
    right.axvspan(-0.5, d - 0.5, color="#ede7f6")
    right.axvspan(n - d - 0.5, n - 0.5, color="#ede7f6")
    right.set_xlabel("cell index along x")
    right.set_title("graded profiles (polynomial grading, order m = 3): zero at the interface,\n"
                    "so the wave enters without reflection; largest at the outer wall", fontsize=9)
    right.legend(fontsize=8)
    return fig


def render_all() -> dict[str, str]:
    """Every diagram as SVG text, by name."""
    return {name: svg(draw()) for name, draw in DIAGRAMS.items()}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "diagrams")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (out / f"{name}.svg").write_text(text)
        print(out / f"{name}.svg")
