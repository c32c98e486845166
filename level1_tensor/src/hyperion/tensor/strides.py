"""Stride arithmetic: how one flat buffer is seen as many tensors, copying nothing.

A tensor's element ``(i0, i1, ..., ik)`` lives at ``offset + i0*s0 + i1*s1 + ... + ik*sk`` in its
storage. Every view op (transpose, permute, expand, slicing, reshape) is nothing but a new
``(shape, strides, offset)`` for the same storage. The functions here compute those triples; they
are pure functions of tuples, so you can test them with pencil and paper.

Strides are counted in elements, not bytes (numpy counts bytes; we divide by the item size).
Beside ``broadcast_shapes`` sits its adjoint, ``unbroadcast``: a gradient of a broadcast result
summed back to the shape that was broadcast.
"""

from __future__ import annotations

from typing import Any

from hyperion.tensor.errors import ShapeError

Array = Any  # a numpy or CuPy array (as in backend.py): ``unbroadcast`` works on either

Shape = tuple[int, ...]
Strides = tuple[int, ...]


def contiguous_strides(shape: Shape) -> Strides:
    """Task 1.1: the strides of a row-major (C-contiguous) tensor of ``shape``.

    The last dimension is adjacent in memory (stride 1); each earlier dimension steps over one
    whole block of the dimensions after it. For ``shape = (2, 3, 4)`` the answer is ``(12, 4, 1)``.
    The empty shape ``()`` (a scalar) has strides ``()``.
    """
    # BEGIN SOLUTION
    strides = [1] * len(shape)
    for dim in range(len(shape) - 2, -1, -1):
        strides[dim] = strides[dim + 1] * max(shape[dim + 1], 1)
    return tuple(strides)
    # END SOLUTION


def is_contiguous(shape: Shape, strides: Strides) -> bool:
    """Task 1.1: whether ``(shape, strides)`` is row-major contiguous.

    Dimensions of size 1 may have any stride (they are never stepped over), and a tensor with no
    elements is contiguous. Otherwise the strides must equal :func:`contiguous_strides`.
    """
    # BEGIN SOLUTION
    if any(size == 0 for size in shape):
        return True
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True
    # END SOLUTION


def normalize_dim(dim: int, ndim: int) -> int:
    """Map a possibly negative ``dim`` into ``range(ndim)``, with an error naming both."""
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"dimension {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % max(ndim, 1)


def permute_strides(shape: Shape, strides: Strides, dims: tuple[int, ...]) -> tuple[Shape, Strides]:
    """Task 1.2: shape and strides after reordering the dimensions as ``dims``.

    Output dimension ``i`` is input dimension ``dims[i]``: both its size and its stride move with
    it. ``dims`` must be a permutation of ``range(ndim)`` (negative entries allowed); raise
    ``ValueError`` naming ``dims`` otherwise. Transpose is the permutation that swaps two entries.
    """
    # BEGIN SOLUTION
    ndim = len(shape)
    dims = tuple(normalize_dim(d, ndim) for d in dims)
    if sorted(dims) != list(range(ndim)):
        raise ValueError(f"permute: dims {dims} is not a permutation of the {ndim} dimensions")
    return tuple(shape[d] for d in dims), tuple(strides[d] for d in dims)
    # END SOLUTION


def broadcast_shapes(*shapes: Shape) -> Shape:
    """Task 1.3: the shape that all of ``shapes`` broadcast to (numpy/PyTorch rules).

    Align shapes at their last dimension; missing leading dimensions count as 1. In each position
    the sizes must be equal or 1, and the result takes the size that is not 1. Raise
    :class:`ShapeError` naming every shape when two sizes conflict.
    """
    # BEGIN SOLUTION
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(-ndim, 0):
        size = 1
        for shape in shapes:
            other = shape[axis] if -axis <= len(shape) else 1
            if other != 1:
                if size not in (1, other):
                    raise ShapeError(
                        f"shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast "
                        f"(dimension {axis}: {size} vs {other})"
                    )
                size = other
        result.append(size)
    return tuple(result)
    # END SOLUTION



def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Task 1.4: sum ``grad`` (shaped like a broadcast result) back down to ``shape``.

    Broadcasting copies an input along new leading dimensions and along dimensions of size 1, so
    the input's gradient is the *sum* of the gradients of all its copies: sum over the extra leading
    dimensions, then over every dimension where ``shape`` has size 1 but ``grad`` does not
    (keeping that dimension). Return an array of exactly ``shape``.
    """
    # BEGIN SOLUTION
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad if grad.shape == tuple(shape) else grad.reshape(shape)  # no needless view of the sum
    # END SOLUTION

def expand_strides(shape: Shape, strides: Strides, new_shape: Shape) -> Strides:
    """Task 1.2: strides that show a ``shape`` tensor as ``new_shape`` without copying.

    New leading dimensions and dimensions expanded from size 1 get stride 0: every step along them
    revisits the same elements. Other sizes must match exactly; raise :class:`ShapeError` naming
    both shapes otherwise. ``-1`` in ``new_shape`` keeps the existing size.
    """
    # BEGIN SOLUTION
    lead = len(new_shape) - len(shape)
    if lead < 0:
        raise ShapeError(f"expand: cannot expand shape {shape} to fewer dimensions {new_shape}")
    result = []
    for axis, size in enumerate(new_shape):
        if axis < lead:
            if size < 0:
                raise ShapeError(f"expand: -1 is not allowed for the new leading dimension {axis}")
            result.append(0)
            continue
        old = shape[axis - lead]
        if size == -1 or size == old:
            result.append(strides[axis - lead])
        elif old == 1:
            result.append(0)
        else:
            raise ShapeError(
                f"expand: shape {shape} cannot be expanded to {new_shape} (dimension {axis}: {old} vs {size})"
            )
    return tuple(result)
    # END SOLUTION


def view_strides(shape: Shape, strides: Strides, new_shape: Shape) -> Strides | None:
    """Task 1.2: strides that show ``(shape, strides)`` as ``new_shape`` without copying, or None.

    ``new_shape`` has the same number of elements (any ``-1`` already resolved). Walk both shapes
    in chunks of equal element count: each chunk of old dimensions must be laid out
    contiguously *among themselves* (``stride[i] == stride[i+1] * shape[i+1]``), and then the new
    dimensions of that chunk get strides derived from the chunk's innermost stride. If some chunk
    is not contiguous (e.g. flattening a transposed matrix), no view exists: return ``None``, and
    ``reshape`` will copy instead.
    """
    # BEGIN SOLUTION
    old = [(n, s) for n, s in zip(shape, strides) if n != 1]
    result = [0] * len(new_shape)
    if any(n == 0 for n in shape):
        return contiguous_strides(new_shape)
    i = 0  # position in old
    j = 0  # position in new_shape
    while j < len(new_shape):
        if new_shape[j] == 1:
            result[j] = 1
            j += 1
            continue
        # gather one chunk: old dims [i, i2) and new dims [j, j2) with equal products
        i2, j2 = i + 1, j + 1
        old_size, new_size = old[i][0], new_shape[j]
        while old_size != new_size:
            if old_size < new_size:
                old_size *= old[i2][0]
                i2 += 1
            else:
                new_size *= new_shape[j2]
                j2 += 1
        for k in range(i, i2 - 1):
            if old[k][1] != old[k + 1][1] * old[k + 1][0]:
                return None
        stride = old[i2 - 1][1]
        for k in range(j2 - 1, j - 1, -1):
            result[k] = stride
            stride *= new_shape[k]
        i, j = i2, j2
    return tuple(result)
    # END SOLUTION


def resolve_shape(new_shape: tuple[int, ...], numel: int, old_shape: Shape) -> Shape:
    """Replace a single ``-1`` in ``new_shape`` so the element count matches ``numel``."""
    unknown = [i for i, n in enumerate(new_shape) if n == -1]
    if len(unknown) > 1:
        raise ShapeError(f"view: only one dimension can be -1, got {new_shape}")
    known = 1
    for n in new_shape:
        if n != -1:
            if n < 0:
                raise ShapeError(f"view: invalid size {n} in {new_shape}")
            known *= n
    if unknown:
        if known == 0 or numel % known:
            raise ShapeError(
                f"view: shape {new_shape} is invalid for input of shape {old_shape} ({numel} elements)"
            )
        new_shape = tuple(numel // known if n == -1 else n for n in new_shape)
    elif known != numel:
        raise ShapeError(
            f"view: shape {new_shape} is invalid for input of shape {old_shape} ({numel} elements)"
        )
    return tuple(new_shape)


def index_view(shape: Shape, strides: Strides, offset: int, key: tuple) -> tuple[Shape, Strides, int]:
    """Task 1.2: the view selected by a basic index ``key`` (ints, slices, ``None``, ``...``).

    ``key`` is already a tuple with ``...`` expanded into full slices (see ``normalize_index``).
    Walk the dimensions: an int ``i`` (negative counts from the end) moves the offset by
    ``i * stride`` and drops the dimension; a slice ``start:stop:step`` moves the offset to its
    start, keeps ``len(range(start, stop, step))`` elements and multiplies the stride by ``step``;
    ``None`` inserts a new dimension of size 1. Out-of-range ints raise ``IndexError`` naming the
    index, the dimension and its size. Steps must be positive (as in PyTorch).
    """
    # BEGIN SOLUTION
    new_shape: list[int] = []
    new_strides: list[int] = []
    dim = 0
    for item in key:
        if item is None:
            new_shape.append(1)
            new_strides.append(0)
            continue
        size, stride = shape[dim], strides[dim]
        if isinstance(item, slice):
            if item.step is not None and item.step <= 0:
                raise ValueError(f"slice step must be positive, got {item.step} for dimension {dim}")
            start, stop, step = item.indices(size)
            count = len(range(start, stop, step))
            if count:
                offset += start * stride
            new_shape.append(count)
            new_strides.append(stride * step)
        else:
            index = int(item)
            if not -size <= index < size:
                raise IndexError(f"index {index} is out of range for dimension {dim} with size {size}")
            offset += (index % size) * stride
        dim += 1
    new_shape.extend(shape[dim:])
    new_strides.extend(strides[dim:])
    return tuple(new_shape), tuple(new_strides), offset
    # END SOLUTION
