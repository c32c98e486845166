"""``hyperion.tensor.fft``: real FFTs named and behaving as in ``torch.fft`` (``n``/``s``, ``dim``, ``norm``).

Complex numbers are stored as real pairs: ``rfft`` returns a real tensor with one more, trailing
axis of size 2 holding (real, imaginary) -- what ``torch.view_as_real(torch.fft.rfft(x))`` gives --
and ``irfft`` takes such a tensor. ``dim`` always counts the complex dimensions (the pair axis is
not one of them). Gradients flow through all four (see :mod:`hyperion.tensor.ops.fft`).

    spectrum = fft.rfft(x)                 # (..., n) -> (..., n // 2 + 1, 2)
    x_again = fft.irfft(spectrum, n=n)     # (..., n // 2 + 1, 2) -> (..., n)
"""

from __future__ import annotations

from collections.abc import Sequence

from hyperion.tensor import dtypes
from hyperion.tensor.errors import DTypeError, ShapeError
from hyperion.tensor.ops.fft import IRFFTN, RFFTN
from hyperion.tensor.tensor import Tensor

__all__ = ["irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftn"]

NORMS = ("backward", "forward", "ortho")


def _norm(norm: str | None, op: str) -> str:
    norm = "backward" if norm is None else norm
    if norm not in NORMS:
        raise ValueError(f"{op}: norm must be one of {NORMS} or None, got {norm!r}")
    return norm


def _check_float(x: Tensor, op: str) -> None:
    if x.dtype not in (dtypes.float32, dtypes.float64):
        raise DTypeError(f"{op}: expected a float32 or float64 tensor, got {x.dtype}")


def _dims(dim: Sequence[int], ndim: int, op: str) -> tuple[int, ...]:
    dims = tuple(d + ndim if d < 0 else d for d in dim)
    if any(not 0 <= d < ndim for d in dims):
        raise ShapeError(f"{op}: dim {tuple(dim)} out of range for a signal of {ndim} dimension(s)")
    if len(set(dims)) != len(dims):
        raise ShapeError(f"{op}: dim {tuple(dim)} repeats a dimension")
    return dims


def _sizes(s: Sequence[int | None] | None, default: tuple[int, ...], op: str) -> tuple[int, ...]:
    if s is None:
        return default
    if len(s) != len(default):
        raise ShapeError(f"{op}: got {len(s)} sizes for {len(default)} dimension(s)")
    sizes = tuple(d if n is None or n == -1 else n for n, d in zip(s, default))
    if any(n < 1 for n in sizes):
        raise ShapeError(f"{op}: invalid number of data points {sizes}; each must be at least 1")
    return sizes


def rfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
          norm: str | None = None) -> Tensor:
    """The FFT of a real signal over ``dim`` (default: all, or the last ``len(s)``), half spectrum as pairs."""
    _check_float(input, "rfftn")
    if dim is None:
        dim = range(-len(s), 0) if s is not None else range(input.ndim)
    dims = _dims(dim, input.ndim, "rfftn")
    if not dims:
        raise ShapeError("rfftn: needs at least one dimension to transform")
    sizes = _sizes(s, tuple(input.shape[d] for d in dims), "rfftn")
    return RFFTN.apply(input, sizes=sizes, dims=dims, norm=_norm(norm, "rfftn"))


def irfftn(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] | None = None,
           norm: str | None = None) -> Tensor:
    """The inverse of :func:`rfftn`: a half spectrum as (re, im) pairs back to a real signal."""
    _check_float(input, "irfftn")
    if input.ndim < 2 or input.shape[-1] != 2:
        raise ShapeError(
            f"irfftn: expected complex values as real pairs (a last dimension of size 2), got shape {input.shape}"
        )
    ndim = input.ndim - 1
    if dim is None:
        dim = range(-len(s), 0) if s is not None else range(ndim)
    dims = _dims(dim, ndim, "irfftn")
    if not dims:
        raise ShapeError("irfftn: needs at least one dimension to transform")
    default = tuple(input.shape[d] for d in dims[:-1]) + (2 * (input.shape[dims[-1]] - 1),)
    sizes = _sizes(s, default, "irfftn")
    return IRFFTN.apply(input, sizes=sizes, dims=dims, norm=_norm(norm, "irfftn"))


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """``torch.fft.rfft``: shape ``(..., n)`` -> ``(..., n // 2 + 1, 2)`` along ``dim``."""
    return rfftn(input, None if n is None else (n,), (dim,), norm)


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None) -> Tensor:
    """``torch.fft.irfft``: ``n`` real outputs (default ``2 (m - 1)`` for ``m`` input bins)."""
    return irfftn(input, None if n is None else (n,), (dim,), norm)


def rfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Tensor:
    """``torch.fft.rfft2``: the 2-D FFT of a real signal, half spectrum along ``dim[-1]``."""
    return rfftn(input, s, dim, norm)


def irfft2(input: Tensor, s: Sequence[int] | None = None, dim: Sequence[int] = (-2, -1),
           norm: str | None = None) -> Tensor:
    """``torch.fft.irfft2``: the inverse of :func:`rfft2`."""
    return irfftn(input, s, dim, norm)
