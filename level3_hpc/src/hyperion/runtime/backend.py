"""The backend switch: Hyperion's ``device="cuda"`` tensors on this level's kernels.

    from hyperion.runtime.backend import use_kernels
    use_kernels()          # from now on cuda matmuls run matmul/08_double_buffered.cu, and softmax,
                           # LayerNorm, GELU (tanh) and cross-entropy run level 3's row and fused kernels
    use_kernels(matmul_version=None)  # the same, matmuls on cuBLAS through runtime.capturable_gemm
    use_kernels(False)     # back to CuPy's built-ins (cuBLAS)
    use_cpu_kernels()      # "cpu" Conv2d, MaxPool2d, ReLU with compiled loops (hyperion.kernels.conv_cpu)

:class:`KernelBackend` is level 1's ``CupyBackend`` with ``matmul`` replaced -- 2-D (and
batched-by-reshape) fp32 products go to our kernel, anything else (other dtypes, broadcast batch
shapes) falls back to CuPy; with ``matmul_version=None`` fp32 and complex64 products of two ≥ 2-D operands go
to cuBLAS through :class:`~hyperion.runtime.capturable_gemm.CublasGemm` (the call planned once per layout: a
few µs of host time where ``cupy.matmul`` takes tens); a column sum of a short fp32 matrix (a bias
gradient) is one launch of ``fused/column_sum.cu``, and an optimizer's ``add_scaled_`` one planned launch of
``fused/add_scaled.cu``. The fused ``Softmax``, ``LayerNorm``, ``GELU``, ``ReLU``
and ``CrossEntropy`` Functions are handed to their kernel subclasses in :mod:`hyperion.runtime.functions`
through level 1's one per-device table (``register_function("cuda", op, impl)``), which ``use_kernels`` fills
and empties.
``calls`` counts which path each call took, so a test can see the kernels were used.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from hyperion.kernels.fused.add_scaled import MAX_SIZE, add_scaled_
from hyperion.kernels.fused.column_sum import MAX_ROWS, column_sum
from hyperion.runtime.functions import FUSED
from hyperion.tensor.backend import CupyBackend, register_backend, register_function

_CUBLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.complex64))
_F32 = np.dtype(np.float32)


class KernelBackend(CupyBackend):
    """CuPy everywhere, except matmul (the level-3 kernel ``version`` for fp32; None: cuBLAS through our own
    planned call) and, when
    ``fused``, short column sums and the softmax, LayerNorm, GELU, ReLU and cross-entropy Functions (level-3
    kernels for the cases they cover)."""

    def __init__(
        self,
        matmul_version: str | None = "08_double_buffered",
        config: dict | None = None,
        fused: bool = True,
    ) -> None:
        super().__init__()
        self.matmul_version, self.config, self.fused = matmul_version, config, fused
        self.calls: Counter[str] = Counter()
        self._gemm = None  # CublasGemm, made on the first cuBLAS matmul

    def matmul(self, a, b):
        from hyperion.kernels.matmul import matmul

        fp32 = a.dtype == np.float32 and b.dtype == np.float32 and self.matmul_version is not None
        if fp32 and a.ndim == 2 and b.ndim == 2:
            self.calls["matmul kernel"] += 1
            return matmul(a, b, self.matmul_version, self.config)
        if fp32 and a.ndim > 2 and b.ndim == 2:  # (..., K) @ (K, N): one 2-D product over the rows
            self.calls["matmul kernel"] += 1
            out = matmul(a.reshape(-1, a.shape[-1]), b, self.matmul_version, self.config)
            return out.reshape(*a.shape[:-1], b.shape[1])
        if (self.matmul_version is None and a.dtype == b.dtype and a.dtype in _CUBLAS_DTYPES and a.ndim >= 2
                and b.ndim >= 2):
            if self._gemm is None:
                from hyperion.runtime.capturable_gemm import CublasGemm

                self._gemm = CublasGemm()
            self.calls["matmul (cuBLAS)"] += 1
            return self._gemm(a, b)
        self.calls["matmul (CuPy)"] += 1
        return super().matmul(a, b)

    def add_scaled_(self, target, x, alpha: float):
        """An optimizer's ``target += alpha * x``: one planned launch of ``fused/add_scaled.cu`` for two
        C-contiguous fp32 CuPy arrays of one shape (the same bits as level 1's CuPy kernel, less host time)."""
        if (self.fused and type(x) is self.xp.ndarray and type(target) is self.xp.ndarray and x.dtype == _F32
                and target.dtype == _F32 and x.shape == target.shape and 0 < x.size <= MAX_SIZE
                and x._c_contiguous and target._c_contiguous):
            self.calls["add_scaled kernel"] += 1
            add_scaled_(target, x, alpha)
            return target
        return super().add_scaled_(target, x, alpha)

    def sum(self, x, axis, keepdims):
        """A column sum of a short C-contiguous fp32 matrix (a bias gradient) in one launch of
        ``fused/column_sum.cu``; any other sum is CuPy's reduction."""
        if (self.fused and axis == (0,) and x.ndim == 2 and x.dtype == np.float32 and 0 < x.shape[0] <= MAX_ROWS
                and x.flags.c_contiguous):
            self.calls["column sum kernel"] += 1
            out = column_sum(x)
            return out.reshape(1, -1) if keepdims else out
        return super().sum(x, axis, keepdims)


def use_kernels(enable: bool = True, **options) -> CupyBackend:
    """Register :class:`KernelBackend` (or plain CuPy when ``enable`` is False) for "cuda"; returns it."""
    backend = KernelBackend(**options) if enable else CupyBackend()
    register_backend("cuda", backend)
    fused = enable and backend.fused
    for op, impl in FUSED.items():
        register_function("cuda", op, impl if fused else None)
    from hyperion.kernels.attention import FlashAttentionHopper
    from hyperion.transformer.flash.function import FlashAttention, FlashAttentionCUDA

    # level 2 registers its own CUDA Function; the kernels swap in the one with the Hopper forward and back
    register_function("cuda", FlashAttention, FlashAttentionHopper if fused else FlashAttentionCUDA)
    return backend


def use_cpu_kernels(enable: bool = True) -> None:
    """Run "cpu" ``Conv2d``, ``MaxPool2d`` and ``ReLU`` with level 3's compiled loops (:mod:`hyperion.kernels.conv_cpu`)
    from now on, through the same per-device table; ``enable=False`` goes back to level 1's numpy."""
    from hyperion.kernels.conv_cpu import COMPILED

    for op, impl in COMPILED.items():
        register_function("cpu", op, impl if enable else None)
