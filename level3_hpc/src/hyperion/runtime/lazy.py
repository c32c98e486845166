"""Lazy mode: ``with hyperion.runtime.lazy():`` ops build a graph and run only when a value is needed.

    with lazy() as run:
        y = (a * b + c).relu().sum()     # nothing computed yet: y's storage is a LazyArray
        y.item()                         # needed now: schedule, fuse, run
    run.kernels, run.eager_kernels       # 1 kernel launched where eager numpy/CuPy would launch 5

How it works (tinygrad's LazyBuffer idea, under level 1's autograd rather than instead of it):

- Inside the block, :class:`LazyBackend` serves the device. Level-1 ops are unchanged: they use
  Python operators and ``self.backend`` on whatever arrays they get, and here those are
  :class:`LazyArray` nodes -- an op name, inputs, shape and dtype, no data. Forward *and* backward
  therefore build the graph.
- A view (transpose, slice, reshape, broadcast) of an unrealised node is a node holding a stride
  view ``(shape, strides, offset)`` of its base's future buffer: views stay stride views.
- Reading a value (``.item()``, ``numpy()``, a kernel that needs device memory, an in-place
  write) *realises* it: :func:`hyperion.runtime.schedule.realize` orders the unrealised nodes it
  depends on, fuses them into kernels (:func:`~hyperion.runtime.schedule.fuse`) and runs each as one
  generated kernel (numba on the CPU, CUDA C through CuPy on the GPU; :mod:`hyperion.runtime.codegen`).
- Anything lazy mode does not describe (matmul, gathers, scatter-adds, FFTs, an unknown numpy
  function) realises its inputs and runs at once as one opaque kernel of the wrapped backend:
  matmul stays cuBLAS or our kernel. Results never depend on laziness, only the kernel count does.
- Buffers are reference counted: a realised intermediate is freed when the last node or tensor
  reading it goes, and its memory goes back to the allocator (the caching allocator on the GPU).
"""

from __future__ import annotations

import contextlib
import functools
import math
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hyperion.tensor.backend import Backend, get_backend, register_backend, row_major_strides

# numpy ufunc -> the elementwise op name the code generators know
UFUNCS: dict[Any, str] = {
    np.add: "add", np.subtract: "sub", np.multiply: "mul", np.true_divide: "div", np.negative: "neg",
    np.exp: "exp", np.log: "log", np.sqrt: "sqrt", np.tanh: "tanh", np.absolute: "abs", np.sign: "sign",
    np.maximum: "maximum", np.minimum: "minimum", np.power: "pow", np.greater: "gt",
    np.greater_equal: "ge", np.less: "lt", np.less_equal: "le", np.equal: "eq", np.not_equal: "ne",
    np.logical_and: "and", np.logical_or: "or", np.logical_not: "not", np.positive: "copy",
}
KERNEL_DTYPES = {np.dtype(t) for t in ("float32", "float64", "int32", "int64", "bool")}
UFUNC_OF = {name: u for u, name in UFUNCS.items()}
REDUCTIONS = ("sum", "max", "min")


@dataclass
class Stats:
    """What one ``lazy()`` block did: kernels launched, and what eager mode would have launched."""

    kernels: int = 0  # launches: fused kernels + opaque ops + eager fallbacks
    fused: int = 0  # of which generated kernels
    eager_kernels: int = 0  # compute ops recorded (each one launch when run eagerly) + opaque ops
    realizations: int = 0
    compiles: int = 0
    fallbacks: dict[str, int] = field(default_factory=dict)
    groups: list = field(default_factory=list, repr=False)  # every scheduled group, in launch order

    def fallback(self, name: str) -> None:
        self.kernels += 1
        self.eager_kernels += 1
        self.fallbacks[name] = self.fallbacks.get(name, 0) + 1


_LIFTED: dict[type, type] = {}  # Function -> its subclass lifting inputs
_stats: list[Stats] = []  # the open lazy() blocks, innermost last
_pending: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # id -> unrealised node still referenced


def current_stats() -> Stats | None:
    return _stats[-1] if _stats else None


def _count(attr: str, n: int = 1) -> None:
    for s in _stats:
        setattr(s, attr, getattr(s, attr) + n)


class LazyArray:
    """A node of the lazy graph: ``op`` over ``inputs`` (LazyArrays or Python scalars), or a realised
    ``buffer``. Quacks like the numpy/CuPy arrays level-1 ops expect (operators, a few methods, and
    numpy's ``__array_ufunc__``/``__array_function__`` protocols)."""

    __slots__ = ("op", "inputs", "arg", "shape", "dtype", "buffer", "backend", "__weakref__")
    __array_priority__ = 1e6  # ndarray (numpy or CuPy) <op> LazyArray defers to LazyArray

    def __init__(self, op: str, inputs: tuple, arg: Any, shape: tuple[int, ...], dtype: np.dtype,
                 backend: LazyBackend, buffer: Any = None) -> None:
        self.op, self.inputs, self.arg, self.shape, self.dtype = op, inputs, arg, tuple(shape), np.dtype(dtype)
        self.backend, self.buffer = backend, buffer
        if buffer is None and op != "view":
            _pending[id(self)] = self
            _count("eager_kernels")

    # ---- metadata ----------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.itemsize

    @property
    def base(self) -> None:
        return None

    @property
    def T(self) -> Any:  # noqa: N802
        return self.transpose()

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        state = "realised" if self.buffer is not None else "pending"
        return f"LazyArray({self.op}, shape={self.shape}, dtype={self.dtype}, {state})"

    # ---- realisation -------------------------------------------------------------------------
    def realize(self) -> Any:
        """The native array with this node's values (computing what it depends on, once)."""
        if self.buffer is None:
            if self.op == "view":
                base = self.inputs[0]
                shape, strides, offset = self.arg
                return self.backend.inner.strided_view(base.realize().reshape(-1), shape, strides, offset)
            from hyperion.runtime.schedule import realize

            realize([self])
        return self.buffer

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.backend.inner.to_numpy(self.realize())
        return out if dtype is None else out.astype(dtype)

    @property
    def __cuda_array_interface__(self) -> dict:
        return self.realize().__cuda_array_interface__

    @property
    def strides(self) -> tuple[int, ...]:
        return self.realize().strides

    @property
    def flags(self) -> Any:
        return self.realize().flags

    @property
    def data(self) -> Any:
        return self.realize().data

    def item(self) -> Any:
        return self.backend.inner.to_numpy(self.realize()).item()

    def tolist(self) -> Any:
        return self.backend.inner.to_numpy(self.realize()).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def __index__(self) -> int:
        return int(self.item())

    # ---- numpy protocols ---------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        name = UFUNCS.get(ufunc)
        if method == "__call__" and name is not None and not kwargs:
            return self.backend.elementwise(name, *args)
        return self.backend.fallback(f"np.{ufunc.__name__}.{method}", getattr(ufunc, method), args, kwargs,
                                     writes=kwargs.get("out"))

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        b = self.backend
        if func is np.broadcast_to:
            return b.broadcast(args[0], tuple(kwargs.get("shape", args[1] if len(args) > 1 else None)))
        if func is np.where and len(args) == 3:
            return b.where(*args)
        if func is np.reshape:
            shape = kwargs.get("shape", kwargs.get("newshape", args[1] if len(args) > 1 else None))
            return b.lift(args[0]).reshape(shape)
        if func is np.transpose:
            return b.lift(args[0]).transpose(kwargs.get("axes", args[1] if len(args) > 1 else None))
        return b.fallback(f"np.{func.__name__}", func, args, kwargs)

    # ---- operators ---------------------------------------------------------------------------
    def _binary(name: str, swap: bool = False):  # noqa: N805
        def op(self: LazyArray, other: Any) -> Any:
            if not _is_operand(other):
                return NotImplemented
            return self.backend.elementwise(name, other, self) if swap else self.backend.elementwise(name, self, other)
        return op

    __add__, __radd__ = _binary("add"), _binary("add", True)
    __sub__, __rsub__ = _binary("sub"), _binary("sub", True)
    __mul__, __rmul__ = _binary("mul"), _binary("mul", True)
    __truediv__, __rtruediv__ = _binary("div"), _binary("div", True)
    __pow__, __rpow__ = _binary("pow"), _binary("pow", True)
    __gt__, __ge__, __lt__, __le__ = _binary("gt"), _binary("ge"), _binary("lt"), _binary("le")
    __eq__, __ne__ = _binary("eq"), _binary("ne")  # type: ignore[assignment]
    __and__, __rand__ = _binary("and"), _binary("and", True)
    __or__, __ror__ = _binary("or"), _binary("or", True)
    __hash__ = object.__hash__

    def __neg__(self) -> LazyArray:
        return self.backend.elementwise("neg", self)

    def __invert__(self) -> LazyArray:
        if self.dtype != np.bool_:
            return self.backend.fallback("invert", np.invert, (self,), {})
        return self.backend.elementwise("not", self)

    def __abs__(self) -> LazyArray:
        return self.backend.elementwise("abs", self)

    def __getitem__(self, key: Any) -> Any:
        return self.backend.getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        target = self.realize()
        value = value.realize() if isinstance(value, LazyArray) else value
        self.backend.barrier(target)
        target[_realize_all(key)] = value

    # ---- methods -----------------------------------------------------------------------------
    def astype(self, dtype: Any, copy: bool = True) -> LazyArray:
        dtype = np.dtype(dtype)
        if dtype == self.dtype and not copy:
            return self
        return self.backend.elementwise("cast", self, dtype=dtype)

    def copy(self) -> LazyArray:
        return self.backend.elementwise("copy", self)

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return self.backend.reshape(self, tuple(int(s) for s in shape))

    def ravel(self) -> Any:
        return self.reshape(-1)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]
        axes = tuple(range(self.ndim))[::-1] if axes is None or len(axes) == 0 else \
            tuple(int(a) % self.ndim for a in axes)
        return self.backend.view_op(self, lambda a: a.transpose(axes))

    def swapaxes(self, a: int, b: int) -> Any:
        return self.backend.view_op(self, lambda x: x.swapaxes(a, b))

    def sum(self, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Any:
        out = self.backend.reduce("sum", self, axis, keepdims)
        return out if dtype is None else out.astype(dtype)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return self.backend.reduce("max", self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return self.backend.reduce("min", self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        s = self.backend.reduce("sum", self, axis, keepdims)
        return s / s.dtype.type(max(self.size // max(s.size, 1), 1))

    def __getattr__(self, name: str) -> Any:  # anything else: run it on the realised array
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.realize(), name)


def _is_operand(x: Any) -> bool:
    return isinstance(x, (LazyArray, int, float, bool, np.generic)) or hasattr(x, "__array_interface__") or \
        hasattr(x, "__cuda_array_interface__")


@functools.lru_cache(maxsize=4096)
def _result_dtype(name: str, operands: tuple) -> np.dtype:
    """The dtype numpy gives ``name`` of operands described by their dtypes (arrays and NumPy scalars,
    which are not weak), Python floats and bools by type, ints as ``("int", value)`` (an int out of an
    integer dtype's range raises, as numpy does)."""
    dummies = [np.zeros(1, o) if isinstance(o, np.dtype) else o[1] if isinstance(o, tuple) else o(1)
               for o in operands]
    with np.errstate(all="ignore"):
        return np.dtype(UFUNC_OF[name](*dummies).dtype)


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Element strides of a C-contiguous array of ``shape`` (level 1's remembered table)."""
    return row_major_strides(tuple(shape))


class LazyBackend(Backend):
    """The backend of a device inside ``lazy()``: records nodes instead of computing; everything it
    does not describe runs on ``inner`` (the device's real backend) on realised arrays."""

    in_place_grads = False  # an in-place sum would realise the graph: the engine makes new nodes instead

    def __init__(self, inner: Backend, interpret: bool = False) -> None:
        super().__init__(inner.xp)
        self.inner, self.device, self.interpret = inner, inner.device, interpret
        self.replaying = False  # graph mode's replay uses a backend that is not registered

    @property
    def active(self) -> bool:
        """Whether this backend serves its device now (outside ``lazy()`` nodes run eagerly)."""
        return self.replaying or get_backend(self.device) is self

    # ---- building nodes ----------------------------------------------------------------------
    def lift(self, x: Any) -> Any:
        """A LazyArray for a native array (a realised leaf); scalars and LazyArrays unchanged."""
        if isinstance(x, LazyArray) or isinstance(x, (int, float, bool, np.generic)):
            return x
        x = self.inner.asarray(x)
        return LazyArray("buffer", (), None, x.shape, x.dtype, self, buffer=x)

    def elementwise(self, name: str, *args: Any, dtype: Any = None) -> Any:
        if name == "cast":
            out_dtype = np.dtype(dtype)
        else:  # numpy's promotion (a Python number is "weak"), asked once per kind of operands
            out_dtype = _result_dtype(name, tuple(
                np.dtype(a.dtype) if hasattr(a, "dtype") else ("int", a) if type(a) is int else type(a)
                for a in args))
        arrays = [a for a in args if not isinstance(a, (int, float, bool, np.generic))]
        scalars = [a for a in args if isinstance(a, (int, float, bool, np.generic))]
        shape = np.broadcast_shapes(*[tuple(a.shape) for a in arrays])
        operand_dtypes = {np.dtype(a.dtype) for a in arrays} | {np.asarray(s).dtype for s in scalars}
        if out_dtype not in KERNEL_DTYPES or not operand_dtypes <= KERNEL_DTYPES | {np.dtype("float64")}:
            run = (lambda a: a.astype(dtype)) if name == "cast" else UFUNC_OF[name]
            return self.fallback(name, run, args, {})
        inputs = tuple(self.broadcast(a, shape) if not isinstance(a, (int, float, bool, np.generic)) else a
                       for a in args)
        if name == "cast":
            return LazyArray("cast", inputs, None, shape, out_dtype, self)
        return LazyArray(name, inputs, None, shape, out_dtype, self)

    def reduce(self, name: str, x: Any, axis: Any, keepdims: bool) -> Any:
        x = self.lift(x)
        if axis is None:
            axes = tuple(range(x.ndim))
        else:
            axes = tuple(sorted({int(a) % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)}))
        if x.dtype not in KERNEL_DTYPES or x.size == 0 or (name != "sum" and any(x.shape[a] == 0 for a in axes)):
            method = getattr(self.inner, name)
            return self.fallback(name, lambda a: method(a, None if axis is None else axes, keepdims), (x,), {})
        kept = tuple(1 if d in axes else n for d, n in enumerate(x.shape))
        dtype = getattr(np, name)(np.zeros(1, x.dtype)).dtype
        if not axes:  # nothing reduced (a 0-d input, or axis=()): the values themselves, in the result dtype
            return self.elementwise("cast", x, dtype=dtype)
        node = LazyArray(name, (x,), axes, kept, dtype, self)
        if keepdims:
            return node
        return self.reshape(node, tuple(n for d, n in enumerate(x.shape) if d not in axes))

    def view(self, base: LazyArray, shape: tuple[int, ...], strides: tuple[int, ...], offset: int) -> LazyArray:
        """A stride view of ``base``'s (future, contiguous) buffer."""
        if base.op == "view":
            raise AssertionError("views are built on the base node")
        if shape == base.shape and offset == 0 and strides == contiguous_strides(shape):
            return base
        return LazyArray("view", (base,), (tuple(shape), tuple(strides), int(offset)), shape, base.dtype, self)

    def _parts(self, x: LazyArray) -> tuple[LazyArray, tuple, tuple, int]:
        if x.op == "view":
            return (x.inputs[0], *x.arg)
        return x, x.shape, contiguous_strides(x.shape), 0

    def view_op(self, x: Any, fn: Any) -> Any:
        """Apply a numpy view function (transpose, basic indexing, broadcast) to ``x``'s strides."""
        x = self.lift(x)
        if x.buffer is not None:
            return self.lift(fn(x.buffer))
        base, shape, strides, offset = self._parts(x)
        item = x.dtype.itemsize
        anchor = np.zeros(1, x.dtype)
        fake = np.lib.stride_tricks.as_strided(anchor, shape, tuple(s * item for s in strides))
        moved = fn(fake)
        shift = (moved.__array_interface__["data"][0] - anchor.__array_interface__["data"][0]) // item
        return self.view(base, moved.shape, tuple(s // item for s in moved.strides), offset + shift)

    def broadcast(self, x: Any, shape: tuple[int, ...]) -> Any:
        x = self.lift(x)
        if tuple(x.shape) == tuple(shape):
            return x
        return self.view_op(x, lambda a: np.broadcast_to(a, shape))

    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        x = self.lift(x)
        if x.buffer is not None:
            return self.lift(x.buffer.reshape(shape))
        shape = _resolve_shape(shape, x.size)
        base, vshape, strides, offset = self._parts(x)
        if strides == contiguous_strides(vshape) or x.size <= 1:
            return self.view(base, shape, contiguous_strides(shape), offset)
        item = x.dtype.itemsize
        fake = np.lib.stride_tricks.as_strided(np.zeros(1, x.dtype), vshape, tuple(s * item for s in strides))
        try:
            moved = np.reshape(fake, shape, copy=False)
        except ValueError:  # not expressible as a view: copy (lazily) first, as numpy would
            return self.reshape(self.elementwise("copy", x), shape)
        return self.view(base, shape, tuple(s // item for s in moved.strides), offset)

    def getitem(self, x: LazyArray, key: Any) -> Any:
        keys = key if isinstance(key, tuple) else (key,)
        if all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in keys):
            return self.view_op(x, lambda a: a[key])
        return self.fallback("getitem", lambda a, k: a[k], (x, key), {})

    # ---- running things now ------------------------------------------------------------------
    def barrier(self, written: Any = None) -> None:
        """Realise the pending nodes that must not see an in-place write to ``written``: those reading
        a buffer of the same allocation (every pending node when ``written`` is None, as on exit).
        Pending nodes that read other memory stay pending, so they can still fuse."""
        pending = [n for n in list(_pending.values()) if n.buffer is None]
        if written is not None:
            target = _allocation(written.realize() if isinstance(written, LazyArray) else written)
            pending = [n for n in pending if any(_allocation(b) is target for b in _buffers_read(n))]
        if pending:
            from hyperion.runtime.schedule import realize

            realize(pending)

    def fallback(self, name: str, fn: Any, args: tuple, kwargs: dict, writes: Any = None) -> Any:
        """Run ``fn`` now on realised arguments (one opaque kernel); wrap an array result. ``writes``:
        an array ``fn`` writes in place (pending readers of its memory are realised first)."""
        if writes is not None:
            self.barrier(writes[0] if isinstance(writes, tuple) else writes)
        out = fn(*_realize_all(args), **_realize_all(kwargs))
        for s in _stats:
            s.fallback(name)
        if hasattr(out, "shape") and hasattr(out, "dtype") and not isinstance(out, np.generic) and self.active:
            return self.lift(out)  # so `out += bias` after a matmul builds a node, not an in-place write
        return out

    # ---- the Backend interface ---------------------------------------------------------------
    def strided_view(self, storage: Any, shape: tuple[int, ...], strides: tuple[int, ...], offset: int) -> Any:
        if not isinstance(storage, LazyArray):
            return self.inner.strided_view(storage, shape, strides, offset)
        base = storage.inputs[0] if storage.op == "view" else storage
        base_offset = storage.arg[2] if storage.op == "view" else 0
        if base.buffer is not None:
            return self.inner.strided_view(storage.realize(), shape, strides, offset)
        return self.view(base, tuple(shape), tuple(strides), base_offset + offset)

    def to_storage(self, array: Any) -> tuple[Any, tuple[int, ...], Any]:
        if not isinstance(array, LazyArray):
            return self.inner.to_storage(array)
        if array.buffer is not None:
            return self.inner.to_storage(array.buffer)
        base, shape, strides, offset = self._parts(array)
        if strides != contiguous_strides(shape) or offset != 0 or base.size != array.size:
            array = self.elementwise("copy", array)
        return self.reshape(array, (-1,)), contiguous_strides(array.shape), array

    def contiguous(self, x: Any) -> Any:
        if not isinstance(x, LazyArray):
            return self.inner.contiguous(x)
        _, shape, strides, offset = self._parts(x)
        return x if strides == contiguous_strides(shape) and offset == 0 else self.elementwise("copy", x)

    def copy(self, x: Any) -> Any:
        return self.elementwise("copy", x) if isinstance(x, LazyArray) else self.inner.copy(x)

    def owns_memory(self, x: Any) -> bool:
        """A computed node owns its buffer (its own kernel's output); views and lifted arrays do not, nor do
        copies and casts (run op by op, ``interpret=True``, a same-dtype one may hand back its input)."""
        if isinstance(x, LazyArray):
            return x.op not in ("view", "buffer", "copy", "cast")
        return self.inner.owns_memory(x)

    def asarray(self, data: Any, dtype: Any = None) -> Any:
        if isinstance(data, LazyArray):
            return data if dtype is None or np.dtype(dtype) == data.dtype else data.astype(dtype)
        return self.inner.asarray(data, dtype)

    def to_numpy(self, x: Any) -> np.ndarray:
        return self.inner.to_numpy(x.realize() if isinstance(x, LazyArray) else x)

    def cast(self, x: Any, dtype: Any) -> Any:
        if isinstance(x, LazyArray):
            return x if np.dtype(dtype) == x.dtype else x.astype(dtype)
        return self.inner.cast(x, dtype)

    def exp(self, x: Any) -> Any:
        return self.elementwise("exp", x)

    def log(self, x: Any) -> Any:
        return self.elementwise("log", x)

    def sqrt(self, x: Any) -> Any:
        return self.elementwise("sqrt", x)

    def abs(self, x: Any) -> Any:
        return self.elementwise("abs", x)

    def sign(self, x: Any) -> Any:
        return self.elementwise("sign", x)

    def tanh(self, x: Any) -> Any:
        return self.elementwise("tanh", x)

    def maximum(self, a: Any, b: Any) -> Any:
        return self.elementwise("maximum", a, b)

    def minimum(self, a: Any, b: Any) -> Any:
        return self.elementwise("minimum", a, b)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        arrays = [x for x in (cond, a, b) if not isinstance(x, (int, float, bool, np.generic))]
        shape = np.broadcast_shapes(*[tuple(x.shape) for x in arrays])
        dtype = np.where(np.zeros(1, bool), *[np.zeros(1, x.dtype) if hasattr(x, "shape") else x
                                              for x in (a, b)]).dtype
        if dtype not in KERNEL_DTYPES or np.dtype(getattr(cond, "dtype", bool)) != np.bool_:
            return self.fallback("where", self.inner.where, (cond, a, b), {})
        inputs = tuple(x if isinstance(x, (int, float, bool, np.generic)) else self.broadcast(x, shape)
                       for x in (cond, a, b))
        return LazyArray("where", inputs, None, shape, dtype, self)

    def clip(self, x: Any, lo: Any, hi: Any) -> Any:
        if lo is not None:
            x = self.maximum(x, lo)
        return self.minimum(x, hi) if hi is not None else x

    def sum(self, x: Any, axis: Any, keepdims: bool) -> Any:
        return self.reduce("sum", x, axis, keepdims)

    def max(self, x: Any, axis: Any, keepdims: bool) -> Any:
        return self.reduce("max", x, axis, keepdims)

    def min(self, x: Any, axis: Any, keepdims: bool) -> Any:
        return self.reduce("min", x, axis, keepdims)

    def function(self, op: type) -> type:
        """The device's Function for ``op``, with its array inputs lifted to LazyArrays (so a tensor
        made before the block, whose cached array is a real one, still joins the graph). A device's fused
        Function runs opaque, except one marked ``fusible`` (elementwise, e.g. ReLU): the graph keeps level
        1's op, which fuses into its neighbours' kernel."""
        impl = self.inner.function(op)
        if getattr(impl, "fusible", False):  # an elementwise fused Function: the scheduler fuses level 1's op
            impl = op
        lifted = _LIFTED.get(impl)
        if lifted is None and impl is not op:  # a device's fused Function (its own kernels): opaque
            def forward(ctx: Any, *arrays: Any, **options: Any) -> Any:
                return ctx.backend.fallback(impl.__name__, lambda *a: impl.forward(ctx, *a, **options), arrays, {})

            def backward(ctx: Any, grad: Any) -> Any:
                out = ctx.backend.fallback(f"{impl.__name__} backward", lambda g: impl.backward(ctx, g), (grad,), {})
                return tuple(ctx.backend.lift(g) if g is not None else None for g in out) \
                    if isinstance(out, tuple) else out

            lifted = _LIFTED[impl] = type(impl.__name__, (impl,), {"forward": forward, "backward": backward,
                                                                  "__module__": impl.__module__})
        elif lifted is None:
            def forward(ctx: Any, *arrays: Any, **options: Any) -> Any:
                return impl.forward(ctx, *[ctx.backend.lift(a) for a in arrays], **options)

            lifted = _LIFTED[impl] = type(impl.__name__, (impl,), {"forward": forward, "__module__": impl.__module__})
        return lifted

    def synchronize(self) -> None:
        self.inner.synchronize()

    def index_add(self, target: Any, index: Any, values: Any) -> None:
        self.fallback("index_add", self.inner.index_add, (target, index, values), {}, writes=target)

    def __getattr__(self, name: str) -> Any:
        """Every other primitive (matmul, take, concatenate, pad, FFTs, ...): run now, on real arrays."""
        method = getattr(self.inner, name)
        if not callable(method):
            return method
        return lambda *args, **kwargs: self.fallback(name, method, args, kwargs)


for _name in ("matmul", "take", "concatenate", "pad", "arange", "empty", "zeros", "full", "argmax", "argmin",
              "erf", "rfft", "irfft", "fft", "ifft", "complex_to_pairs", "pairs_to_complex", "from_host",
              "dropout_mask"):
    if _name in LazyBackend.__dict__:
        continue

    def _opaque(self: LazyBackend, *args: Any, _name: str = _name, **kwargs: Any) -> Any:
        return self.fallback(_name, getattr(self.inner, _name), args, kwargs)

    setattr(LazyBackend, _name, _opaque)


def _resolve_shape(shape: tuple[int, ...], size: int) -> tuple[int, ...]:
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        shape = tuple(size // max(known, 1) if s == -1 else s for s in shape)
    if math.prod(shape) != size:
        raise ValueError(f"cannot reshape an array of size {size} into shape {shape}")
    return shape


def _buffers_read(node: LazyArray) -> list:
    """The realised arrays ``node`` reads directly (its inputs', or their view bases', buffers)."""
    out = []
    for x in node.inputs:
        if isinstance(x, LazyArray):
            base = x.inputs[0] if x.op == "view" else x
            if base.buffer is not None:
                out.append(base.buffer)
    return out


def _allocation(array: Any) -> Any:
    """The object owning ``array``'s memory: two arrays can overlap only if these are the same
    (CuPy: the ``Memory`` behind the pointer; numpy: the root of the ``base`` chain)."""
    memory = getattr(getattr(array, "data", None), "mem", None) if not isinstance(array, np.ndarray) else None
    if memory is not None:
        return memory
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def _realize_all(value: Any) -> Any:
    if isinstance(value, LazyArray):
        return value.realize()
    if isinstance(value, tuple):
        return tuple(_realize_all(v) for v in value)
    if isinstance(value, list):
        return [_realize_all(v) for v in value]
    if isinstance(value, dict):
        return {k: _realize_all(v) for k, v in value.items()}
    return value


@contextlib.contextmanager
def lazy(*devices: str, interpret: bool = False) -> Iterator[Stats]:
    """Ops on ``devices`` (default: "cpu", and "cuda" when it is available) build a graph inside
    the block and run when a value is needed. Pending values are realised on exit. ``interpret``
    runs each scheduled group op by op with numpy/CuPy instead of compiling it (same schedule)."""
    from hyperion.tensor.backend import cuda_is_available

    devices = devices or (("cpu", "cuda") if cuda_is_available() else ("cpu",))
    previous = {d: get_backend(d) for d in devices}
    for d, b in previous.items():
        register_backend(d, LazyBackend(b.inner if isinstance(b, LazyBackend) else b, interpret))
    stats = Stats()
    _stats.append(stats)
    try:
        yield stats
        for b in (get_backend(d) for d in devices):
            b.barrier()
    finally:
        _stats.remove(stats)
        for d, b in previous.items():
            register_backend(d, b)
