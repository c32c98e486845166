"""The Fourier layer's kernel: keep the low modes of a spectrum, mix each by its own complex matrix, zero the rest.

``SpectralMix.apply(spectrum, w, modes=...)`` takes a channel-last half spectrum of shape
``(batch, *freqs, in, 2)`` -- what :func:`hyperion.tensor.fft.rfft` / ``rfft2`` return, complex
values as (re, im) pairs -- and complex weights ``w`` of shape ``(in, out, *kept, 2)``, and returns a
spectrum ``(batch, *freqs, out, 2)`` that is zero except on the kept modes, where

    y[b, k, o] = sum_i x[b, k, i] w[i, o, k]          (complex products)

computed as one batched complex matmul over the kept modes ``k``. Kept modes (the authors' choice):

* 1-D, ``modes=(m,)``: frequencies ``0 <= k < m``;
* 2-D, ``modes=(m1, m2)``: ``0 <= k2 < m2`` and ``|k1| < m1`` -- rows ``:m1`` (non-negative ``k1``)
  and the last ``m1`` rows (negative ``k1``); weight rows ``:m1`` act on the first, ``m1:`` on the
  second (the authors' ``weights1`` / ``weights2``).

Truncation, mixing and zero-filling are one Function, so a Fourier layer is three ops (``rfft``,
this, ``irfft``) and the inverse transform gets a full-length spectrum (no padding inside it). For
the complex-linear map ``Y = X W`` the gradients (in the (d re + i d im) convention PyTorch uses)
are ``dX = dY W^H`` and ``dW = X^H dY``, gathered from and scattered to the kept modes. The weight
layout is that of the authors' code (``in, out, modes``), so a PyTorch model loads the same numbers
through ``torch.view_as_complex``.
"""

from __future__ import annotations

from hyperion.tensor import Function
from hyperion.tensor.backend import Array
from hyperion.tensor.errors import ShapeError


def kept_blocks(freqs: tuple[int, ...], modes: tuple[int, ...]) -> list[tuple[slice, ...]]:
    """Index blocks of the kept modes in a half spectrum of shape ``freqs``, in the weights' row order."""
    if len(modes) == 1:
        return [(slice(0, modes[0]),)]
    if len(modes) == 2:
        (n1, _), (m1, m2) = freqs, modes
        return [(slice(0, m1), slice(0, m2)), (slice(n1 - m1, n1), slice(0, m2))]
    raise ShapeError(f"spectral mix: 1-D or 2-D modes only, got {modes}")


class SpectralMix(Function):
    """Truncate to the kept modes, ``einsum("b...i,io...->b...o")`` there, zeros elsewhere (complex as pairs)."""

    def forward(self, x: Array, w: Array, modes: tuple[int, ...]) -> Array:
        freqs, channels_in = x.shape[1:-2], x.shape[-2]
        kept_shape = (2 * modes[0], modes[1]) if len(modes) == 2 else tuple(modes)
        fits = len(freqs) == len(modes) and all(m <= f for m, f in zip(kept_shape, freqs))
        if not fits or x.shape[-1] != 2 or w.shape[-1] != 2 or w.shape[:1] != (channels_in,) \
                or w.shape[2:-1] != kept_shape:
            raise ShapeError(
                f"spectral mix: spectrum of shape {x.shape} (batch, *freqs, in, 2) with modes {modes} does not "
                f"fit weights of shape {w.shape} (in, out, *kept, 2)"
            )
        backend = self.backend
        batch, channels_out, kept = x.shape[0], w.shape[1], w[0, 0, ..., 0].size
        self.blocks, self.kept_shape = kept_blocks(freqs, modes), kept_shape
        self.x_shape, self.w_shape = x.shape, w.shape
        # contiguous (K, ...) stacks: a strided complex batch falls off the BLAS path (25x slower in numpy)
        xk = self._gather(backend.pairs_to_complex(x))  # (K, B, I)
        wk = backend.contiguous(backend.pairs_to_complex(w).reshape(channels_in, channels_out, kept).transpose(2, 0, 1))
        self.xk, self.wk = xk, wk
        return backend.complex_to_pairs(self._scatter(backend.matmul(xk, wk), batch, freqs))  # (K, B, O) -> full

    def backward(self, grad: Array) -> tuple[Array, Array]:
        backend, xk, wk = self.backend, self.xk, self.wk
        gk = self._gather(backend.pairs_to_complex(grad))  # (K, B, O)
        grad_x = self._scatter(backend.matmul(gk, wk.conj().transpose(0, 2, 1)), self.x_shape[0], self.x_shape[1:-2])
        grad_w = backend.matmul(xk.conj().transpose(0, 2, 1), gk).transpose(1, 2, 0)  # (I, O, K)
        return backend.complex_to_pairs(grad_x), backend.complex_to_pairs(grad_w).reshape(self.w_shape)

    def _gather(self, z: Array) -> Array:
        """The kept modes of ``z`` (batch, *freqs, c) as one contiguous (K, batch, c) stack."""
        backend = self.backend
        parts = [z[(slice(None), *block)] for block in self.blocks]
        kept = parts[0] if len(parts) == 1 else backend.concatenate(parts, axis=1)
        batch, channels = z.shape[0], z.shape[-1]
        return backend.contiguous(kept.reshape(batch, -1, channels).transpose(1, 0, 2))

    def _scatter(self, yk: Array, batch: int, freqs: tuple[int, ...]) -> Array:
        """A zero spectrum (batch, *freqs, c) holding the (K, batch, c) stack ``yk`` at the kept modes."""
        channels = yk.shape[-1]
        y = yk.transpose(1, 0, 2).reshape(batch, *self.kept_shape, channels)
        out = self.backend.zeros((batch, *freqs, channels), yk.dtype)
        row = 0
        for block in self.blocks:
            rows = block[0].stop - block[0].start
            out[(slice(None), *block)] = y[:, row : row + rows]
            row += rows
        return out
