"""A whole training step captured once as a CUDA graph and replayed with one launch.

    from hyperion.runtime.cuda_graph import CudaGraphStep
    def step():
        model.zero_grad(); _, loss = model(x, y); loss.backward(); return loss
    graphed = CudaGraphStep(step)     # warm up, capture
    loss = graphed()                  # one cudaGraphLaunch: every kernel of the step, no Python per op

Eager mode pays Python for every op (the Function, the autograd engine, CuPy's launch), and at
B=32, T=256 the GPT step on an H200 is bound by that host time, not by the GPU. A CUDA graph
(``cudaStreamBeginCapture``: the kernels a stream would run are recorded instead) replays the
step's kernels with no host work at all. PyTorch's ``torch.cuda.graphs`` follows the same recipe,
and so does this file:

1. **Warm up on the capture stream** (a non-blocking stream, so the legacy default stream never
   joins the capture): kernels compile, cuBLAS sets up its per-stream state, and the caching
   allocator caches every block the step needs.
2. **A private memory pool.** While warming up and capturing, CuPy allocates from a caching
   allocator of its own (:class:`~hyperion.runtime.memory.DeviceAllocator`), which nothing else
   uses afterwards: the addresses baked into the graph are never handed to anyone else.
3. **Host data becomes a graph copy.** A host→device copy from pageable memory cannot be captured
   (a step may make a few: level 2's GPT step uploaded its position indices and each layer's causal
   mask until the mask was cached and the positions became a slice of ``wpe.weight``). During capture the
   backend's ``from_host`` stages the data in pinned host memory kept by the graph and records an
   asynchronous copy, so every replay copies the same constant again.
4. **Replay.** The graph reads and writes the buffers it captured: the inputs must stay the arrays
   they were (copy a new batch *into* them), and the outputs -- the returned value and the
   parameters' ``.grad`` -- are overwritten by each replay. Shapes are fixed by the capture.

5. **cuBLAS through our own handle.** CuPy refuses cuBLAS calls while a stream captures, so the
   backend's fp32 and complex64 ``matmul`` runs :class:`~hyperion.runtime.capturable_gemm.CublasGemm` (its own handle
   and workspace, ``cublasGemmStridedBatchedEx``) while warming up and capturing. Its kernels may
   differ from CuPy's choice: :meth:`same_kernels` runs an eager step with it, to compare bitwise.
6. **Argument checks off the capture.** Level 1 checks a gather's indices and cross-entropy's
   targets on the host (``int(index.max())``, a boolean-mask gather): during capture those checks
   (``HOST_CHECKS``) run on a side stream, on the values present at capture time (the staged host
   constants are copied there eagerly too); replays do not check again.

A step that reads a value it computes on the host (``.item()``, ``int(array)``) cannot be captured:
capture fails with CuPy's or CUDA's error and nothing is replayed. Level 1's cross-entropy did that
(its row count); ``use_kernels`` registers :class:`~hyperion.runtime.functions.DeviceCountCrossEntropy`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from hyperion.tensor import functional as tensor_functional
from hyperion.tensor.backend import get_backend
from hyperion.tensor.cuda_build import cupy_module

# level 1's argument checks that read device values on the host: run off the capture, on a side stream
HOST_CHECKS = ("native_index", "_check_classes")


class CudaGraphStep:
    """``step`` (no arguments; tensors on "cuda") captured as a CUDA graph; calling it replays the graph
    and returns what the captured call returned."""

    def __init__(self, step: Callable[[], Any], warmup: int = 2) -> None:
        from hyperion.runtime.device import require_gpu

        require_gpu()
        cupy = cupy_module()

        from hyperion.runtime.capturable_gemm import CublasGemm
        from hyperion.runtime.memory import DeviceAllocator

        self.cupy = cupy
        self.backend = get_backend("cuda")
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.side = cupy.cuda.Stream(non_blocking=True)  # never captured: index checks, eager copies
        self.pool = DeviceAllocator()  # private: installed only while warming up and capturing
        self.gemm = CublasGemm()
        self.constants: list[Any] = []  # pinned host buffers the graph copies from
        private = cupy.cuda.PythonFunctionAllocator(self.pool._malloc, self.pool.free).malloc
        self.stream.wait_event(cupy.cuda.get_current_stream().record())
        with cupy.cuda.using_allocator(private), self.same_kernels():
            with self.stream:
                for _ in range(warmup):
                    step()
            self.stream.synchronize()
            self.outputs, self.graph = self._capture(step)
        self.graph.upload(self.stream)
        self.stream.synchronize()

    @contextlib.contextmanager
    def same_kernels(self) -> Iterator[None]:
        """Inside the block the backend's fp32 and complex64 matmuls run on :attr:`gemm`, as in the graph."""
        original = self.backend.matmul

        def matmul(a: Any, b: Any) -> Any:
            if a.dtype == b.dtype and a.dtype in (np.float32, np.complex64) and a.ndim >= 2 and b.ndim >= 2:
                return self.gemm(a, b)
            return original(a, b)

        self.backend.__dict__["matmul"] = matmul
        try:
            yield
        finally:
            del self.backend.__dict__["matmul"]

    def _capture(self, step: Callable[[], Any]) -> tuple[Any, Any]:
        checks = {name: getattr(tensor_functional, name) for name in HOST_CHECKS}
        for name, check in checks.items():
            setattr(tensor_functional, name, self._on_the_side(check))
        self.backend.__dict__["from_host"] = self._from_host_in_graph
        try:
            with self.stream:
                self.stream.begin_capture()
                try:
                    outputs = step()
                except BaseException:
                    self._end_capture_after_error()
                    raise
                graph = self.stream.end_capture()
        finally:
            del self.backend.__dict__["from_host"]
            for name, check in checks.items():
                setattr(tensor_functional, name, check)
        return outputs, graph

    def _on_the_side(self, check: Callable[..., Any]) -> Callable[..., Any]:
        def on_the_side(*args: Any, **kwargs: Any) -> Any:
            with self.side:
                return check(*args, **kwargs)

        return on_the_side

    def _end_capture_after_error(self) -> None:
        try:
            self.stream.end_capture()
        except Exception:  # noqa: BLE001 - the step's own error is the one to report
            pass

    def _from_host_in_graph(self, host: np.ndarray) -> Any:
        """Stage ``host`` in pinned memory the graph keeps, and record its copy to a new device array."""
        cupy = self.cupy
        host = np.ascontiguousarray(host)
        pinned = cupy.cuda.alloc_pinned_memory(max(host.nbytes, 1))
        np.frombuffer(pinned, host.dtype, host.size)[...] = host.reshape(-1)
        self.constants.append(pinned)
        out = cupy.empty(host.shape, host.dtype)
        if host.nbytes:
            runtime = cupy.cuda.runtime
            runtime.memcpyAsync(out.data.ptr, pinned.ptr, host.nbytes, runtime.memcpyHostToDevice, self.stream.ptr)
            # and now, off the capture, so that host-side checks at capture time see the values
            runtime.memcpyAsync(out.data.ptr, pinned.ptr, host.nbytes, runtime.memcpyHostToDevice, self.side.ptr)
            self.side.synchronize()
        return out

    def __call__(self) -> Any:
        """Replay the step on the current stream (ordered after the work queued there before)."""
        self.graph.launch(self.cupy.cuda.get_current_stream())
        return self.outputs

    def memory_stats(self) -> dict[str, int]:
        """The private pool's counters (``reserved_bytes.all.current`` is the graph's memory)."""
        return self.pool.memory_stats()
