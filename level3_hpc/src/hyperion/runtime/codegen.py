"""Generated kernels for the lazy scheduler's groups: numba on the CPU, CUDA C (CuPy) on the GPU.

One generator walks a :class:`~hyperion.runtime.schedule.Group` and writes the same loop nest in
two dialects:

    elementwise group               row group (reduces ``axes`` of ``shape``)
    for i in elements:              for o in rows:                 # CUDA: one block per row
        t0 = x0[i] * x1[i]              acc = -inf                  # one pass per reduction,
        t1 = t0 + x2[i]                 for r in row: acc = max(acc, x0[o, r])   # block-reduced
        out0[i] = max(t1, 0)            s0 = acc
                                        for r in row: out0[o, r] = exp(x0[o, r] - s0) / ...

Each temporary is rounded to its node's dtype (float32 ops stay float32 ops, as in numpy; sums
accumulate in float64). Inputs are read through their own strides (a transposed or broadcast view
is indexed, never copied); outputs are written contiguous. Shapes and strides are constants in the
source, and compiled kernels are cached by the group's structure (:func:`signature`: ops, dtypes,
shapes, roles, how each input is read; the source is written only on a miss): a graph of the same
structure writes and compiles nothing the second time (``Stats.compiles`` counts what was compiled).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hyperion.runtime.lazy import REDUCTIONS, LazyArray, _count
from hyperion.runtime.schedule import Group, parts

NUMBA = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})", "neg": "(-{0})",
    "exp": "math.exp({0})", "log": "math.log({0})", "sqrt": "math.sqrt({0})", "tanh": "math.tanh({0})",
    "abs": "abs({0})", "sign": "np.sign({0})", "pow": "({0} ** {1})",
    "maximum": "({0} if ({0} > {1} or {0} != {0}) else {1})", "minimum": "({0} if ({0} < {1} or {0} != {0}) else {1})",
    "gt": "({0} > {1})", "ge": "({0} >= {1})", "lt": "({0} < {1})", "le": "({0} <= {1})", "eq": "({0} == {1})",
    "ne": "({0} != {1})", "and": "({0} and {1})", "or": "({0} or {1})", "not": "(not {0})",
    "where": "({1} if {0} else {2})", "cast": "{0}", "copy": "{0}",
}
NUMBA_EXTRA = {"tanh32": "tanh32({0})"}
CUDA = {
    "add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})", "neg": "(-{0})",
    "exp": "exp({0})", "log": "log({0})", "sqrt": "sqrt({0})", "tanh": "tanh({0})", "abs": "abs({0})",
    "sign": "({0} != {0} ? {0} : (T)(({0} > 0) - ({0} < 0)))", "pow": "pow({0}, {1})",
    "maximum": "(({0} > {1} || {0} != {0}) ? {0} : {1})", "minimum": "(({0} < {1} || {0} != {0}) ? {0} : {1})",
    "gt": "({0} > {1})", "ge": "({0} >= {1})", "lt": "({0} < {1})", "le": "({0} <= {1})", "eq": "({0} == {1})",
    "ne": "({0} != {1})", "and": "({0} && {1})", "or": "({0} || {1})", "not": "(!{0})",
    "where": "({0} ? {1} : {2})", "cast": "{0}", "copy": "{0}",
}
C_TYPES = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long", "bool": "bool"}
COMPARISONS = {"gt", "ge", "lt", "le", "eq", "ne"}
INIT = {"sum": "0.0", "max": "-INF", "min": "INF"}
CUDA_PRELUDE = r"""
#define INF (__longlong_as_double(0x7ff0000000000000ULL))
struct HySum {
    __device__ static double f(double a, double b) { return a + b; }
    __device__ static double id() { return 0.0; }
};
struct HyMax {
    __device__ static double f(double a, double b) { return (a > b || a != a) ? a : b; }
    __device__ static double id() { return -INF; }
};
struct HyMin {
    __device__ static double f(double a, double b) { return (a < b || a != a) ? a : b; }
    __device__ static double id() { return INF; }
};
template <class F> __device__ double hy_block_reduce(double v, double* smem) {
    for (int s = 16; s > 0; s >>= 1) v = F::f(v, __shfl_xor_sync(0xffffffffu, v, s));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x >> 5) ? smem[lane] : F::id();
        for (int s = 16; s > 0; s >>= 1) v = F::f(v, __shfl_xor_sync(0xffffffffu, v, s));
        if (lane == 0) smem[32] = v;
    }
    __syncthreads();
    return smem[32];
}
"""

_COMPILED: dict[tuple[str, str], Any] = {}  # (dialect, source) -> compiled kernel
_BY_SIGNATURE: dict[tuple, tuple[Any, tuple[tuple[int, bool], ...]]] = {}  # (dialect, signature) -> (kernel, arguments)


class _Writer:
    """Builds one kernel's source in one dialect ("numba" or "cuda")."""

    def __init__(self, group: Group, group_of: dict[int, Group], dialect: str) -> None:
        self.g, self.group_of, self.dialect = group, group_of, dialect
        self.cuda = dialect == "cuda"
        self.externals: list[Any] = []  # realised arrays, in argument order
        self.external_keys: list[tuple[Any, bool]] = []  # (what each one was read through, read flat)
        self.external_index: dict[tuple[int, bool], int] = {}  # (id(x), read flat) -> argument number
        self.flat = False  # inside the elementwise loop: contiguous reads index by the loop's ``i``
        self.names: dict[int, str] = {}  # id(node) -> its temporary (per loop for full nodes)
        self.lines: list[str] = []
        self.counter = 0

    # ---- small pieces ------------------------------------------------------------------------
    def ctype(self, dtype: np.dtype) -> str:
        return C_TYPES[np.dtype(dtype).name]

    def cast(self, expr: str, dtype: np.dtype) -> str:
        dtype = np.dtype(dtype)
        if self.cuda:
            return f"(({self.ctype(dtype)})({expr}))" if dtype != np.bool_ else f"(({expr}) != 0)"
        return f"bool({expr})" if dtype == np.bool_ else f"np.{dtype.name}({expr})"

    def literal(self, value: Any, dtype: np.dtype) -> str:
        v = float(value) if np.dtype(dtype).kind == "f" else value
        if isinstance(v, float) and not math.isfinite(v):
            text = ("NAN" if self.cuda else "np.nan") if math.isnan(v) else \
                (("INF" if self.cuda else "np.inf") if v > 0 else ("(-INF)" if self.cuda else "(-np.inf)"))
        elif isinstance(v, (bool, np.bool_)):
            text = ("true" if v else "false") if self.cuda else repr(bool(v))
        else:
            text = repr(v.item() if isinstance(v, np.generic) else v)
        return self.cast(text, dtype)

    def decompose(self, var: str, shape: tuple[int, ...], indent: str, prefix: str) -> list[str]:
        """Lines naming ``prefix{d}`` the index along each dim of ``shape`` of flat index ``var``."""
        lines, step = [], 1
        for d in range(len(shape) - 1, -1, -1):
            div = "//" if not self.cuda else "/"
            expr = f"({var} {div} {step})" if step > 1 else var
            expr = f"({expr} % {shape[d]})" if d > 0 else expr
            decl = "long long " if self.cuda else ""
            lines.append(f"{indent}{decl}{prefix}{d} = {expr}{';' if self.cuda else ''}")
            step *= shape[d]
        return lines[::-1]

    def load(self, x: Any, index_for: Any) -> str:
        """A read of external ``x``: flat at ``i`` when it is C-contiguous with the elementwise loop's element
        count (its row-major order is the loop's: no index arithmetic), else at the multi-index
        ``index_for(x)`` (names of its per-dim indices)."""
        array = x.realize() if isinstance(x, LazyArray) else x
        flat = self.flat and array.flags.c_contiguous and array.size == math.prod(self.g.shape)
        key = (id(x), flat)
        k = self.external_index.setdefault(key, len(self.externals))
        if k == len(self.externals):
            self.externals.append(array.reshape(-1) if flat or not array.ndim else array)
            self.external_keys.append((x, flat))
        if flat:
            return f"x{k}[i]"
        index = index_for(x)
        if self.cuda:
            strides = [s // array.itemsize for s in array.strides] if array.ndim else [0]
            offset = " + ".join(f"{i} * {s}" for i, s, n in zip(index, strides, array.shape, strict=False)
                                if s != 0 and n != 1) or "0"
            return f"x{k}[{offset}]"
        return f"x{k}[{', '.join(index) if array.ndim else '0'}]"

    # ---- nodes -------------------------------------------------------------------------------
    def expr(self, node: LazyArray, index_for: Any) -> str:
        """The expression of elementwise ``node``; ``index_for(x)`` gives the indices of an input read."""
        table = CUDA if self.cuda else NUMBA
        dtypes = [np.dtype(x.dtype) for x in node.inputs if hasattr(x, "dtype") and not isinstance(x, np.generic)]
        if node.op in COMPARISONS or node.op in ("where", "cast", "copy", "and", "or", "not"):
            compute = np.result_type(*dtypes) if dtypes else node.dtype
        else:
            compute = node.dtype
        operands = []
        for k, x in enumerate(node.inputs):
            want = node.dtype if node.op == "where" and k > 0 else compute
            if node.op == "where" and k == 0:
                want = np.dtype(bool)
            if not isinstance(x, LazyArray):
                operands.append(self.literal(x, want))
                continue
            src = parts(x)[0]
            if self.group_of.get(id(src)) is self.g and id(src) in self.names:
                value, dtype = self.names[id(src)], src.dtype
            else:
                value, dtype = self.load(x, index_for), x.dtype
            operands.append(value if np.dtype(dtype) == want or node.op in ("cast", "copy") else self.cast(value, want))
        op = node.op
        if op == "tanh" and not self.cuda and np.dtype(node.dtype) == np.float32:
            op = "tanh32"  # numba's math.tanh is a scalar libm call, 40x slower than numpy's vector tanh
        text = (NUMBA_EXTRA if op == "tanh32" else table)[op].format(*operands)
        if self.cuda:
            text = text.replace("(T)", f"({self.ctype(node.dtype)})")
        return self.cast(text, node.dtype)

    def assign(self, node: LazyArray, expr: str, indent: str) -> None:
        self.counter += 1
        name = f"t{self.counter}"
        self.names[id(node)] = name
        decl = f"{self.ctype(node.dtype)} " if self.cuda else ""
        self.lines.append(f"{indent}{decl}{name} = {expr}{';' if self.cuda else ''}")

    def full_closure(self, targets: list[LazyArray]) -> list[LazyArray]:
        """The full-role group nodes ``targets`` need, in group order."""
        need: set[int] = set()
        stack = list(targets)
        while stack:
            n = stack.pop()
            if id(n) in need or self.g.role.get(id(n)) != "full":
                continue
            need.add(id(n))
            stack += [parts(x)[0] for x in n.inputs if isinstance(x, LazyArray)
                      and self.group_of.get(id(parts(x)[0])) is self.g]
        return [n for n in self.g.nodes if id(n) in need]


def _source(group: Group, group_of: dict[int, Group], dialect: str) -> tuple[str, _Writer]:
    w = _Writer(group, group_of, dialect)
    cuda = w.cuda
    outputs = group.outputs
    out_args = [f"out{k}" for k in range(len(outputs))]
    body: list[str] = []
    w.lines = body
    if not group.axes:  # ---- elementwise: one loop (one thread) per element ----------------------
        n = math.prod(group.shape)
        ind = "    " if cuda else "        "
        decomposed: dict[tuple, list[str]] = {}

        def index_for(x: Any) -> list[str]:
            shape = tuple(x.shape)
            if shape not in decomposed:
                prefix = f"e{len(decomposed)}_"
                body.extend(w.decompose("i", shape, ind, prefix))
                decomposed[shape] = [f"{prefix}{d}" for d in range(len(shape))]
            return decomposed[shape]

        w.flat = True
        for node in group.nodes:
            w.assign(node, w.expr(node, index_for), ind)
        w.flat = False
        stores = [f"{ind}out{k}[i] = {w.names[id(o)]}{';' if cuda else ''}" for k, o in enumerate(outputs)]
        head = [f"    for i in range({n}):"] if not cuda else \
            ["    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;", f"    if (i >= {n}) return;"]
        lines = head + body + stores
    else:  # ---- row kernel: per row, one pass per reduction, then one pass writing ---------------
        shape, axes = group.shape, group.axes
        kept_dims = [d for d in range(len(shape)) if d not in axes]
        kept_shape = tuple(shape[d] for d in kept_dims)
        row_shape = tuple(shape[d] for d in axes)
        o_ind = "        " if not cuda else "    "
        r_ind = o_ind + "    "
        lines = [f"    for o in range({group.rows}):"] if not cuda else ["    long long o = blockIdx.x;",
                                                                          "    __shared__ double smem[33];"]
        lines += [x.replace("k_", "i_") for x in w.decompose("o", kept_shape, o_ind, "k_")]
        kept_names = {d: f"i_{j}" for j, d in enumerate(kept_dims)}
        scalar_decomposed: dict[tuple, list[str]] = {}

        def scalar_index(x: Any) -> list[str]:
            key = tuple(x.shape)
            if key not in scalar_decomposed:
                prefix = f"s{len(scalar_decomposed)}_"
                lines.extend(w.decompose("o", key, o_ind, prefix))
                scalar_decomposed[key] = [f"{prefix}{d}" for d in range(len(key))]
            return scalar_decomposed[key]

        def row_pass(targets: list[LazyArray]) -> list[str]:
            """Lines of one loop over the row computing the full nodes ``targets`` need."""
            saved = w.lines
            w.lines = inner = []
            if cuda:
                inner.append(f"    for (long long r = threadIdx.x; r < {group.row_length}; r += blockDim.x) {{")
            else:
                inner.append(f"{o_ind}for r in range({group.row_length}):")
            row_names = w.decompose("r", row_shape, r_ind, "q_")
            inner += row_names
            names = {**kept_names, **{d: f"q_{j}" for j, d in enumerate(axes)}}
            full_index = [names[d] for d in range(len(shape))]
            for node in w.full_closure(targets):
                w.assign(node, w.expr(node, lambda x: full_index), r_ind)
            w.lines = saved
            return inner

        for node in group.nodes:
            if group.role[id(node)] != "scalar":
                continue
            if node.op in REDUCTIONS:
                src = parts(node.inputs[0])[0]
                acc = f"a{w.counter}"
                loop = row_pass([src]) if group_of.get(id(src)) is group else None
                if loop is None:  # the reduced input is external (a whole read of it)
                    loop = row_pass([])
                    names = {**kept_names, **{d: f"q_{j}" for j, d in enumerate(axes)}}
                    index = [names[d] for d in range(len(shape))]
                    value = w.load(node.inputs[0], lambda x, index=index: index)
                else:
                    value = w.names[id(src)]
                init = INIT[node.op] if cuda else {"sum": "0.0", "max": "-np.inf", "min": "np.inf"}[node.op]
                lines.append(f"{o_ind}{'double ' if cuda else ''}{acc} = {init}{';' if cuda else ''}")
                lines += loop
                v = f"(double)({value})" if cuda else value
                if node.op == "sum":
                    lines.append(f"{r_ind}{acc} += {v}{';' if cuda else ''}")
                elif cuda:
                    cmp = ">" if node.op == "max" else "<"
                    lines.append(f"{r_ind}{{ double v = {v}; if (v {cmp} {acc} || v != v) {acc} = v; }}")
                else:
                    cmp = ">" if node.op == "max" else "<"
                    lines.append(f"{r_ind}if {v} {cmp} {acc} or {v} != {v}:")
                    lines.append(f"{r_ind}    {acc} = {v}")
                if cuda:
                    lines.append("    }")
                    functor = {"sum": "HySum", "max": "HyMax", "min": "HyMin"}[node.op]
                    lines.append(f"    {acc} = hy_block_reduce<{functor}>({acc}, smem);")
                w.lines = lines
                w.assign(node, w.cast(acc, node.dtype), o_ind)
            else:
                w.lines = lines
                w.assign(node, w.expr(node, scalar_index), o_ind)
        full_outputs = [o for o in outputs if group.role[id(o)] == "full"]
        if full_outputs:
            loop = row_pass(full_outputs)
            lines += loop
            names = {**kept_names, **{d: f"q_{j}" for j, d in enumerate(axes)}}
            strides = [s for s in _contiguous(shape)]
            flat = " + ".join(f"{names[d]} * {strides[d]}" for d in range(len(shape)) if shape[d] != 1) or "0"
            for k, o in enumerate(outputs):
                if group.role[id(o)] == "full":
                    lines.append(f"{r_ind}out{k}[{flat}] = {w.names[id(o)]}{';' if cuda else ''}")
            if cuda:
                lines.append("    }")
        for k, o in enumerate(outputs):
            if group.role[id(o)] == "scalar":
                store = f"out{k}[o] = {w.names[id(o)]}"
                lines.append(f"    if (threadIdx.x == 0) {store};" if cuda else f"{o_ind}{store}")
    args = [f"x{k}" for k in range(len(w.externals))] + out_args
    if cuda:
        params = [f"const {w.ctype(a.dtype)}* __restrict__ x{k}" for k, a in enumerate(w.externals)]
        params += [f"{w.ctype(o.dtype)}* __restrict__ out{k}" for k, o in enumerate(outputs)]
        source = (CUDA_PRELUDE + 'extern "C" __global__ void hy_kernel(' + ", ".join(params) + ") {\n"
                  + "\n".join(lines) + "\n}\n")
    else:
        source = f"def kernel({', '.join(args)}):\n" + "\n".join(lines) + "\n"
    return source, w


def _contiguous(shape: tuple[int, ...]) -> list[int]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return strides[::-1]


def cuda_source(group: Group, group_of: dict[int, Group]) -> str:
    """The CUDA C of ``group`` (for tests and for compiling with nvcc)."""
    return _source(group, group_of, "cuda")[0]


def signature(group: Group, group_of: dict[int, Group]) -> tuple[tuple, list[Any], dict[int, int]]:
    """``(key, externals, slot)``: everything the generated source depends on, as a hashable key -- the
    group's shape and axes; per node its op, dtype, shape, argument, role and whether it is an output;
    per input a literal's type and value, an in-group read's source node and view, or an external's
    dtype, shape and strides (each distinct external numbered once, in first-read order) -- the
    realised externals in that order, and ``slot``: id(external) -> its number. Equal keys, equal source."""
    position = {id(n): k for k, n in enumerate(group.nodes)}
    outputs = {id(o) for o in group.outputs}
    externals: list[Any] = []
    slot: dict[int, int] = {}
    nodes = []
    for node in group.nodes:
        reads = []
        for x in node.inputs:
            if not isinstance(x, LazyArray):
                reads.append(("c", type(x).__name__, repr(x)))
                continue
            src, shape, strides, offset = parts(x)
            if group_of.get(id(src)) is group:
                reads.append(("n", position[id(src)], shape, strides, offset, x.dtype.str))
                continue
            k = slot.get(id(x))
            if k is None:
                array = x.realize()
                k = slot[id(x)] = len(externals)
                externals.append(array if array.ndim else array.reshape(1))
            array = externals[k]
            reads.append(("x", k, x.dtype.str, array.shape, array.strides, array.dtype.str))
        nodes.append((node.op, node.dtype.str, node.shape, node.arg, group.role[id(node)], id(node) in outputs,
                      tuple(reads)))
    return (group.shape, group.axes, tuple(nodes)), externals, slot


def run_group(group: Group, group_of: dict[int, Group]) -> None:
    """Generate (on a new structure), compile (once per source) and launch ``group``; set each output
    node's buffer."""
    backend = group.nodes[0].backend.inner
    if group.nodes[0].backend.interpret:
        return interpret_group(group, group_of)
    dialect = "cuda" if backend.device == "cuda" else "numba"
    key, externals, slot = signature(group, group_of)
    known = _BY_SIGNATURE.get((dialect, key))
    if known is None:
        source, w = _source(group, group_of, dialect)
        if (dialect, source) not in _COMPILED:
            _COMPILED[(dialect, source)] = _compile(dialect, source)
            _count("compiles")
        # the source's arguments: the externals in the order it first read them, flattened where read flat
        order = tuple((slot[id(x)], flat) for x, flat in w.external_keys)
        known = _BY_SIGNATURE[(dialect, key)] = (_COMPILED[(dialect, source)], order)
    kernel, order = known
    arguments = [externals[k].reshape(-1) if flat else externals[k] for k, flat in order]
    outs = [backend.empty((max(o.size, 1),), o.dtype) for o in group.outputs]
    if dialect == "cuda":
        if group.axes:
            threads = min(256, max(32, 1 << (group.row_length - 1).bit_length()))
            grid = (group.rows,)
        else:
            threads, grid = 256, ((math.prod(group.shape) + 255) // 256,)
        if grid[0] > 0:
            kernel(grid, (threads,), (*arguments, *outs))
    else:
        kernel(*arguments, *outs)
    for o, buf in zip(group.outputs, outs, strict=True):
        o.buffer = buf[: o.size].reshape(o.shape)
    _count("kernels")
    _count("fused")


def _tanh32(x: float) -> float:
    """tanh of a float32 value for numba kernels, through ``exp`` in float64: within 1 ulp of numpy's
    float32 tanh (checked over the float32 range in the tests), 3x faster than numba's ``math.tanh``.
    Below 1e-4 tanh(x) = x to float32 precision (x³/3 is under half an ulp); beyond ±20 it is ±1."""
    c = 20.0 if x > 20.0 else (-20.0 if x < -20.0 else x)  # float64 from here; a NaN passes both tests
    if abs(c) < 1e-4:
        return c
    e = math.exp(2.0 * c)
    return (e - 1.0) / (e + 1.0)


_NUMBA_HELPERS: dict[str, Any] = {}


def _numba_helpers() -> dict[str, Any]:
    """The functions generated numba kernels may call, compiled once (inlined where called)."""
    if not _NUMBA_HELPERS:
        import numba

        _NUMBA_HELPERS["tanh32"] = numba.njit(inline="always", error_model="numpy")(_tanh32)
    return _NUMBA_HELPERS


def _compile(dialect: str, source: str) -> Any:
    if dialect == "cuda":
        import cupy

        return cupy.RawKernel(source, "hy_kernel", options=("--std=c++17",))
    import numba

    namespace: dict[str, Any] = {"math": math, "np": np, **_numba_helpers()}
    exec(compile(source, "<hyperion.runtime.codegen kernel>", "exec"), namespace)  # noqa: S102
    return numba.njit(cache=False, error_model="numpy")(namespace["kernel"])


def interpret_group(group: Group, group_of: dict[int, Group]) -> None:
    """Run ``group`` node by node with the device's array library instead of a generated kernel:
    the same schedule, views and outputs, nothing compiled (``lazy(interpret=True)``, used to rerun
    the level-1 op tests quickly). Counted as one kernel like a compiled group."""
    from hyperion.runtime.lazy import UFUNCS

    ufunc_of = {name: u for u, name in UFUNCS.items()}
    inner = group.nodes[0].backend.inner
    xp = inner.xp
    values: dict[int, Any] = {}

    def read(x: Any) -> Any:
        if not isinstance(x, LazyArray):
            return x
        src, shape, strides, offset = parts(x)
        if id(src) not in values:
            return x.realize()
        if src is x:
            return values[id(src)]
        flat = xp.ascontiguousarray(values[id(src)]).reshape(-1)
        return inner.strided_view(flat, shape, strides, offset)

    for node in group.nodes:
        args = [read(x) for x in node.inputs]
        if node.op in REDUCTIONS:
            out = getattr(xp, node.op)(args[0], axis=node.arg, keepdims=True)
        elif node.op == "where":
            out = xp.where(*args)
        elif node.op in ("cast", "copy"):
            out = args[0]
        else:
            out = ufunc_of[node.op](*args)
        values[id(node)] = xp.ascontiguousarray(xp.asarray(out).astype(node.dtype, copy=False))
    for o in group.outputs:
        o.buffer = values[id(o)].reshape(o.shape)
    _count("kernels")
    _count("fused")
