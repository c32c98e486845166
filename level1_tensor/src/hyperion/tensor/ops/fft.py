"""Real FFTs with autograd: ``rfftn`` and its inverse ``irfftn``, forward and backward side by side.

Hyperion tensors hold real numbers only, so a complex spectrum travels as **real pairs**: a trailing
axis of size 2 holding (real, imaginary) -- exactly PyTorch's ``torch.view_as_real`` layout. The
complex arrays exist only inside these two Functions, on the backend (``scipy.fft`` on the CPU, its
batch split over the process's cores; cuFFT through CuPy on CUDA).

Both transforms are linear maps between real vector spaces, so each backward is the *adjoint* map:

* A complex FFT with ``norm`` has adjoint the inverse FFT with the swapped norm
  (``backward`` <-> ``forward``, ``ortho`` stays): ``(F)^H = conj(F)^T``.
* ``rfft`` keeps only bins ``0 .. n//2``. Its adjoint is ``x_j = s Re(sum_k G_k e^{+2 pi i jk/n})``;
  ``irfft`` counts every bin except 0 and n/2 (even n) twice, so the adjoint is ``irfft`` of ``G``
  with those "middle" bins halved, with the swapped norm.
* ``irfft`` reads only the real part of bins 0 and n/2 and counts the middle bins twice, so its
  adjoint is ``rfft`` (swapped norm) with the middle bins doubled and the imaginary part of bins
  0 and n/2 set to zero.

Inputs are cropped or zero-padded to the requested sizes as in ``torch.fft``; the backward crops or
pads the gradient back to the input's shape.
"""

from __future__ import annotations

from hyperion.tensor.autograd import Function
from hyperion.tensor.backend import Array

SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _middle(length: int, n: int) -> slice:
    """The bins of a length-``length`` half spectrum of an ``n``-point signal counted twice by irfft."""
    return slice(1, min(length, (n + 1) // 2))


def _along(axis: int, index: slice | int) -> tuple:
    return (slice(None),) * axis + (index,)


def _fit(backend, x: Array, axis: int, size: int) -> Array:
    """Crop or zero-pad ``x`` along ``axis`` to ``size`` (the inverse of the transforms' own fitting)."""
    have = x.shape[axis]
    if have > size:
        return x[_along(axis, slice(0, size))]
    if have < size:
        pad = [(0, 0)] * x.ndim
        pad[axis] = (0, size - have)
        return backend.pad(x, tuple(pad))
    return x


class RFFTN(Function):
    """Real input -> half spectrum as (re, im) pairs: ``rfft`` along ``dims[-1]``, ``fft`` along the rest."""

    def forward(self, x: Array, sizes: tuple[int, ...], dims: tuple[int, ...], norm: str) -> Array:
        self.in_shape, self.sizes, self.dims, self.norm = x.shape, sizes, dims, norm
        z = self.backend.rfft(x, sizes[-1], dims[-1], norm)
        for size, axis in zip(sizes[:-1], dims[:-1]):
            z = self.backend.fft(z, size, axis, norm)
        return self.backend.complex_to_pairs(z)

    def backward(self, grad: Array) -> Array:
        backend, sizes, dims, norm = self.backend, self.sizes, self.dims, SWAP[self.norm]
        g = backend.pairs_to_complex(grad)
        for size, axis in zip(sizes[:-1], dims[:-1]):
            g = backend.ifft(g, size, axis, norm)
        last, n = dims[-1], sizes[-1]
        if len(dims) == 1:  # g is still a view of grad: copy before scaling in place
            g = backend.copy(g)
        g[_along(last, _middle(g.shape[last], n))] *= 0.5
        x = backend.irfft(g, n, last, norm)
        for axis in dims:
            x = _fit(backend, x, axis, self.in_shape[axis])
        return x


class IRFFTN(Function):
    """Half spectrum as (re, im) pairs -> real signal: ``ifft`` along ``dims[:-1]``, ``irfft`` along ``dims[-1]``."""

    def forward(self, y: Array, sizes: tuple[int, ...], dims: tuple[int, ...], norm: str) -> Array:
        self.in_shape, self.sizes, self.dims, self.norm = y.shape, sizes, dims, norm
        z = self.backend.pairs_to_complex(y)
        for size, axis in zip(sizes[:-1], dims[:-1]):
            z = self.backend.ifft(z, size, axis, norm)
        return self.backend.irfft(z, sizes[-1], dims[-1], norm)

    def backward(self, grad: Array) -> Array:
        backend, sizes, dims, norm = self.backend, self.sizes, self.dims, SWAP[self.norm]
        last, n = dims[-1], sizes[-1]
        g = backend.rfft(grad, n, last, norm)
        g[_along(last, _middle(g.shape[last], n))] *= 2
        g[_along(last, 0)] = g[_along(last, 0)].real
        if n % 2 == 0:
            g[_along(last, n // 2)] = g[_along(last, n // 2)].real
        for size, axis in zip(sizes[:-1], dims[:-1]):
            g = backend.fft(g, size, axis, norm)
        pairs = backend.complex_to_pairs(g)
        for axis in dims:
            pairs = _fit(backend, pairs, axis, self.in_shape[axis])
        return pairs
