"""Graph mode on the CPU: capture a forward pass once, replay it through the lazy scheduler.

    from hyperion.runtime.graph import capture
    g = capture(lambda a, b, c: (a * b + c).relu().sum(), a, b, c)
    g.eager_kernels, g.kernels         # 4 ops recorded, 1 kernel scheduled (one generated numba loop)
    g(a2, b2, c2)                      # replay on new inputs of the same shapes and dtypes

The graph comes from *running* the function once (the profiler's op hook records every Function's
class, options and inputs); a replay runs forward only (no autograd):

1. **Capture.** Each op's inputs are linked to the op that produced their memory (a view of an
   earlier output is a stride view of it); anything else is a leaf: one of the declared inputs, or
   a constant taken by reference (parameters, scalars).
2. **Schedule** (:func:`topological_order`, Task 3.10): an order in which every op follows its inputs.
3. **Replay lazily.** The recorded Functions run again in that order on
   :class:`~hyperion.runtime.lazy.LazyBackend`, so they build lazy nodes, and the output is
   realised: :mod:`hyperion.runtime.schedule` fuses (Task 3.11) and :mod:`hyperion.runtime.codegen`
   generates one numba loop per group, compiled once per distinct source. ``with lazy():`` does the
   same without the eager first pass, on the GPU too, and under autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperion.tensor import autograd
from hyperion.tensor.autograd import no_grad
from hyperion.tensor.backend import get_backend

compiles = 0  # kept for callers of the old API: the lazy scheduler's Stats.compiles counts now


class CaptureError(RuntimeError):
    """The function did something graph mode cannot replay faithfully."""


def _owner(array: np.ndarray) -> np.ndarray:
    """The array that owns ``array``'s memory (numpy's chain of ``base``)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


@dataclass
class Ref:
    """Where an op input comes from: ``("node", i)``, ``("input", i)`` or ``("const", i)``, seen
    through a stride view ``(shape, byte strides, byte offset)`` of the source's owning buffer."""

    kind: str
    index: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    offset: int


@dataclass
class Node:
    op: type
    options: dict
    inputs: list[Ref]
    shape: tuple[int, ...]
    dtype: np.dtype
    users: int = 0


def topological_order(deps: list[list[int]]) -> list[int]:
    """Task 3.10: an order of the nodes ``0..n-1`` in which each node comes after all of its ``deps``.

    ``deps[i]`` lists the nodes whose outputs node ``i`` reads (possibly repeated). Use Kahn's
    algorithm: count each node's unmet dependencies, start from the nodes with none, and each time a
    node is emitted, decrement its users' counts; among the ready nodes always emit the lowest index
    first (a heap), so the order is deterministic and equals capture order when that is valid. Raise
    ``ValueError`` naming a node of the cycle if the graph has one.
    """
    # BEGIN SOLUTION
    import heapq

    n = len(deps)
    waiting = [len(set(d)) for d in deps]
    users: list[list[int]] = [[] for _ in range(n)]
    for i, d in enumerate(deps):
        for j in set(d):
            users[j].append(i)
    ready = [i for i in range(n) if waiting[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != n:
        stuck = next(i for i in range(n) if waiting[i] > 0)
        raise ValueError(f"the graph has a cycle through node {stuck}")
    return order
    # END SOLUTION


class Graph:
    """A captured forward pass: the recorded ops, and a replay through the lazy scheduler."""

    def __init__(self, nodes: list[Node], inputs: list[np.ndarray], consts: list[np.ndarray], output: Ref,
                 device: str) -> None:
        self.nodes, self.consts, self.output, self.device = nodes, consts, output, device
        self.input_specs = [(a.shape, a.dtype) for a in inputs]
        self.order = topological_order(
            [[r.index for r in [*n.inputs, *_refs_in(n.options)] if r.kind == "node"] for n in nodes])
        self.stats = self._replay(inputs)[1]  # one replay: the schedule's kernel count
        self.schedule = self.last_groups  # the lazy scheduler's groups (one generated kernel each)

    @property
    def eager_kernels(self) -> int:
        return len(self.nodes)

    @property
    def kernels(self) -> int:
        return self.stats.kernels

    def _replay(self, arrays: list[np.ndarray]) -> tuple[np.ndarray, Any]:
        """Rebuild the recorded ops as lazy nodes over ``arrays`` and realise the output."""
        from hyperion.runtime.lazy import LazyBackend, Stats, _stats

        backend = LazyBackend(get_backend(self.device))
        backend.replaying = True
        sources = {"input": [np.ascontiguousarray(a) for a in arrays], "const": self.consts}
        storages: dict[int, Any] = {}

        def fetch(r: Ref) -> Any:
            item = self.nodes[r.index].dtype.itemsize if r.kind == "node" else sources[r.kind][r.index].itemsize
            if r.kind == "node":
                return backend.strided_view(storages[r.index], r.shape, tuple(s // item for s in r.strides),
                                            r.offset // item)
            return backend.lift(_view(sources[r.kind][r.index], r))

        stats = Stats()
        _stats.append(stats)
        try:
            for i in self.order:
                node = self.nodes[i]
                ctx = node.op(backend)
                options = {k: _decode(v, fetch) for k, v in node.options.items()}
                out = ctx.forward(*[backend.lift(fetch(r)) for r in node.inputs], **options)
                storages[i] = backend.to_storage(out)[0]
            out = fetch(self.output)
            result = np.array(out.realize() if hasattr(out, "realize") else out, copy=True)
        finally:
            _stats.remove(stats)
        self.last_groups = stats.groups
        return result, stats

    def __call__(self, *tensors: Any) -> Any:
        from hyperion.tensor.tensor import Tensor

        arrays = [t._array() for t in tensors]
        for k, (a, (shape, dtype)) in enumerate(zip(arrays, self.input_specs, strict=True)):
            if a.shape != shape or a.dtype != dtype:
                raise ValueError(f"graph input {k}: captured as {shape} {dtype}, called with {a.shape} {a.dtype}")
        with no_grad():
            result, _ = self._replay(arrays)
        return Tensor._from_array(result, self.device)


def _view(base: np.ndarray, r: Ref) -> np.ndarray:
    """The stride view ``r`` of the memory block that ``base`` owns (C- or F-ordered)."""
    memory = base.ravel(order="K")  # a view, in memory order, of an array that owns its block
    return np.lib.stride_tricks.as_strided(memory[r.offset // base.itemsize:], r.shape, r.strides)


def capture(fn: Callable[..., Any], *tensors: Any) -> Graph:
    """Run ``fn(*tensors)`` once (no autograd), recording every op; return the scheduled :class:`Graph`."""
    devices = {t.device for t in tensors}
    if devices != {"cpu"}:
        raise CaptureError(f"graph mode runs on the CPU only; got tensors on {sorted(devices)}")
    inputs = [t._array() for t in tensors]
    for k, a in enumerate(inputs):
        if not (a.flags.c_contiguous and _owner(a).size == a.size and _address(a) == _address(_owner(a))):
            raise CaptureError(f"graph input {k} must be a whole contiguous tensor (call .contiguous().clone())")
    owners = {id(_owner(a)): ("input", k) for k, a in enumerate(inputs)}
    nodes: list[Node] = []
    consts: list[np.ndarray] = []
    alive: list[np.ndarray] = []  # every owner seen stays alive, so no id() is reused during capture

    def ref(array: np.ndarray) -> Ref:
        owner = _owner(array)
        if array.dtype != owner.dtype or not (owner.flags.c_contiguous or owner.flags.f_contiguous):
            raise CaptureError("an op read memory through a reinterpreting view; graph mode cannot replay it")
        if id(owner) not in owners:
            owners[id(owner)] = ("const", len(consts))
            consts.append(owner)
        kind, index = owners[id(owner)]
        return Ref(kind, index, array.shape, array.strides, _address(array) - _address(owner))

    def hook(ctx: Any, phase: str, arrays: list, options: dict, finish: Any) -> Any:
        if phase == "view":  # a stride view of a Tensor: no op to record, its storage is resolved by ``ref``
            return finish(ctx.forward(*arrays, **options))
        if phase != "forward":
            raise CaptureError("graph mode captures forward passes only")
        refs = [ref(a) for a in arrays]
        encoded = {k: _encode(v, ref) for k, v in options.items()}  # index arrays travel as options
        out = ctx.forward(*arrays, **options)
        if isinstance(out, np.generic):  # a reduction to a numpy scalar
            out = np.asarray(out)
        if not isinstance(out, np.ndarray):
            raise CaptureError(f"{type(ctx).__name__} returned {type(out).__name__}, not one array")
        if not out.flags.c_contiguous:
            out = np.ascontiguousarray(out)  # what Tensor storage would hold: record that copy
        for r in [*refs, *_refs_in(encoded)]:
            if r.kind == "node":
                nodes[r.index].users += 1
        nodes.append(Node(type(ctx), encoded, refs, out.shape, out.dtype))
        owners[id(_owner(out))] = ("node", len(nodes) - 1)
        alive.append(_owner(out))
        return finish(out)

    previous = autograd.set_op_hook(hook)
    try:
        with no_grad():
            result = fn(*tensors)
    finally:
        autograd.set_op_hook(previous)
    output = ref(result._array())
    if output.kind == "node":
        nodes[output.index].users += 1
    used = {r.index for n in nodes for r in [*n.inputs, *_refs_in(n.options)] if r.kind == "input"}
    if output.kind == "input":
        used.add(output.index)
    missing = sorted(set(range(len(inputs))) - used)
    if missing:
        raise CaptureError(
            f"graph inputs {missing} never reached an op directly (copied outside an op?): a replay would "
            "reuse their captured values, so graph mode refuses this function"
        )
    return Graph(nodes, inputs, consts, output, "cpu")


def _encode(value: Any, ref: Callable[[np.ndarray], Ref]) -> Any:
    if isinstance(value, np.ndarray):
        return ref(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_encode(v, ref) for v in value)
    return value


def _decode(value: Any, fetch: Callable[[Ref], np.ndarray]) -> Any:
    if isinstance(value, Ref):
        return fetch(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_decode(v, fetch) for v in value)
    return value


def _refs_in(options: dict) -> list[Ref]:
    out: list[Ref] = []

    def walk(v: Any) -> None:
        if isinstance(v, Ref):
            out.append(v)
        elif isinstance(v, (tuple, list)):
            for item in v:
                walk(item)

    for v in options.values():
        walk(v)
    return out
