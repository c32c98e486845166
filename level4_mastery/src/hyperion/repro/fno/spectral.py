"""The Fourier layer's kernel: multiply each kept Fourier mode by its own complex (in, out) matrix.

``SpectralMix`` takes the kept modes of a channel-last spectrum ``x`` of shape
``(batch, *modes, in, 2)`` and complex weights ``w`` of shape ``(in, out, *modes, 2)`` -- (re, im)
pairs, as everywhere in :mod:`hyperion.tensor.fft` -- and returns ``(batch, *modes, out, 2)`` with

    y[b, k, o] = sum_i x[b, k, i] w[i, o, k]          (complex products)

computed as one batched complex matmul over the modes ``k``. For the complex-linear map ``Y = X W``
the gradients (in the (d re + i d im) convention PyTorch uses) are ``dX = dY W^H`` and
``dW = X^H dY``. The weight layout is that of the authors' code (``in, out, modes``), so a PyTorch
model loads the same numbers through ``torch.view_as_complex``.
"""

from __future__ import annotations

from hyperion.tensor import Function
from hyperion.tensor.backend import Array
from hyperion.tensor.errors import ShapeError


class SpectralMix(Function):
    """``einsum("b...i,io...->b...o")`` on complex values stored as real pairs."""

    def forward(self, x: Array, w: Array) -> Array:
        modes, channels_in = x.shape[1:-2], x.shape[-2]
        if w.shape[:1] != (channels_in,) or w.shape[2:-1] != modes or x.shape[-1] != 2 or w.shape[-1] != 2:
            raise ShapeError(
                f"spectral mix: modes of shape {x.shape} (batch, *modes, in, 2) do not fit weights of shape "
                f"{w.shape} (in, out, *modes, 2)"
            )
        backend = self.backend
        batch, kept, channels_out = x.shape[0], w[0, 0, ..., 0].size, w.shape[1]
        self.x_shape, self.w_shape = x.shape, w.shape
        # contiguous (K, ...) stacks: a strided complex batch falls off the BLAS path (25x slower in numpy)
        xc = backend.contiguous(backend.pairs_to_complex(x).reshape(batch, kept, channels_in).transpose(1, 0, 2))
        wc = backend.contiguous(backend.pairs_to_complex(w).reshape(channels_in, channels_out, kept).transpose(2, 0, 1))
        self.xc, self.wc = xc, wc
        y = backend.matmul(xc, wc).transpose(1, 0, 2)  # (B, K, O)
        return backend.complex_to_pairs(y.reshape(batch, *modes, channels_out))

    def backward(self, grad: Array) -> tuple[Array, Array]:
        backend, xc, wc = self.backend, self.xc, self.wc
        batch, kept, channels_out = grad.shape[0], xc.shape[0], wc.shape[2]
        g = backend.contiguous(backend.pairs_to_complex(grad).reshape(batch, kept, channels_out).transpose(1, 0, 2))
        grad_x = backend.matmul(g, backend.contiguous(wc.conj().transpose(0, 2, 1))).transpose(1, 0, 2)  # (B, K, I)
        grad_w = backend.matmul(backend.contiguous(xc.conj().transpose(0, 2, 1)), g).transpose(1, 2, 0)  # (I, O, K)
        return (backend.complex_to_pairs(grad_x).reshape(self.x_shape),
                backend.complex_to_pairs(grad_w).reshape(self.w_shape))
