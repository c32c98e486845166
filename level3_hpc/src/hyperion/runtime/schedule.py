"""The lazy scheduler: order the pending graph, cut it into kernels, run them.

``realize(targets)`` walks back from the values needed to the nodes already computed, orders the
rest (:func:`hyperion.runtime.graph.topological_order`, Task 3.10), groups them into kernels with
:func:`fuse` (Task 3.11: the fusion rule) and runs each group as one generated kernel
(:mod:`hyperion.runtime.codegen`). A group is a loop nest over one *space*:

- ``axes == ()``: one loop over the elements of a shape; every node is elementwise ("full" role)
  and reads its group-mates at the same element (identity views, contiguous reshapes included);
- ``axes != ()``: a *row* kernel over ``shape`` reducing ``axes``: for each output row ``o`` it
  runs one loop over the row per reduction, then one loop writing the full-shape outputs. Full
  nodes are elementwise at ``shape``; "scalar" nodes (the reductions and elementwise ops on their
  results) are one value per row and are read by full nodes through a broadcast view.

So ``(a*b+c).relu().sum()`` is one group, softmax (max, exp, sum, divide) one, LayerNorm's forward
(mean, centred square, mean, scale) one. Matmul and other opaque ops never enter a group: they ran
when they were called, on realised inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hyperion.runtime.graph import topological_order
from hyperion.runtime.lazy import REDUCTIONS, LazyArray, _count, _pending, contiguous_strides


@dataclass
class Group:
    """One kernel: ``nodes`` in topological order over ``shape``, reducing ``axes`` (maybe none)."""

    index: int
    shape: tuple[int, ...]
    axes: tuple[int, ...] = ()
    nodes: list[LazyArray] = field(default_factory=list)
    role: dict[int, str] = field(default_factory=dict)  # id(node) -> "full" | "scalar"
    outputs: list[LazyArray] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Output rows of a row kernel (elements of the kept dimensions)."""
        return math.prod(n for d, n in enumerate(self.shape) if d not in self.axes)

    @property
    def row_length(self) -> int:
        return math.prod(self.shape[d] for d in self.axes)


@dataclass
class Launched:
    """What one scheduled kernel computed (kept in ``Stats.groups``)."""

    shape: tuple[int, ...]
    axes: tuple[int, ...]
    ops: list[str]


def parts(x: LazyArray) -> tuple[LazyArray, tuple[int, ...], tuple[int, ...], int]:
    """``(source node, shape, element strides, offset)`` of a read of ``x``."""
    if x.op == "view":
        return (x.inputs[0], *x.arg)
    return x, x.shape, contiguous_strides(x.shape), 0


def is_contiguous(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    want = contiguous_strides(shape)
    return all(n == 1 or s == w for n, s, w in zip(shape, strides, want, strict=True))


def is_row_broadcast(group: Group, shape: tuple[int, ...], strides: tuple[int, ...], offset: int) -> bool:
    """A full-shape read of a per-row value: stride 0 along the reduced axes, row-major elsewhere."""
    if shape != group.shape or offset != 0:
        return False
    kept = tuple(1 if d in group.axes else n for d, n in enumerate(group.shape))
    want = contiguous_strides(kept)
    return all(n == 1 or (s == 0 if d in group.axes else s == want[d])
               for d, (n, s) in enumerate(zip(shape, strides, strict=True)))


def fuse(order: list[LazyArray]) -> list[Group]:
    """Task 3.11: cut the pending nodes (in topological ``order``) into kernels.

    Walk the nodes in order. A node may join the group of one of its inputs -- the most recently
    created such group, so groups stay in a runnable order -- when every read it makes of that
    group qualifies (use :func:`parts`, :func:`is_contiguous`, :func:`is_row_broadcast`):

    - a group without reduction axes takes an elementwise node of the same number of elements
      whose reads of the group are contiguous, offset-0 views of the same size ("full" role);
    - a reduction of a full node of such a group, read whole, whose nodes all have the reduced
      input's shape, turns it into a row group over that shape and axes; a row group takes a
      reduction over the same shape and axes (the reduction's role is "scalar");
    - a row group takes an elementwise node at its shape ("full") whose reads are whole reads of
      full nodes or row broadcasts of scalar nodes, or an elementwise node with one element per
      row ("scalar") whose reads are contiguous views of scalar nodes.

    A node joining as "full" also folds in the other elementwise groups it reads (same shape, no
    axes, read by no other group yet): ``a*b + c*d`` is one loop, not three. Anything else starts a
    new group: an elementwise node a group without axes of its shape, a reduction a row group over
    its input's shape and axes. Return the non-empty groups in creation order.
    """
    # BEGIN SOLUTION
    groups: list[Group] = []
    group_of: dict[int, Group] = {}
    read_by: dict[int, set[int]] = {}  # group index -> indices of the groups reading it
    for node in order:
        reads = [parts(x) for x in node.inputs if isinstance(x, LazyArray)]
        candidates = [group_of[id(src)] for src, *_ in reads if id(src) in group_of]
        group = max(candidates, key=lambda g: g.index, default=None)
        role = _joins(node, group, [r for r in reads if group_of.get(id(r[0])) is group]) if group else None
        if role == "full":  # fold in earlier elementwise groups only this node reads: (a*b + c*d) is one loop
            for other in {g.index: g for g in candidates if g is not group}.values():
                mine = [r for r in reads if group_of.get(id(r[0])) is other]
                if other.axes or read_by.get(other.index) or not all(
                        n.shape == node.shape for n in other.nodes) or _joins(node, other, mine) != "full":
                    continue
                group.nodes[:0] = other.nodes
                group.role.update(other.role)
                for n in other.nodes:
                    group_of[id(n)] = group
                other.nodes = []
        if role is None:
            if node.op in REDUCTIONS:
                group = Group(len(groups), node.inputs[0].shape, node.arg)
                role = "scalar"
            else:
                group, role = Group(len(groups), node.shape), "full"
            groups.append(group)
        elif node.op in REDUCTIONS:
            group.axes = node.arg
        group.nodes.append(node)
        group.role[id(node)] = role
        group_of[id(node)] = group
        for src, *_ in reads:
            if id(src) in group_of and group_of[id(src)] is not group:
                read_by.setdefault(group_of[id(src)].index, set()).add(group.index)
    return [g for g in groups if g.nodes]
    # END SOLUTION


def _joins(node: LazyArray, group: Group, reads: list) -> str | None:
    """The role ``node`` would have in ``group``, or None if it cannot join."""
    if node.op in REDUCTIONS:
        src, shape, strides, offset = reads[0]
        whole = offset == 0 and shape == src.shape and is_contiguous(shape, strides)
        if not whole or group.role[id(src)] != "full":
            return None
        if not group.axes:
            return "scalar" if all(n.shape == shape for n in group.nodes) else None
        return "scalar" if shape == group.shape and node.arg == group.axes else None
    if not group.axes:
        same = all(offset == 0 and math.prod(shape) == src.size and is_contiguous(shape, strides)
                   for src, shape, strides, offset in reads)
        return "full" if same and node.size == math.prod(group.shape) else None
    if node.shape == group.shape:
        ok = all(
            (group.role[id(src)] == "full" and offset == 0 and shape == src.shape and is_contiguous(shape, strides))
            or (group.role[id(src)] == "scalar" and is_row_broadcast(group, shape, strides, offset))
            for src, shape, strides, offset in reads
        )
        return "full" if ok else None
    if node.size == group.rows:
        ok = all(group.role[id(src)] == "scalar" and offset == 0 and is_contiguous(shape, strides)
                 for src, shape, strides, offset in reads)
        return "scalar" if ok else None
    return None


def pending_order(targets: list[LazyArray]) -> list[LazyArray]:
    """The unrealised compute nodes ``targets`` depend on, in a topological order."""
    nodes: list[LazyArray] = []
    index: dict[int, int] = {}
    stack = [parts(t)[0] for t in targets]
    while stack:
        node = stack.pop()
        if node.buffer is not None or id(node) in index:
            continue
        index[id(node)] = len(nodes)
        nodes.append(node)
        stack.extend(parts(x)[0] for x in node.inputs if isinstance(x, LazyArray))
    deps = [[index[id(parts(x)[0])] for x in n.inputs if isinstance(x, LazyArray) and id(parts(x)[0]) in index]
            for n in nodes]
    return [nodes[i] for i in topological_order(deps)]


def realize(targets: list[LazyArray]) -> None:
    """Compute every pending node that ``targets`` need, fused, and keep each target's buffer."""
    order = pending_order(targets)
    if not order:
        return
    groups = fuse(order)
    group_of = {id(n): g for g in groups for n in g.nodes}
    wanted = {id(parts(t)[0]) for t in targets}
    for g in groups:
        outputs = {id(n) for n in g.nodes if id(n) in wanted}
        for n in g.nodes:
            for x in n.inputs:
                if isinstance(x, LazyArray):
                    src = parts(x)[0]
                    if id(src) in group_of and group_of[id(src)] is not g:
                        outputs.add(id(src))
        g.outputs = [n for n in g.nodes if id(n) in outputs]
    from hyperion.runtime.codegen import run_group
    from hyperion.runtime.lazy import _stats

    for s in _stats:  # what ran, without keeping the nodes alive
        s.groups.extend(Launched(g.shape, g.axes, [n.op for n in g.nodes]) for g in groups)
    for g in groups:
        run_group(g, group_of)
    for g in groups:
        for n in g.outputs:
            n.inputs = ()  # computed: let what it read be freed when nothing else reads it
            _pending.pop(id(n), None)
    _count("realizations")
