"""The Tensor: a flat storage buffer seen through shape, strides and an offset.

::

    storage  [ 0  1  2  3  4  5 ]        one flat buffer (numpy on cpu, CuPy on cuda)
    x        shape (2, 3), strides (3, 1), offset 0   ->  [[0 1 2] [3 4 5]]
    x.T      shape (3, 2), strides (1, 3), offset 0   ->  [[0 3] [1 4] [2 5]]   (same storage)
    x[1]     shape (3,),   strides (1,),   offset 3   ->  [3 4 5]               (same storage)

View ops only compute a new ``(shape, strides, offset)`` (``hyperion.tensor.strides``); compute
ops go through a :class:`~hyperion.tensor.autograd.Function`, which records the graph that
``backward()`` walks. The arithmetic lives in ``hyperion.tensor.ops``; this class is the
user-facing surface, with names and semantics following PyTorch's.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hyperion.tensor import dtypes
from hyperion.tensor.autograd import RemovableHandle, is_grad_enabled, run_backward
from hyperion.tensor.backend import Array, get_backend
from hyperion.tensor.errors import AutogradError, DeviceError, ShapeError
from hyperion.tensor.strides import is_contiguous, normalize_dim

# Tensor.add_/sub_/mul_/div_: the arrays' in-place operators, and the out-of-place ones for casts they refuse
_IN_PLACE = {"add_": operator.iadd, "sub_": operator.isub, "mul_": operator.imul, "div_": operator.itruediv}
_OUT_OF_PLACE = {"add_": operator.add, "sub_": operator.sub, "mul_": operator.mul, "div_": operator.truediv}


class Tensor:
    """An n-dimensional array on a device, with reverse-mode autograd."""

    __slots__ = (
        "_storage",
        "shape",
        "_strides",
        "_offset",
        "device",
        "requires_grad",
        "grad",
        "_ctx",
        "_cache",
        "_retains_grad",
        "_version",
        "_grad_hooks",  # set only by register_post_accumulate_grad_hook (read with getattr)
        "__weakref__",
    )
    __array_priority__ = 1000  # ndarray * Tensor defers to Tensor.__rmul__, which names the bad operand

    def __init__(self, data: Any, dtype: Any = None, device: str = "cpu", requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data._backend.to_numpy(data._array())
        host = dtypes.host_array(data, dtype)
        self._set_array(get_backend(device).from_host(host), device)
        self.requires_grad = bool(requires_grad)
        if self.requires_grad and not dtypes.is_floating(self.dtype):
            raise AutogradError(f"only floating-point tensors can require gradients, got {self.dtype}")
        self.grad: Tensor | None = None
        self._ctx = None
        self._retains_grad = False

    # ---- construction (internal) -------------------------------------------------------------
    def _set_array(self, array: Array, device: str) -> None:
        storage, strides, array = get_backend(device).to_storage(array)
        self._storage, self.shape, self._strides, self._offset = storage, tuple(array.shape), strides, 0
        self.device, self._cache = device, array
        self._version = [0]  # shared by every view of this storage; bumped by each in-place write

    @classmethod
    def _from_array(cls, array: Array, device: str, requires_grad: bool = False) -> Tensor:
        """Wrap a freshly computed native array (no copy when it is C-contiguous)."""
        t = cls.__new__(cls)
        t._set_array(array, device)
        t.requires_grad, t.grad, t._ctx, t._retains_grad = requires_grad, None, None, False
        return t

    def _view(self, shape: tuple[int, ...], strides: tuple[int, ...], offset: int) -> Tensor:
        """A tensor sharing this storage, seen through new shape/strides/offset (no graph)."""
        t = Tensor.__new__(Tensor)
        t._storage, t.shape, t._strides, t._offset, t.device = (
            self._storage,
            shape,
            strides,
            offset,
            self.device,
        )
        t.requires_grad, t.grad, t._ctx, t._cache, t._retains_grad = False, None, None, None, False
        t._version = self._version
        return t

    def _array(self) -> Array:
        """The native (numpy/CuPy) strided view of this tensor; cached, never a copy."""
        if self._cache is None:
            self._cache = get_backend(self.device).strided_view(
                self._storage, self.shape, self._strides, self._offset
            )
        return self._cache

    @property
    def _backend(self):
        return get_backend(self.device)

    # ---- metadata ----------------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return self._storage.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def strides(self) -> tuple[int, ...]:
        """Element strides (not bytes, unlike numpy)."""
        return self._strides

    @property
    def offset(self) -> int:
        return self._offset

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self._strides if dim is None else self._strides[normalize_dim(dim, self.ndim)]

    def storage_offset(self) -> int:
        return self._offset

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[normalize_dim(dim, self.ndim)]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def is_contiguous(self) -> bool:
        return is_contiguous(self.shape, self._strides)

    def element_size(self) -> int:
        return self.dtype.itemsize

    def untyped_storage_id(self) -> int:
        """An id shared by all tensors viewing the same storage (for tests and teaching)."""
        base = self._storage
        while getattr(base, "base", None) is not None:
            base = base.base
        return id(base)

    def is_floating_point(self) -> bool:
        return dtypes.is_floating(self.dtype)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def is_cuda(self) -> bool:
        return self.device == "cuda"

    # ---- conversion --------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A numpy array of the values: shares memory on cpu (like PyTorch), copies from cuda."""
        if self.requires_grad and is_grad_enabled():
            raise AutogradError("numpy() on a tensor that requires grad; use tensor.detach().numpy()")
        return self._backend.to_numpy(self._array())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._backend.to_numpy(self._array())
        return out if dtype is None else out.astype(dtype)

    def item(self) -> float | int | bool:
        if self.numel() != 1:
            raise ShapeError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self._backend.to_numpy(self._array()).reshape(()).item()

    def tolist(self) -> Any:
        return self._backend.to_numpy(self._array()).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise ShapeError(f"the truth value of a tensor with shape {self.shape} is ambiguous")
        return bool(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iub" or self.numel() != 1:
            raise TypeError(
                f"only integer tensors of one element can be used as an index, got "
                f"{self.dtype} of shape {self.shape}"
            )
        return int(self.item())

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        body = np.array2string(
            self._backend.to_numpy(self._array()), separator=", ", prefix="tensor(", precision=4
        )
        extras = []
        if self.dtype != dtypes.float32 or self.numel() == 0:
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def to(self, target: Any = None, dtype: Any = None) -> Tensor:
        """``to("cuda")``, ``to(float64)``, ``to("cpu", float32)``: differentiable."""
        if isinstance(target, str) and target in ("cpu", "cuda"):
            out = self if target == self.device else F.to_device(self, target)
            return out if dtype is None else out.to(dtype)
        if target is not None:
            dtype = target
        return F.cast(self, dtypes.as_dtype(dtype)) if dtype is not None else self

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool_)

    # ---- autograd ----------------------------------------------------------------------------
    def backward(self, gradient: Tensor | None = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        A non-scalar output needs ``gradient`` (d loss / d self) of its shape.
        """
        if not self.requires_grad:
            raise AutogradError(
                "backward() on a tensor that does not require grad (no input has "
                "requires_grad=True, or it was computed under no_grad())"
            )
        backend = self._backend
        if gradient is None:
            if self.numel() != 1:
                raise AutogradError(
                    f"backward() on a non-scalar tensor of shape {self.shape} needs a "
                    "gradient argument of the same shape"
                )
            grad = backend.full(self.shape, 1, self.dtype)
        else:
            gradient = gradient if isinstance(gradient, Tensor) else Tensor(gradient, dtype=self.dtype)
            if gradient.shape != self.shape:
                raise ShapeError(
                    f"backward(): gradient has shape {gradient.shape}, tensor has shape {self.shape}"
                )
            if gradient.device != self.device:
                raise DeviceError(f"backward(): gradient on {gradient.device!r}, tensor on {self.device!r}")
            grad = gradient._array()
        run_backward(self, grad, retain_graph=retain_graph)

    def _accumulate_grad(self, g: Array, steal: bool = False) -> None:
        """Add ``g`` to ``.grad`` (a new sum; ``.grad`` may be shared). The first gradient is copied, or,
        when ``steal`` (the engine holds the only reference to ``g``), kept as it is: PyTorch's
        AccumulateGrad does the same, saving a copy of every parameter per step."""
        if g.dtype != self.dtype:
            g = g.astype(self.dtype)
        if self.grad is None:
            self.grad = Tensor._from_array(g if steal else self._backend.copy(g), self.device)
        else:
            self.grad = Tensor._from_array(self.grad._array() + g, self.device)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise AutogradError(f"only floating-point tensors can require gradients, got {self.dtype}")
        if not self.is_leaf:
            raise AutogradError("requires_grad_() can only be changed on leaf tensors; use detach() first")
        self.requires_grad = requires_grad
        return self

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(self)`` each time backward has finished accumulating this leaf's ``.grad``.

        The "gradient ready" signal of data-parallel training: a leaf's gradient is complete when
        backward reaches it, so its all-reduce can start while backward goes on with other layers.
        Returns a handle whose ``remove()`` unregisters the hook (PyTorch's name and behaviour).
        """
        if not self.is_leaf:
            raise AutogradError("post-accumulate-grad hooks can only be registered on leaf tensors")
        if not self.requires_grad:
            raise AutogradError("cannot register a gradient hook on a tensor that does not require grad")
        if getattr(self, "_grad_hooks", None) is None:
            self._grad_hooks = []
        self._grad_hooks.append(hook)
        return RemovableHandle(self._grad_hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        self._retains_grad = True

    def detach(self) -> Tensor:
        """The same values (shared storage) cut out of the graph."""
        return self._view(self.shape, self._strides, self._offset)

    @property
    def data(self) -> Tensor:
        return self.detach()

    @data.setter
    def data(self, value: Tensor) -> None:
        self._storage, self.shape, self._strides = value._storage, value.shape, value._strides
        self._offset, self._cache, self.device = value._offset, value._cache, value.device
        self._version = value._version

    def clone(self) -> Tensor:
        return F.clone(self)

    def contiguous(self) -> Tensor:
        return self if self.is_contiguous() else F.clone(self)

    # ---- in-place ----------------------------------------------------------------------------
    def _check_inplace(self, op: str) -> None:
        if self.requires_grad and is_grad_enabled():
            kind = "a leaf tensor" if self.is_leaf else "a tensor"
            raise AutogradError(
                f"{op}: in-place change of {kind} that requires grad; do it inside "
                "`with no_grad():` (as optimizers do) or on a detached copy"
            )

    def _inplace(self, op: str, values: Array) -> Tensor:
        self._check_inplace(op)
        self._array()[...] = values
        self._version[0] += 1
        return self

    def _operand(self, other: Any) -> Array:
        if isinstance(other, Tensor):
            if other.device != self.device:
                raise DeviceError(
                    f"expected both tensors on one device, got {self.device!r} and {other.device!r}"
                )
            return other._array()
        return other

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_inplace("__setitem__")
        key = F.native_index(self, key)
        self._array()[key] = self._operand(value)
        self._version[0] += 1

    def copy_(self, src: Tensor | Any) -> Tensor:
        return self._inplace("copy_", self._operand(src))

    def zero_(self) -> Tensor:
        return self._inplace("zero_", 0)

    def fill_(self, value: Any) -> Tensor:
        return self._inplace("fill_", value)

    def _update(self, op: str, operand: Any, alpha: float = 1) -> Tensor:
        """``self ⊕= alpha · operand`` written into the storage by the array's own in-place operator (or,
        with an ``alpha``, the backend's ``add_scaled_``: one kernel on CuPy, not a product and a sum): no
        temporary (an optimizer step is mostly these). Where numpy/CuPy refuse the cast in place (a
        float into an integer tensor), or the array has no in-place operator (Python then returns a new
        array), the result is written back by assignment, cast as before."""
        self._check_inplace(op)
        a = self._array()
        try:
            if alpha == 1:
                result = _IN_PLACE[op](a, operand)
            else:  # add_ and sub_ only (sub_ passes -alpha)
                result = self._backend.add_scaled_(a, operand, alpha)
        except TypeError:  # raised before anything is written
            result = _OUT_OF_PLACE[op](a, operand if alpha == 1 else alpha * operand)
        if result is not a:  # an array type without in-place operators (level 3's lazy arrays): write it back
            a[...] = result
        self._version[0] += 1
        return self

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._update("add_", self._operand(other), alpha)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        if alpha == 1:
            return self._update("sub_", self._operand(other))
        return self._update("add_", self._operand(other), -alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._update("mul_", self._operand(other))

    def div_(self, other: Any) -> Tensor:
        return self._update("div_", self._operand(other))

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace("clamp_", self._backend.clip(self._array(), min, max))

    def uniform_(self, low: float = 0.0, high: float = 1.0, generator: Any = None) -> Tensor:
        from hyperion.tensor.random import default_generator

        host = (generator or default_generator).uniform(self.shape, low, high, self.dtype)
        return self._inplace("uniform_", self._backend.from_host(host))

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
        from hyperion.tensor.random import default_generator

        host = (generator or default_generator).normal(self.shape, self.dtype) * std + mean
        return self._inplace("normal_", self._backend.from_host(host.astype(self.dtype)))

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    # ---- views (share storage) ---------------------------------------------------------------
    def view(self, *shape: Any) -> Tensor:
        return F.view(self, _shape_arg(shape))

    def reshape(self, *shape: Any) -> Tensor:
        return F.reshape(self, _shape_arg(shape))

    def view_as(self, other: Tensor) -> Tensor:
        return F.view(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return F.reshape(self, other.shape)

    def permute(self, *dims: Any) -> Tensor:
        return F.permute(self, _shape_arg(dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return F.transpose(self, dim0, dim1)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dimensions, got shape {self.shape}")
        return self if self.ndim < 2 else F.transpose(self, 0, 1)

    @property
    def T(self) -> Tensor:
        return F.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        if self.ndim < 2:
            raise ShapeError(f"mT needs a tensor with at least 2 dimensions, got shape {self.shape}")
        return F.transpose(self, -2, -1)

    def expand(self, *shape: Any) -> Tensor:
        return F.expand(self, _shape_arg(shape))

    def expand_as(self, other: Tensor) -> Tensor:
        return F.expand(self, other.shape)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return F.expand(self, tuple(shape))

    def unsqueeze(self, dim: int) -> Tensor:
        return F.unsqueeze(self, dim)

    def squeeze(self, dim: int | tuple[int, ...] | None = None) -> Tensor:
        return F.squeeze(self, dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return F.flatten(self, start_dim, end_dim)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return F.narrow(self, dim, start, length)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        return F.split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return F.chunk(self, chunks, dim)

    def __getitem__(self, key: Any) -> Tensor:
        return F.getitem(self, key)

    # ---- arithmetic --------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return F.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return F.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return F.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return F.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return F.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return F.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return F.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return F.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return F.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return F.pow(other, self)

    def __neg__(self) -> Tensor:
        return F.neg(self)

    def __abs__(self) -> Tensor:
        return F.abs(self)

    def __matmul__(self, other: Tensor) -> Tensor:
        return F.matmul(self, other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return F.matmul(other, self)

    # comparisons return bool tensors and carry no gradient
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return F.eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return F.ne(self, other)

    def __lt__(self, other: Any) -> Tensor:
        return F.lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return F.le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return F.gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return F.ge(self, other)

    def __invert__(self) -> Tensor:
        return F.logical_not(self)

    def __and__(self, other: Any) -> Tensor:
        return F.logical_and(self, other)

    def __or__(self, other: Any) -> Tensor:
        return F.logical_or(self, other)

    # ---- methods that mirror functions -------------------------------------------------------
    def add(self, other: Any) -> Tensor:
        return F.add(self, other)

    def sub(self, other: Any) -> Tensor:
        return F.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        return F.mul(self, other)

    def div(self, other: Any) -> Tensor:
        return F.div(self, other)

    def pow(self, exponent: Any) -> Tensor:
        return F.pow(self, exponent)

    def neg(self) -> Tensor:
        return F.neg(self)

    def exp(self) -> Tensor:
        return F.exp(self)

    def log(self) -> Tensor:
        return F.log(self)

    def sqrt(self) -> Tensor:
        return F.sqrt(self)

    def abs(self) -> Tensor:
        return F.abs(self)

    def maximum(self, other: Tensor) -> Tensor:
        return F.maximum(self, other)

    def minimum(self, other: Tensor) -> Tensor:
        return F.minimum(self, other)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        return F.clamp(self, min, max)

    clip = clamp

    def relu(self) -> Tensor:
        return F.relu(self)

    def sigmoid(self) -> Tensor:
        return F.sigmoid(self)

    def tanh(self) -> Tensor:
        return F.tanh(self)

    def matmul(self, other: Tensor) -> Tensor:
        return F.matmul(self, other)

    def sum(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return F.sum(self, dim, keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return F.mean(self, dim, keepdim)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        return F.max(self, dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return F.min(self, dim, keepdim)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return F.amax(self, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return F.amin(self, dim, keepdim)

    def var(
        self, dim: Any = None, correction: int = 1, keepdim: bool = False, unbiased: Any = None
    ) -> Tensor:
        return F.var(self, dim, correction=correction, keepdim=keepdim, unbiased=unbiased)

    def std(
        self, dim: Any = None, correction: int = 1, keepdim: bool = False, unbiased: Any = None
    ) -> Tensor:
        return F.std(self, dim, correction=correction, keepdim=keepdim, unbiased=unbiased)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return F.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return F.argmin(self, dim, keepdim)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return F.logsumexp(self, dim, keepdim)

    def softmax(self, dim: int) -> Tensor:
        return F.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        return F.log_softmax(self, dim)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        return F.where(mask, value, self)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)


def _shape_arg(args: tuple) -> tuple[int, ...]:
    """Accept both ``view(2, 3)`` and ``view((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(int(a) for a in args[0])
    return tuple(int(a) for a in args)


from hyperion.tensor import functional as F  # noqa: E402  (functional needs Tensor defined)
