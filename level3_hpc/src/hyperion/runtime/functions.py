"""Level 1's fused Functions with level-3 kernels inside: registered for "cuda" by ``use_kernels``.

Each class subclasses the level-1 Function it replaces (same arguments, same saved state where the
inherited half needs it) and takes the kernel path only for the case the kernels cover -- fp32, the
last axis, a row that fits the register cache; anything else runs the inherited level-1 code, so
results never depend on whether the kernels are on, only the speed does. ``backend.calls`` counts
which path each call took.

- ``KernelSoftmax``: forward = softmax 06 (row regimes; one read, one write); backward inherited
  (``s * (g - Σ g s)``).
- ``KernelLayerNorm``: forward = LayerNorm 05, backward = LayerNorm 14 (dx, dw, db in one pass + a
  small reduction), or the block-per-row 03 / 13 where the per-shape table (``hyperion.kernels.rows``)
  measured them faster.
- ``KernelGELU``: tanh form only; forward and backward one elementwise kernel each.
- ``KernelReLU``: fp32, ``fused/relu.cu``: one kernel each way (level 1: two forward, one backward).
- ``KernelCrossEntropy``: fp32 (N, C) logits, ``fused/cross_entropy.cu``: 2 kernels forward, 1 backward
  (level 1's composition: about 25); other cases run its parent,
- ``DeviceCountCrossEntropy``: level 1's cross-entropy (the same kernels), except that the mean
  divides by the count of kept rows *on the device*: level 1 reads it on the host (``int(...)``), a
  synchronisation that drains the GPU's queue in the middle of every training step and that a CUDA
  graph cannot capture.
"""

from __future__ import annotations

import numpy as np

from hyperion.tensor.ops.elementwise import GELU, ReLU
from hyperion.tensor.ops.nn import CrossEntropy, LayerNorm, Softmax

SOFTMAX_MAX_ROW = 4 * 1024 * 16 - 3  # softmax 06: 1024 threads of 16 float4 (rows starting anywhere)


def _count(backend, path: str) -> None:
    """Count the path taken on backends that keep a tally (``KernelBackend.calls``)."""
    calls = getattr(backend, "calls", None)
    if calls is not None:
        calls[path] += 1


def _contiguous(backend, a):
    """``a`` itself when C-contiguous (CuPy's ``ascontiguousarray`` costs ~15 µs even then), else a copy."""
    return a if a.flags.c_contiguous else backend.xp.ascontiguousarray(a)


def _fp32(*arrays) -> bool:
    return all(a is None or a.dtype == np.float32 for a in arrays)


class KernelSoftmax(Softmax):
    """Softmax over the last axis of fp32 rows with softmax 06; the backward is level 1's."""

    def forward(self, x, dim: int):
        if not (_fp32(x) and dim == x.ndim - 1 and 0 < x.shape[-1] <= SOFTMAX_MAX_ROW):
            _count(self.backend, "softmax (level 1)")
            return super().forward(x, dim)
        from hyperion.kernels.rows import rows_softmax

        _count(self.backend, "softmax kernel")
        self.out = rows_softmax(x.reshape(-1, x.shape[-1])).reshape(x.shape)
        self.dim = dim
        return self.out


class KernelLayerNorm(LayerNorm):
    """LayerNorm over the last axis with a weight (fp32): forward 05, backward 14 (or the table's choice)."""

    def forward(self, x, weight=None, bias=None, ndim: int = 1, eps: float = 1e-5):
        self.kernel = ndim == 1 and weight is not None and _fp32(x, weight, bias) and 0 < x.shape[-1] <= SOFTMAX_MAX_ROW
        if not self.kernel:
            _count(self.backend, "layer_norm (level 1)")
            return super().forward(x, weight, bias, ndim, eps)
        from hyperion.kernels.rows import rows_layernorm

        _count(self.backend, "layer_norm kernel")
        xp = self.backend.xp
        self.x2 = x.reshape(-1, x.shape[-1])
        self.weight, self.has_bias = weight, bias is not None
        b = bias if bias is not None else xp.zeros_like(weight)
        y, self.mean, self.rstd = rows_layernorm(self.x2, weight, b, eps)
        return y.reshape(x.shape)

    def backward(self, grad):
        if not self.kernel:
            return super().backward(grad)
        from hyperion.kernels.rows import rows_layernorm_backward

        dx, dw, db = rows_layernorm_backward(
            grad.reshape(self.x2.shape), self.x2, self.weight, self.mean, self.rstd
        )
        return (dx.reshape(grad.shape), dw, db) if self.has_bias else (dx.reshape(grad.shape), dw)


class KernelGELU(GELU):
    """GELU, tanh form, fp32: one elementwise kernel each way (the erf form runs level 1's code)."""

    def forward(self, x, approximate: str = "none"):
        self.kernel = approximate == "tanh" and _fp32(x)
        if not self.kernel:
            _count(self.backend, "gelu (level 1)")
            return super().forward(x, approximate)
        from hyperion.kernels.fused import gelu

        _count(self.backend, "gelu kernel")
        self.x, self.approximate = x, approximate
        return gelu(x)

    def backward(self, grad):
        if not self.kernel:
            return super().backward(grad)
        from hyperion.kernels.fused import gelu_backward

        return gelu_backward(grad, self.x)


class KernelReLU(ReLU):
    """ReLU of fp32 with ``fused/relu.cu``: the output and its mask in one kernel, the backward in one. The
    mask is level 1's ``self.positive``, so the results equal level 1's bit for bit; other dtypes run level
    1's code. ``launch``: as :class:`KernelCrossEntropy`'s. ``fusible``: lazy mode keeps level 1's ReLU,
    which its scheduler fuses into the neighbouring elementwise kernel."""

    launch: dict = {}
    fusible = True

    def forward(self, x):
        self.kernel = _fp32(x)
        if not self.kernel:
            _count(self.backend, "relu (level 1)")
            return super().forward(x)
        from hyperion.kernels.fused.relu import relu_forward

        _count(self.backend, "relu kernel")
        out, self.positive = relu_forward(_contiguous(self.backend, x), **self.launch)
        return out

    def backward(self, grad):
        if not (self.kernel and grad.dtype == np.float32):
            return super().backward(grad)
        from hyperion.kernels.fused.relu import relu_backward

        return relu_backward(_contiguous(self.backend, grad), self.positive, **self.launch)


class DeviceCountCrossEntropy(CrossEntropy):
    """Cross-entropy with ``reduction="mean"`` and no host synchronisation (other reductions: level 1's).
    Same arithmetic as level 1 (``total / count`` in the logits' dtype), so the same loss to the bit."""

    def forward(self, logits, target, ignore_index: int = -100, label_smoothing: float = 0.0,
                reduction: str = "mean"):
        self.device_count = reduction == "mean" and logits.ndim == 2 and target.ndim == 1
        if not self.device_count:
            return super().forward(logits, target, ignore_index, label_smoothing, reduction)
        b = self.backend
        classes = logits.shape[1]
        keep = target != ignore_index
        safe_target = b.where(keep, target, 0)
        shifted = logits - b.max(logits, (1,), True)
        logp = shifted - b.log(b.sum(b.exp(shifted), (1,), True))
        index = b.arange(0, logits.shape[0], 1, target.dtype)
        eps = label_smoothing
        loss = -(1 - eps) * logp[index, safe_target] - (eps / classes) * b.sum(logp, (1,), False)
        self.logp, self.keep, self.target, self.index = logp, keep, safe_target, index
        self.eps, self.reduction, self.logits_shape = eps, reduction, logits.shape
        self.count = b.sum(keep, None, False).astype(logits.dtype)  # on the device: no int(...)
        return b.sum(loss * keep, None, False) / self.count  # 0 / 0 = NaN when every row is ignored

    def backward(self, grad):
        if not self.device_count:
            return super().backward(grad)
        b = self.backend
        d = b.exp(self.logp) - self.eps / self.logp.shape[1]
        d[self.index, self.target] -= 1 - self.eps
        scale = grad / b.maximum(self.count, 1)
        return (d * (scale * self.keep.reshape(-1, 1))).astype(self.logp.dtype, copy=False)


class KernelCrossEntropy(DeviceCountCrossEntropy):
    """Cross-entropy of fp32 logits (N, C) with ``fused/cross_entropy.cu``: two kernels forward (per-row
    losses from one online log-sum-exp pass, then a fixed-order total and count), one backward -- level 1's
    composition launches about 25. Any reduction, label smoothing and ``ignore_index``; other dtypes and
    shapes run :class:`DeviceCountCrossEntropy`. ``launch`` is the array module and kernel loader (CuPy and
    NVRTC; the CPU tests put numpy and the emulator there)."""

    launch: dict = {}

    def forward(self, logits, target, ignore_index: int = -100, label_smoothing: float = 0.0,
                reduction: str = "mean"):
        self.kernel = _fp32(logits) and logits.ndim == 2 and target.ndim == 1
        if not self.kernel:
            _count(self.backend, "cross_entropy (level 1)")
            return super().forward(logits, target, ignore_index, label_smoothing, reduction)
        from hyperion.kernels.fused.cross_entropy import cross_entropy_rows, cross_entropy_total

        _count(self.backend, "cross_entropy kernel")
        self.logits, self.target = _contiguous(self.backend, logits), _contiguous(self.backend, target)
        self.ignore_index, self.eps, self.reduction = ignore_index, label_smoothing, reduction
        loss, self.lse = cross_entropy_rows(self.logits, self.target, ignore_index, label_smoothing, **self.launch)
        if reduction == "none":
            self.total = None
            return loss
        self.total = cross_entropy_total(loss, self.target, ignore_index, reduction == "mean", **self.launch)
        return self.total[0]

    def backward(self, grad):
        if not self.kernel:
            return super().backward(grad)
        from hyperion.kernels.fused.cross_entropy import cross_entropy_grad

        grad = _contiguous(self.backend, grad if grad.dtype == np.float32 else grad.astype(np.float32))
        count = self.lse if self.total is None else self.total[1:]  # "none" reads no count
        return cross_entropy_grad(self.logits, self.target, self.lse, grad, count, self.ignore_index,
                                  self.eps, self.reduction, **self.launch)


FUSED = {Softmax: KernelSoftmax, LayerNorm: KernelLayerNorm, GELU: KernelGELU, ReLU: KernelReLU,
         CrossEntropy: KernelCrossEntropy}
