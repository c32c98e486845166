"""Run-time support between an op and a kernel: the GPU and its facts, CUDA-event timing, the
backend switch, the per-op profiler (``profile``) and the caching allocator (``memory_stats``,
``memory_snapshot``, ``empty_cache``, named as PyTorch names them) and lazy mode (``lazy``)."""

from hyperion.runtime.device import gpu_available, gpu_info, require_gpu
from hyperion.runtime.lazy import lazy
from hyperion.runtime.memory import empty_cache, memory_snapshot, memory_stats, use_caching_allocator
from hyperion.runtime.profiler import profile

__all__ = [
    "empty_cache",
    "gpu_available",
    "gpu_info",
    "lazy",
    "memory_snapshot",
    "memory_stats",
    "profile",
    "require_gpu",
    "use_caching_allocator",
]
