"""Tensor-level functions: argument checking, dtype rules, then one ``Function.apply``.

Every Tensor method and ``hyperion.nn.functional`` lands here. The rules, in one place:

* Python numbers adopt the tensor's dtype (``x * 2`` stays float32).
* A floating tensor with an integer/bool tensor computes in the floating dtype.
* Two floating tensors of different precision are an error naming both dtypes (no silent
  upcast of a float32 model to float64, a classic slow-down), as are two devices.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from hyperion.tensor import dtypes
from hyperion.tensor.errors import DTypeError, ShapeError
from hyperion.tensor.ops import conv as conv_ops
from hyperion.tensor.ops import elementwise as ew
from hyperion.tensor.ops import indexing
from hyperion.tensor.ops import matmul as mm
from hyperion.tensor.ops import movement as mv
from hyperion.tensor.ops import nn as nn_ops
from hyperion.tensor.ops import reduce as rd
from hyperion.tensor.strides import broadcast_shapes, normalize_dim, resolve_shape
from hyperion.tensor.tensor import Tensor

MaxResult = namedtuple("MaxResult", ["values", "indices"])


# ---- operands ----------------------------------------------------------------------------------
def _scalar(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, bool):
        dtype = like.dtype
    elif isinstance(value, (int, np.integer)):
        dtype = like.dtype if like.dtype != dtypes.bool_ else dtypes.int64
    elif isinstance(value, (float, np.floating)):
        dtype = like.dtype if dtypes.is_floating(like.dtype) else dtypes.default_float
    else:
        raise TypeError(f"expected a Tensor or a number, got {type(value).__name__}")
    return Tensor._from_array(like._backend.scalar(value, dtype), like.device)


def _pair(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Two tensors of one dtype on one device, from tensors and/or numbers."""
    if not isinstance(a, Tensor):
        a = _scalar(a, b)
    elif not isinstance(b, Tensor):
        b = _scalar(b, a)
    if a.dtype != b.dtype:
        fa, fb = dtypes.is_floating(a.dtype), dtypes.is_floating(b.dtype)
        if fa and fb:
            raise DTypeError(
                f"{op}: dtype mismatch, {a.dtype} and {b.dtype}; convert one explicitly (e.g. .to({a.dtype}))"
            )
        if fa or fb:
            target = a.dtype if fa else b.dtype
        else:
            target = dtypes.int64
        a, b = (a if a.dtype == target else cast(a, target)), (b if b.dtype == target else cast(b, target))
    return a, b


def _binary(fn: type, a: Any, b: Any, op: str) -> Tensor:
    a, b = _pair(a, b, op)
    try:
        return fn.apply(a, b)
    except ValueError as error:
        if "broadcast" in str(error):
            raise ShapeError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast") from None
        raise


def _check_broadcast(op: str, *shapes: tuple[int, ...]) -> None:
    """A ShapeError naming every shape. Framework code validates with numpy's shape rule, never with
    the learner's Task 1.3 ``broadcast_shapes``, so that each task is graded on its own."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"{op}: shapes {' and '.join(str(s) for s in shapes)} cannot be broadcast") from None


def _float_only(x: Tensor, op: str) -> Tensor:
    if not dtypes.is_floating(x.dtype):
        raise DTypeError(f"{op}: expected a floating-point tensor, got {x.dtype}")
    return x


# ---- elementwise -------------------------------------------------------------------------------
def add(a: Any, b: Any) -> Tensor:
    return _binary(ew.Add, a, b, "add")


def sub(a: Any, b: Any) -> Tensor:
    return _binary(ew.Sub, a, b, "sub")


def mul(a: Any, b: Any) -> Tensor:
    return _binary(ew.Mul, a, b, "mul")


def div(a: Any, b: Any) -> Tensor:
    a, b = _pair(a, b, "div")
    if not dtypes.is_floating(a.dtype):  # true division of integers gives floats, as in PyTorch
        a, b = cast(a, dtypes.default_float), cast(b, dtypes.default_float)
    return _binary(ew.Div, a, b, "div")


def pow(a: Any, b: Any) -> Tensor:
    if isinstance(a, Tensor) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return ew.PowScalar.apply(a, exponent=b)
    return _binary(ew.Pow, a, b, "pow")


def neg(x: Tensor) -> Tensor:
    return ew.Neg.apply(x)


def exp(x: Tensor) -> Tensor:
    return ew.Exp.apply(_float_only(x, "exp"))


def log(x: Tensor) -> Tensor:
    return ew.Log.apply(_float_only(x, "log"))


def sqrt(x: Tensor) -> Tensor:
    return ew.Sqrt.apply(_float_only(x, "sqrt"))


def abs(x: Tensor) -> Tensor:
    return ew.Abs.apply(x)


def maximum(a: Any, b: Any) -> Tensor:
    return _binary(ew.Maximum, a, b, "maximum")


def minimum(a: Any, b: Any) -> Tensor:
    return _binary(ew.Minimum, a, b, "minimum")


def where(cond: Tensor, a: Any, b: Any) -> Tensor:
    """``a`` where ``cond`` is true, else ``b`` (numbers allowed for either)."""
    if not isinstance(cond, Tensor) or cond.dtype != dtypes.bool_:
        raise DTypeError(
            f"where: condition must be a bool tensor, got {getattr(cond, 'dtype', type(cond).__name__)}"
        )
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is None:
        raise TypeError("where: at least one of a, b must be a tensor")
    a, b = _pair(a, b, "where")
    _check_broadcast("where", cond.shape, a.shape, b.shape)
    return ew.Where.apply(cond, a, b)


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # where, not maximum/minimum: at a tie the gradient goes to x, as PyTorch's clamp does
        out = x if min is None else where(lt(x, min), min, x)
        return out if max is None else where(gt(out, max), max, out)
    return ew.Clamp.apply(x, low=min, high=max)


def relu(x: Tensor) -> Tensor:
    return ew.ReLU.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    return ew.Sigmoid.apply(_float_only(x, "sigmoid"))


def tanh(x: Tensor) -> Tensor:
    return ew.Tanh.apply(_float_only(x, "tanh"))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    return ew.GELU.apply(_float_only(x, "gelu"), approximate=approximate)


def cast(x: Tensor, dtype: Any) -> Tensor:
    dtype = dtypes.as_dtype(dtype)
    if x.dtype == dtype:
        return x
    return ew.Cast.apply(x, dtype=dtype)


def to_device(x: Tensor, device: str) -> Tensor:
    return mv.ToDevice.apply(x, device=device)


def clone(x: Tensor) -> Tensor:
    return mv.Clone.apply(x)


def eq(a: Any, b: Any) -> Tensor:
    return _binary(ew.Eq, a, b, "eq")


def ne(a: Any, b: Any) -> Tensor:
    return _binary(ew.Ne, a, b, "ne")


def lt(a: Any, b: Any) -> Tensor:
    return _binary(ew.Lt, a, b, "lt")


def le(a: Any, b: Any) -> Tensor:
    return _binary(ew.Le, a, b, "le")


def gt(a: Any, b: Any) -> Tensor:
    return _binary(ew.Gt, a, b, "gt")


def ge(a: Any, b: Any) -> Tensor:
    return _binary(ew.Ge, a, b, "ge")


def logical_and(a: Tensor, b: Any) -> Tensor:
    return _binary(ew.LogicalAnd, a, b, "logical_and")


def logical_or(a: Tensor, b: Any) -> Tensor:
    return _binary(ew.LogicalOr, a, b, "logical_or")


def logical_not(x: Tensor) -> Tensor:
    return ew.LogicalNot.apply(x)


# ---- reductions --------------------------------------------------------------------------------
def _axes(x: Tensor, dim: Any) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = tuple(sorted({normalize_dim(d, x.ndim) for d in dims}))
    if len(axes) != len(dims):
        raise ValueError(f"dim {dim} names a dimension twice")
    return axes if x.ndim else None


def sum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    if x.dtype == dtypes.bool_:
        x = cast(x, dtypes.int64)
    return rd.Sum.apply(x, axis=_axes(x, dim), keepdim=keepdim)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return rd.Mean.apply(_float_only(x, "mean"), axis=_axes(x, dim), keepdim=keepdim)


def amax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    _check_nonempty(x, "amax")
    return rd.Max.apply(x, axis=_axes(x, dim), keepdim=keepdim)


def amin(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    _check_nonempty(x, "amin")
    return rd.Min.apply(x, axis=_axes(x, dim), keepdim=keepdim)


def max(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """``max(x)`` is the largest element; ``max(x, dim)`` returns ``(values, indices)`` as PyTorch."""
    if dim is None:
        return amax(x)
    indices = argmax(x, dim, keepdim)
    return MaxResult(_pick(x, indices, dim, keepdim), indices)


def min(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    if dim is None:
        return amin(x)
    indices = argmin(x, dim, keepdim)
    return MaxResult(_pick(x, indices, dim, keepdim), indices)


def _pick(x: Tensor, indices: Tensor, dim: int, keepdim: bool) -> Tensor:
    """The elements of ``x`` at ``indices`` along ``dim``: like PyTorch, the values of ``max(x, dim)``
    pass their gradient to the returned index only (``amax`` shares it among ties)."""
    if x.ndim == 0:
        return x
    dim = normalize_dim(dim, x.ndim)
    index = indices._array() if keepdim else x._backend.xp.expand_dims(indices._array(), dim)
    grid = [[-1 if e == d else 1 for e in range(x.ndim)] for d in range(x.ndim)]
    key = tuple(
        index if d == dim else x._backend.arange(0, n, 1, np.int64).reshape(grid[d])
        for d, n in enumerate(x.shape)
    )
    out = indexing.Gather.apply(x, key=key)
    return out if keepdim else squeeze(out, dim)


def _check_nonempty(x: Tensor, op: str) -> None:
    if x.numel() == 0:
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")


def _arg(x: Tensor, dim: int | None, keepdim: bool, which: str) -> Tensor:
    _check_nonempty(x, which)
    axis = None if dim is None else normalize_dim(dim, x.ndim)
    out = getattr(x._backend, which)(x._array(), axis, keepdim and axis is not None)
    return Tensor._from_array(out.astype(np.int64, copy=False), x.device)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg(x, dim, keepdim, "argmax")


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg(x, dim, keepdim, "argmin")


def var(
    x: Tensor, dim: Any = None, correction: int = 1, keepdim: bool = False, unbiased: bool | None = None
) -> Tensor:
    """Variance, composed from primitives: mean((x - mean)²) · n / (n - correction)."""
    if unbiased is not None:
        correction = int(unbiased)
    axes = _axes(x, dim)
    count = x.numel() if axes is None else int(np.prod([x.shape[a] for a in axes]))
    centered = x - mean(x, dim, keepdim=True)
    return sum(centered * centered, dim, keepdim) / (count - correction)


def std(
    x: Tensor, dim: Any = None, correction: int = 1, keepdim: bool = False, unbiased: bool | None = None
) -> Tensor:
    v = var(x, dim, correction=correction, keepdim=keepdim, unbiased=unbiased)
    # sqrt has an infinite slope at 0: give constant data a zero gradient (as PyTorch), not NaN
    positive = v > 0
    return where(positive, sqrt(where(positive, v, 1.0)), 0.0)


# ---- movement ----------------------------------------------------------------------------------
def view(x: Tensor, shape: Sequence[int]) -> Tensor:
    return mv.View.apply(x, shape=resolve_shape(tuple(shape), x.numel(), x.shape))


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    """A view when the strides allow one, else a copy (as PyTorch)."""
    shape = resolve_shape(tuple(shape), x.numel(), x.shape)
    if mv.cached_view_strides(x.shape, x.strides, shape) is not None:
        return mv.View.apply(x, shape=shape)
    return mv.Reshape.apply(x, shape=shape)


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    if len(dims) != x.ndim:
        raise ValueError(
            f"permute: dims {tuple(dims)} has {len(dims)} entries for a tensor of shape {x.shape}"
        )
    return mv.Permute.apply(x, dims=tuple(dims))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    dims = list(range(x.ndim))
    d0, d1 = normalize_dim(dim0, x.ndim), normalize_dim(dim1, x.ndim)
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return mv.Permute.apply(x, dims=tuple(dims))


def expand(x: Tensor, shape: Sequence[int]) -> Tensor:
    return mv.Expand.apply(x, shape=tuple(shape))


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if t.shape == shape else expand(t, shape) for t in tensors)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    dim = normalize_dim(dim, x.ndim + 1)
    return view(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x: Tensor, dim: int | tuple[int, ...] | None = None) -> Tensor:
    if dim is None:
        dims = {i for i, n in enumerate(x.shape) if n == 1}
    else:
        dims = {normalize_dim(d, x.ndim) for d in ((dim,) if isinstance(dim, int) else dim)}
        dims = {d for d in dims if x.shape[d] == 1}
    return view(x, tuple(n for i, n in enumerate(x.shape) if i not in dims))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = normalize_dim(start_dim, x.ndim), normalize_dim(end_dim, x.ndim)
    middle = int(np.prod(x.shape[start : end + 1]))
    return reshape(x, x.shape[:start] + (middle,) + x.shape[end + 1 :])


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    dim = normalize_dim(dim, x.ndim)
    key = (slice(None),) * dim + (slice(start, start + length),)
    return getitem(x, key)


def split(x: Tensor, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Views of consecutive pieces along ``dim``: equal ``split_size`` pieces or the given sizes."""
    dim = normalize_dim(dim, x.ndim)
    total = x.shape[dim]
    if isinstance(split_size, int):
        if split_size <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size}")
        sizes = [split_size] * (total // split_size) + ([total % split_size] if total % split_size else [])
    else:
        sizes = list(split_size)
        if builtins_sum(sizes) != total:
            raise ShapeError(f"split: sizes {sizes} do not add up to {total} (dimension {dim} of {x.shape})")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(narrow(x, dim, start, size))
        start += size
    return tuple(pieces)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    size = -(-x.shape[normalize_dim(dim, x.ndim)] // chunks)
    return split(x, builtins_max(size, 1), dim)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    first = tensors[0]
    dim = normalize_dim(dim, first.ndim)
    for t in tensors[1:]:
        if t.ndim != first.ndim or any(
            a != b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != dim
        ):
            raise ShapeError(f"cat: shapes {first.shape} and {t.shape} differ outside dimension {dim}")
        if t.dtype != first.dtype:
            raise DTypeError(f"cat: dtype mismatch, {first.dtype} and {t.dtype}")
    return mv.Cat.apply(*tensors, dim=dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors must have one shape, got {sorted(shapes)}")
    dim = normalize_dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, dim) for t in tensors], dim)


# ---- indexing ----------------------------------------------------------------------------------
def _is_basic(item: Any) -> bool:
    return item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice))


def _expand_ellipsis(x: Tensor, key: tuple) -> tuple:
    consumed = builtins_sum(
        1
        for k in key
        if k is not None and k is not Ellipsis and not (isinstance(k, Tensor) and k.dtype == dtypes.bool_)
    )
    consumed += builtins_sum(k.ndim for k in key if isinstance(k, Tensor) and k.dtype == dtypes.bool_)
    if builtins_sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > x.ndim:
        raise IndexError(f"too many indices for a tensor of shape {x.shape}: {consumed} given")
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (x.ndim - consumed))
        else:
            out.append(k)
    return tuple(out)


def native_index(x: Tensor, key: Any) -> Any:
    """Translate a key with Tensors inside into one numpy/CuPy understands, checking ranges."""
    key = key if isinstance(key, tuple) else (key,)
    key = _expand_ellipsis(x, key)
    out, dim = [], 0
    for k in key:
        if isinstance(k, Tensor):
            if k.dtype == dtypes.bool_:
                if k.shape != x.shape[dim : dim + k.ndim]:
                    raise IndexError(
                        f"boolean mask of shape {k.shape} does not match the indexed "
                        f"dimensions {x.shape[dim : dim + k.ndim]} of shape {x.shape}"
                    )
                out.append(k._array())
                dim += k.ndim
                continue
            if k.dtype != dtypes.int64:
                raise IndexError(f"tensors used as indices must be int64 or bool, got {k.dtype}")
            k = k._array()
        if isinstance(k, (list, np.ndarray)) or hasattr(k, "__cuda_array_interface__"):
            arr = x._backend.asarray(k)
            if arr.dtype.kind == "b":
                out.append(arr)
                dim += arr.ndim
                continue
            if arr.size and bool(((arr >= x.shape[dim]) | (arr < -x.shape[dim])).any()):  # one device read
                raise IndexError(
                    f"index {int(arr.max()) if int(arr.max()) >= x.shape[dim] else int(arr.min())} "
                    f"is out of range for dimension {dim} with size {x.shape[dim]}"
                )
            out.append(arr)
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            if not -x.shape[dim] <= k < x.shape[dim]:
                raise IndexError(f"index {k} is out of range for dimension {dim} with size {x.shape[dim]}")
            out.append(int(k))
        else:
            out.append(k)
        if k is not None:
            dim += 1
    return tuple(out)


def getitem(x: Tensor, key: Any) -> Tensor:
    """Basic indexing (ints, slices, None, ...) gives a view; tensors/lists/masks gather a copy."""
    parts = key if isinstance(key, tuple) else (key,)
    if builtins_all(_is_basic(k) for k in parts):
        if x.ndim == 0 and parts not in ((), (Ellipsis,)) and builtins_any(k is not None for k in parts):
            raise IndexError("a 0-d tensor cannot be indexed with ints or slices")
        return mv.BasicIndex.apply(x, key=_expand_ellipsis(x, parts))
    return indexing.Gather.apply(x, key=native_index(x, key))


# ---- matmul ------------------------------------------------------------------------------------
def matmul(a: Tensor, b: Tensor) -> Tensor:
    a, b = _pair(a, b, "matmul")
    return mm.Matmul.apply(a, b)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` with weight of shape (out_features, in_features)."""
    if bias is None:
        return mm.Linear.apply(x, weight)
    return mm.Linear.apply(x, weight, bias)


# ---- neural-network ops ------------------------------------------------------------------------
def softmax(x: Tensor, dim: int) -> Tensor:
    return nn_ops.Softmax.apply(_float_only(x, "softmax"), dim=normalize_dim(dim, x.ndim))


def log_softmax(x: Tensor, dim: int) -> Tensor:
    return nn_ops.LogSoftmax.apply(_float_only(x, "log_softmax"), dim=normalize_dim(dim, x.ndim))


def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    axes = _axes(_float_only(x, "logsumexp"), dim)
    return nn_ops.LogSumExp.apply(x, axis=axes if axes is not None else tuple(range(x.ndim)), keepdim=keepdim)


def _check_target(input: Tensor, target: Tensor, op: str) -> None:
    if not isinstance(target, Tensor) or target.dtype != dtypes.int64:
        raise DTypeError(
            f"{op}: target must be an int64 tensor of class indices, got "
            f"{getattr(target, 'dtype', type(target).__name__)}"
        )
    if input.ndim < 2:
        raise ShapeError(f"{op}: input must have shape (N, C, ...), got {input.shape}")
    expected = (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ShapeError(
            f"{op}: input of shape {input.shape} needs a target of shape {expected}, got {target.shape}"
        )


def _check_classes(target: Tensor, classes: int, ignore_index: int, op: str) -> None:
    t = target._array()
    if target._backend.count_outside(t, classes, ignore_index):
        valid = t[t != ignore_index]
        bad = int(valid.max()) if int(valid.max()) >= classes else int(valid.min())
        raise IndexError(f"{op}: target {bad} is out of range for {classes} classes")


def cross_entropy(
    input: Tensor,
    target: Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of logits ``(N, C, ...)`` against int64 class indices ``(N, ...)``."""
    _check_target(_float_only(input, "cross_entropy"), target, "cross_entropy")
    _check_classes(target, input.shape[1], ignore_index, "cross_entropy")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return nn_ops.CrossEntropy.apply(
        input,
        target=target._array(),
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,
    )


def nll_loss(input: Tensor, target: Tensor, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``(N, C)`` at int64 class indices ``(N,)``."""
    _check_target(_float_only(input, "nll_loss"), target, "nll_loss")
    if input.ndim != 2:
        raise ShapeError(f"nll_loss: expected input of shape (N, C), got {input.shape}")
    _check_classes(target, input.shape[1], ignore_index, "nll_loss")
    return nn_ops.NLLLoss.apply(input, target=target._array(), ignore_index=ignore_index, reduction=reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error, composed from primitives: ``mean((input - target)²)``."""
    if input.shape != target.shape:
        raise ShapeError(f"mse_loss: input shape {input.shape} and target shape {target.shape} differ")
    diff = input - target
    squared = diff * diff
    if reduction == "none":
        return squared
    return mean(squared) if reduction == "mean" else sum(squared)


def layer_norm(
    x: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape) :] != shape:
        raise ShapeError(
            f"layer_norm: normalized_shape {shape} does not match the last dimensions of "
            f"input shape {x.shape}"
        )
    if weight is None and bias is None:
        return nn_ops.LayerNorm.apply(x, ndim=len(shape), eps=eps)
    if weight is None:  # bias alone: the Function takes (x, weight, bias) positionally
        weight = Tensor._from_array(x._backend.full(shape, 1, x.dtype), x.device)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return nn_ops.LayerNorm.apply(*inputs, ndim=len(shape), eps=eps)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator: Any = None) -> Tensor:
    """Task 1.20: inverted dropout: zero each element with probability ``p`` and scale the survivors
    by ``1/(1-p)`` in training; the identity in evaluation (``training=False``) or for ``p == 0``.

    Draw the mask with ``mask = Tensor._from_array(x._backend.dropout_mask(x.shape, p, seed,
    x.dtype), x.device)`` (0/1 values, ``keep ~ Bernoulli(1-p)``), where ``seed =
    (generator or default_generator).seed_for_device()`` (``hyperion.tensor.random``), and return
    ``x * mask * (1/(1-p))`` as Tensor ops so the gradient flows through the same mask. ``p == 1``
    drops everything (``x * 0.0``: no division by zero). Scaling at training time keeps the
    expected activation unchanged, so the network needs no rescaling at test time.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    # BEGIN SOLUTION
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0.0
    from hyperion.tensor.random import default_generator

    seed = (generator or default_generator).seed_for_device()
    mask = Tensor._from_array(x._backend.dropout_mask(x.shape, p, seed, x.dtype), x.device)
    return x * mask * (1 / (1 - p))
    # END SOLUTION


def embedding(indices: Tensor, weight: Tensor) -> Tensor:
    """Rows of ``weight`` picked by int64 ``indices`` (any shape): a gather, scatter-added back."""
    if not isinstance(indices, Tensor) or indices.dtype != dtypes.int64:
        raise DTypeError(
            f"embedding: indices must be an int64 tensor, got "
            f"{getattr(indices, 'dtype', type(indices).__name__)}"
        )
    return getitem(weight, indices)


def _pair2(value: Any, name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {value!r}")
    return (int(pair[0]), int(pair[1]))


def _conv_args(x: Tensor, weight: Tensor, stride: Any, padding: Any, dilation: Any) -> dict:
    if x.ndim != 4 or weight.ndim != 4:
        raise ShapeError(
            f"conv2d: expected input (N, C, H, W) and weight (O, C, KH, KW), got {x.shape} and {weight.shape}"
        )
    if x.shape[1] != weight.shape[1]:
        raise ShapeError(
            f"conv2d: input has {x.shape[1]} channels but weight of shape {weight.shape} "
            f"expects {weight.shape[1]}"
        )
    args = {
        "stride": _pair2(stride, "stride"),
        "padding": _pair2(padding, "padding"),
        "dilation": _pair2(dilation, "dilation"),
    }
    for axis in (0, 1):
        size = conv_ops.output_size(
            x.shape[2 + axis],
            weight.shape[2 + axis],
            args["stride"][axis],
            args["padding"][axis],
            args["dilation"][axis],
        )
        if size <= 0:
            raise ShapeError(
                f"conv2d: kernel {weight.shape[2:]} does not fit input {x.shape[2:]} with "
                f"padding {args['padding']} and dilation {args['dilation']}"
            )
    return args


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch) via im2col."""
    args = _conv_args(x, weight, stride, padding, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return conv_ops.Conv2d.apply(*inputs, **args)


def conv2d_naive(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
) -> Tensor:
    """The loop-over-windows teaching reference for :func:`conv2d` (same results, slower)."""
    args = _conv_args(x, weight, stride, padding, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return conv_ops.Conv2dNaive.apply(*inputs, **args)


def _pool_args(x: Tensor, kernel_size: Any, stride: Any, padding: Any, op: str) -> dict:
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected input (N, C, H, W), got {x.shape}")
    kernel = _pair2(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair2(stride, "stride")
    padding = _pair2(padding, "padding")
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    return {"kernel": kernel, "stride": stride, "padding": padding}


def max_pool2d(
    x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1
) -> Tensor:
    args = _pool_args(x, kernel_size, stride, padding, "max_pool2d")
    return conv_ops.MaxPool2d.apply(x, dilation=_pair2(dilation, "dilation"), **args)


def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Tensor:
    return conv_ops.AvgPool2d.apply(x, **_pool_args(x, kernel_size, stride, padding, "avg_pool2d"))


import builtins  # noqa: E402  (after the defs that shadow sum/max/min/all/any)

builtins_sum, builtins_max, builtins_all, builtins_any = (
    builtins.sum,
    builtins.max,
    builtins.all,
    builtins.any,
)
