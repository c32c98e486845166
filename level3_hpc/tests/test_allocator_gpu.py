"""Our caching allocator under CuPy on a real GPU: reuse without cudaMalloc, cross-stream events, stats."""

from __future__ import annotations

import gc

import numpy as np
from level3_gpu import skip_without_gpu

skip_without_gpu()
import cupy  # noqa: E402

from hyperion.runtime import memory  # noqa: E402
from hyperion.runtime.profiler import profile  # noqa: E402


def test_cupy_allocates_through_ours_and_reuses_freed_blocks():
    ours = memory.use_caching_allocator("cuda")
    try:
        a = cupy.arange(1000, dtype=cupy.float32)
        b = (a * 2).sum()
        assert float(b) == 999 * 1000
        x = cupy.ones((256, 1024), cupy.float32) * 3  # the first round trip may need a segment
        del x
        before = ours.memory_stats()["num_device_alloc"]
        for _ in range(20):
            x = cupy.ones((256, 1024), cupy.float32) * 3  # 1 MiB each, freed every iteration
            del x
        assert ours.memory_stats()["num_device_alloc"] == before
        del a, b
        gc.collect()
        assert ours.memory_stats()["allocated_bytes.all.current"] == 0
        ours.empty_cache()
        assert ours.memory_stats()["reserved_bytes.all.current"] == 0
    finally:
        cupy.cuda.set_allocator(cupy.get_default_memory_pool().malloc)


SPIN = cupy.RawKernel(
    r"""extern "C" __global__ void spin(long long cycles) {
        long long start = clock64();
        while (clock64() - start < cycles) {}
    }""",
    "spin",
)


def test_a_block_read_on_another_stream_is_reused_only_after_it():
    ours = memory.use_caching_allocator("cuda")
    try:
        side = cupy.cuda.Stream(non_blocking=True)
        x = cupy.ones(1 << 20, cupy.float32)
        address = x.data.ptr
        cupy.cuda.runtime.deviceSynchronize()
        with side:
            SPIN((1,), (1,), (np.int64(500_000_000),))  # keeps the side stream busy for ~0.3 s
            y = x * 2  # queued on the side stream behind it
            ours.record_stream(address, side.ptr)
        del x
        z = cupy.empty(1 << 20, cupy.float32)  # the side stream may still read x: not the same block
        side.synchronize()
        assert z.data.ptr != address
        del z  # parked: the next request of its size takes it back
        before = ours.memory_stats()["num_device_alloc"]
        w = [cupy.empty(1 << 20, cupy.float32) for _ in range(2)]  # the event has completed:
        assert address in {v.data.ptr for v in w}  # x's block is reusable (z's is the other one)
        assert ours.memory_stats()["num_device_alloc"] == before
        np.testing.assert_array_equal(cupy.asnumpy(y[:4]), [2, 2, 2, 2])
    finally:
        cupy.cuda.set_allocator(cupy.get_default_memory_pool().malloc)


def test_the_profiler_times_cuda_ops_with_events():
    import hyperion.tensor as ht

    a = ht.randn(512, 512, device="cuda")
    with profile() as prof:
        (a @ a).relu().sum()
    names = [r.name for r in prof.records]
    assert names == ["Matmul", "ReLU", "Sum"] and all(r.device == "cuda" for r in prof.records)
    assert all(r.duration > 0 for r in prof.records) and prof.op_seconds() <= prof.wall


def test_a_block_belongs_to_the_stream_current_when_it_was_allocated():
    ours = memory.use_caching_allocator("cuda")
    side = cupy.cuda.Stream(non_blocking=True)
    try:
        main = cupy.empty(1024, cupy.float32)
        with side:
            other = cupy.empty(1024, cupy.float32)
        assert ours.active[main.data.ptr].stream == cupy.cuda.get_current_stream().ptr
        assert ours.active[other.data.ptr].stream == side.ptr != cupy.cuda.get_current_stream().ptr
        del main, other
    finally:
        cupy.cuda.set_allocator(cupy.get_default_memory_pool().malloc)
