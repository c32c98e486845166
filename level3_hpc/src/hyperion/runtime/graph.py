"""Graph mode on the CPU: capture a forward pass once, schedule it, fuse elementwise chains, replay.

    from hyperion.runtime.graph import capture
    g = capture(lambda a, b, c: (a * b + c).relu().sum(), a, b, c)
    g.eager_kernels, g.kernels         # 4 ops recorded, 1 kernel scheduled (one generated numba loop)
    g(a2, b2, c2)                      # replay on new inputs of the same shapes and dtypes

This is the smaller, honest cousin of a lazy mode: the graph comes from *running* the function once
(the profiler's op hook records every Function's class, options and inputs), not from deferring
execution, and a replay runs forward only (no autograd). What it shows is the scheduler:

1. **Capture.** Each op's inputs are linked to the op that produced their memory (a view of an
   earlier output is a stride view of it, replayed with ``as_strided``); anything else is a leaf:
   one of the declared inputs, or a constant taken by reference (parameters, scalars).
2. **Schedule** (:func:`topological_order`, Task 3.10): an order in which every op follows its inputs.
3. **Fuse.** An elementwise op whose output is used once, by the next elementwise op in a chain (or
   by a full ``Sum``, as its epilogue), at the same shape, is folded into that consumer; each chain
   becomes one generated numba loop, compiled once per distinct source (``compiles`` counts them).
   Every other op (matmul, softmax, LayerNorm, gathers...) is replayed as its own Function.

Not done: the GPU (generated CUDA C), fusion across reductions other than a full ``Sum``, buffer
reuse, and running under ``with lazy():`` without an eager first pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hyperion.tensor import autograd
from hyperion.tensor.autograd import no_grad
from hyperion.tensor.backend import get_backend

# op name -> expression over its operands' temporaries (one C-like scalar expression each)
ELEMENTWISE: dict[str, str] = {
    "Add": "{0} + {1}", "Sub": "{0} - {1}", "Mul": "{0} * {1}", "Div": "{0} / {1}", "Neg": "-{0}",
    "Exp": "math.exp({0})", "Log": "math.log({0})", "Sqrt": "math.sqrt({0})", "Tanh": "math.tanh({0})",
    "Abs": "abs({0})", "Maximum": "max({0}, {1})", "Minimum": "min({0}, {1})",
    "ReLU": "{0} * (1.0 if {0} > 0 else 0.0)",
}
_KERNELS: dict[str, Callable] = {}  # generated source -> compiled function
compiles = 0  # how many generated kernels have been compiled in this process


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


@dataclass
class Kernel:
    """One scheduled launch: an opaque op (``fused is None``) or a generated loop over a chain."""

    nodes: list[int]
    fused: Callable | None = None
    source: str = ""
    externals: list[Ref] = field(default_factory=list)
    reduce: bool = False


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
    """A captured forward pass: nodes, a schedule of kernels, and a replay."""

    def __init__(self, nodes: list[Node], inputs: list[np.ndarray], consts: list[np.ndarray], output: Ref,
                 device: str) -> None:
        self.nodes, self.consts, self.output, self.device = nodes, consts, output, device
        self.input_specs = [(a.shape, a.dtype) for a in inputs]
        self.order = topological_order(
            [[r.index for r in [*n.inputs, *_refs_in(n.options)] if r.kind == "node"] for n in nodes])
        self.schedule = self._fuse()

    @property
    def eager_kernels(self) -> int:
        return len(self.nodes)

    @property
    def kernels(self) -> int:
        return len(self.schedule)

    # ---- fusion ------------------------------------------------------------------------------
    def _fusible_into(self, i: int) -> int | None:
        """The consumer that node ``i`` folds into, or None."""
        node = self.nodes[i]
        if node.op.__name__ not in ELEMENTWISE or node.users != 1 or self.output.index == i:
            return None
        for j in range(i + 1, len(self.nodes)):
            consumer = self.nodes[j]
            refs = [r for r in consumer.inputs if r.kind == "node" and r.index == i]
            if not refs:
                continue
            r = refs[0]
            whole = r.shape == node.shape and r.offset == 0 and r.strides == _contiguous(node.shape, node.dtype)
            name = consumer.op.__name__
            full_sum = name == "Sum" and consumer.options.get("axis") is None and not consumer.options.get("keepdim")
            if whole and (name in ELEMENTWISE and consumer.shape == node.shape or full_sum):
                return j
            return None
        return None

    def _fuse(self) -> list[Kernel]:
        into = {i: self._fusible_into(i) for i in range(len(self.nodes))}
        absorbed = {i for i, j in into.items() if j is not None}
        kernels = []
        for i in self.order:
            if i in absorbed:
                continue
            group, frontier = {i}, [i]
            while frontier:  # every producer folded (directly or through others) into node i
                consumer = frontier.pop()
                feeders = [k for k, j in into.items() if j == consumer]
                group.update(feeders)
                frontier += feeders
            chain = sorted(group)  # capture order is a topological order of the group
            if len(chain) == 1:  # nothing to fuse: the op's own Function runs
                kernels.append(Kernel([i]))
            else:
                kernels.append(self._generate(chain))
        return kernels

    def _generate(self, chain: list[int]) -> Kernel:
        """One numba loop computing ``chain`` (elementwise ops, maybe ending in a full Sum)."""
        reduce = self.nodes[chain[-1]].op.__name__ == "Sum"
        externals: list[Ref] = []
        temps: dict[int, str] = {}
        lines = []
        for k, i in enumerate(chain):
            node = self.nodes[i]
            if node.op.__name__ == "Sum":
                continue
            operands = []
            for r in node.inputs:
                if r.kind == "node" and r.index in temps:
                    operands.append(temps[r.index])
                else:
                    externals.append(r)
                    operands.append(f"x{len(externals) - 1}[i]")
            temps[i] = f"t{k}"
            lines.append(f"        t{k} = " + ELEMENTWISE[node.op.__name__].format(*operands))
        last = temps[chain[-2] if reduce else chain[-1]]
        args = ", ".join(f"x{j}" for j in range(len(externals)))
        body = "\n".join(lines)
        if reduce:
            source = (f"def kernel(n, {args}, out):\n    acc = 0.0\n    for i in range(n):\n{body}\n"
                      f"        acc += {last}\n    out[0] = acc\n")
        else:
            source = f"def kernel(n, {args}, out):\n    for i in range(n):\n{body}\n        out[i] = {last}\n"
        return Kernel(chain, _compile(source), source, externals, reduce)

    # ---- replay ------------------------------------------------------------------------------
    def __call__(self, *tensors: Any) -> Any:
        from hyperion.tensor.tensor import Tensor

        arrays = [t._array() for t in tensors]
        for k, (a, (shape, dtype)) in enumerate(zip(arrays, self.input_specs, strict=True)):
            if a.shape != shape or a.dtype != dtype:
                raise ValueError(f"graph input {k}: captured as {shape} {dtype}, called with {a.shape} {a.dtype}")
        backend = get_backend(self.device)
        outs: dict[int, np.ndarray] = {}
        sources = {"input": [np.ascontiguousarray(a) for a in arrays], "const": self.consts}

        def fetch(r: Ref) -> np.ndarray:
            return _view(outs[r.index] if r.kind == "node" else sources[r.kind][r.index], r)

        for kernel in self.schedule:
            last = self.nodes[kernel.nodes[-1]]
            if kernel.fused is None:
                node = last
                ctx = node.op(backend)
                options = {k: _decode(v, fetch) for k, v in node.options.items()}
                outs[kernel.nodes[0]] = np.ascontiguousarray(ctx.forward(*[fetch(r) for r in node.inputs], **options))
                continue
            shape = self.nodes[kernel.nodes[-2 if kernel.reduce else -1]].shape
            n = math.prod(shape)
            flat = [np.ascontiguousarray(np.broadcast_to(fetch(r), shape)).reshape(-1) for r in kernel.externals]
            out = np.empty(1 if kernel.reduce else n, dtype=last.dtype)
            kernel.fused(n, *flat, out)
            outs[kernel.nodes[-1]] = out.reshape(() if kernel.reduce else shape)
        return Tensor._from_array(fetch(self.output).copy(), self.device)


def _view(base: np.ndarray, r: Ref) -> np.ndarray:
    """The stride view ``r`` of the memory block that ``base`` owns (C- or F-ordered)."""
    memory = base.ravel(order="K")  # a view, in memory order, of an array that owns its block
    return np.lib.stride_tricks.as_strided(memory[r.offset // base.itemsize:], r.shape, r.strides)


def _contiguous(shape: tuple[int, ...], dtype: np.dtype) -> tuple[int, ...]:
    strides, step = [], dtype.itemsize
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def _compile(source: str) -> Callable:
    global compiles
    if source not in _KERNELS:
        import numba

        namespace: dict[str, Any] = {"math": math}
        exec(compile(source, "<hyperion.runtime.graph kernel>", "exec"), namespace)  # noqa: S102
        _KERNELS[source] = numba.njit(cache=False)(namespace["kernel"])
        compiles += 1
    return _KERNELS[source]


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

    def hook(ctx: Any, phase: str, arrays: list, options: dict) -> Any:
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
        return out

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
