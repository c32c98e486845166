"""The backend switch: Hyperion's ``device="cuda"`` tensors on this level's kernels.

    from hyperion.runtime.backend import use_kernels
    use_kernels()          # from now on cuda matmuls run matmul/08_double_buffered.cu, and softmax,
                           # LayerNorm, GELU (tanh) and cross-entropy run level 3's row and fused kernels
    use_kernels(True, matmul_version=None)  # the same, with fp32 products on cuBLAS (cublasSgemm)
    use_kernels(False)     # back to CuPy's built-ins (cuBLAS)
    use_cpu_kernels()      # "cpu" Conv2d, MaxPool2d, ReLU with compiled loops (hyperion.kernels.conv_cpu)

:class:`KernelBackend` is level 1's ``CupyBackend`` with ``matmul`` replaced -- 2-D (and
batched-by-reshape) fp32 products go to our kernel (or, with ``matmul_version=None``, 2-D ones and
2-D column sums to one ``cublasSgemm`` call, without CuPy's ~30 µs of Python per ``matmul``), anything
else (other dtypes, broadcast batch shapes) falls back to CuPy. The fused ``Softmax``, ``LayerNorm``,
``GELU`` and ``CrossEntropy`` Functions are handed
to their kernel subclasses in :mod:`hyperion.runtime.functions` through level 1's one per-device
table (``register_function("cuda", op, impl)``), which ``use_kernels`` fills and empties.
``calls`` counts which path each call took, so a test can see the kernels were used.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from hyperion.runtime.functions import FUSED
from hyperion.tensor.backend import CupyBackend, register_backend, register_function


class KernelBackend(CupyBackend):
    """CuPy everywhere, except matmul (the level-3 kernel ``version`` for fp32; None: cuBLAS, 2-D fp32 products
    and column sums straight through ``cublasSgemm``) and, when ``fused``, the softmax, LayerNorm, GELU and
    cross-entropy Functions (level-3 kernels for the cases they cover)."""

    def __init__(
        self,
        matmul_version: str | None = "08_double_buffered",
        config: dict | None = None,
        fused: bool = True,
    ) -> None:
        super().__init__()
        self.matmul_version, self.config, self.fused = matmul_version, config, fused
        self.calls: Counter[str] = Counter()
        self._one, self._zero = np.ones(1, np.float32), np.zeros(1, np.float32)  # sgemm's alpha and beta
        self._ones_rows: dict[int, object] = {}

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
        if fp32 or a.dtype != np.float32 or b.dtype != np.float32 or a.ndim != 2 or b.ndim != 2:
            self.calls["matmul (CuPy)"] += 1
            return super().matmul(a, b)
        out = self._sgemm(a, b)
        self.calls["matmul (cuBLAS sgemm)" if out is not None else "matmul (CuPy)"] += 1
        return out if out is not None else super().matmul(a, b)

    def sum(self, x, axis, keepdims):
        """A column sum of a 2-D fp32 array (a bias gradient) as the product ``ones(1, K) @ x`` on cuBLAS;
        any other sum is CuPy's reduction."""
        if (self.matmul_version is None and axis == (0,) and x.ndim == 2 and x.dtype == np.float32
                and x.shape[0] > 0):
            self.calls["column sum as a product"] += 1
            out = self.matmul(self._ones(x.shape[0]), x)  # (a CUDA-graph capture swaps in its own matmul)
            return out.reshape(1, -1) if keepdims else out.reshape(-1)
        return super().sum(x, axis, keepdims)

    def _ones(self, n: int):
        ones = self._ones_rows.get(n)
        if ones is None:
            ones = self._ones_rows[n] = self.xp.ones((1, n), np.float32)
        return ones

    def _sgemm(self, a, b):
        """``a @ b`` for 2-D fp32 CuPy arrays in one ``cublasSgemm`` on CuPy's handle, or None where a layout
        does not fit (then CuPy's ``matmul``). CuPy's own ``matmul`` spends about 30 µs of Python per call
        before the same cuBLAS product (measured on an H100 host, 2026-12-06): a training step of small
        layers is bound by that. Row-major ``a @ b`` is column-major ``bᵀ aᵀ``, so b goes first."""
        from cupy_backends.cuda.libs import cublas

        from hyperion.runtime.capturable_gemm import matrix_layout

        (m, k), n = a.shape, b.shape[1]
        if m == 0 or n == 0 or k == 0:
            return None
        item = 4
        la = matrix_layout(m, k, a.strides[0] // item, a.strides[1] // item)
        lb = matrix_layout(k, n, b.strides[0] // item, b.strides[1] // item)
        if la is None or lb is None or a.strides[0] % item or a.strides[1] % item:
            return None
        out = self.xp.empty((m, n), np.float32)
        handle = self.xp.cuda.device.get_cublas_handle()
        cublas.setPointerMode(handle, cublas.CUBLAS_POINTER_MODE_HOST)
        cublas.sgemm(handle, lb[0], la[0], n, m, k, self._one.ctypes.data, b.data.ptr, lb[1],
                     a.data.ptr, la[1], self._zero.ctypes.data, out.data.ptr, n)  # (on the current stream)
        return out


def use_kernels(enable: bool = True, **options) -> CupyBackend:
    """Register :class:`KernelBackend` (or plain CuPy when ``enable`` is False) for "cuda"; returns it."""
    backend = KernelBackend(**options) if enable else CupyBackend()
    register_backend("cuda", backend)
    fused = enable and backend.fused
    for op, impl in FUSED.items():
        register_function("cuda", op, impl if fused else None)
    return backend


def use_cpu_kernels(enable: bool = True) -> None:
    """Run "cpu" ``Conv2d``, ``MaxPool2d`` and ``ReLU`` with level 3's compiled loops (:mod:`hyperion.kernels.conv_cpu`)
    from now on, through the same per-device table; ``enable=False`` goes back to level 1's numpy."""
    from hyperion.kernels.conv_cpu import COMPILED

    for op, impl in COMPILED.items():
        register_function("cpu", op, impl if enable else None)
