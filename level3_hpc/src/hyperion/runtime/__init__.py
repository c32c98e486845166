"""Run-time support for the kernels: the GPU and its facts, timing with CUDA events, the backend switch."""

from hyperion.runtime.device import gpu_available, gpu_info, require_gpu

__all__ = ["gpu_available", "gpu_info", "require_gpu"]
