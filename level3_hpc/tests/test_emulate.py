"""The CUDA emulator itself: the block barrier, warp shuffles (PTX's rules), shared memory, and the bugs it
must show -- a missing ``__syncthreads``, a wrong shuffle offset, a barrier some threads never reach."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.kernels import emulate

pytestmark = pytest.mark.skipif(not emulate.available(), reason="the CUDA emulator needs g++ on PATH")

# A block-wide sum: a shared-memory tree for the warps' partials, shuffles inside each warp.
BLOCK_SUM = r"""
extern "C" __global__ void block_sum(const float* x, float* out, int n) {
    __shared__ float partial[32];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    float v = 0.f;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += x[i];
    for (int off = FIRST_OFFSET; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    if (lane == 0) partial[warp] = v;
#if SYNC
    __syncthreads();
#endif
    if (threadIdx.x == 0) {
        float s = 0.f;
        for (int w = 0; w < blockDim.x / 32; ++w) s += partial[w];
        out[blockIdx.x] = s;
    }
}
"""


def _block_sums(first_offset: int = 16, sync: int = 1) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).standard_normal(4 * 256).astype(np.float32)
    out = np.full(4, np.nan, np.float32)
    module = emulate.compile_source(BLOCK_SUM, (("FIRST_OFFSET", first_offset), ("SYNC", sync)))
    module.get_function("block_sum")((4,), (256,), (x, out, x.size))
    return out, x.reshape(4, 256).sum(1, dtype=np.float64)


def test_a_correct_block_reduction_is_exact_to_rounding():
    out, ref = _block_sums()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_a_missing_syncthreads_gives_a_wrong_sum():
    """Thread 0 runs to the read of every warp's partial before the other warps have written theirs."""
    out, ref = _block_sums(sync=0)
    assert not np.allclose(out, ref, rtol=1e-3, atol=1e-3)


def test_a_wrong_shuffle_offset_gives_a_wrong_sum():
    out, ref = _block_sums(first_offset=8)  # lanes 0-15 and 16-31 never meet
    assert not np.allclose(out, ref, rtol=1e-3, atol=1e-3)


def test_a_barrier_some_threads_never_reach_is_an_error_not_a_hang():
    source = r"""
    extern "C" __global__ void early_return(float* y, int n) {
        __shared__ float s[64];
        if ((int)threadIdx.x >= n) return;  // the rest wait at __syncthreads for threads that are gone
        s[threadIdx.x] = 1.f;
        __syncthreads();
        y[threadIdx.x] = s[(threadIdx.x + 1) % n];
    }"""
    kernel = emulate.compile_source(source).get_function("early_return")
    with pytest.raises(RuntimeError, match=r"deadlock .* 40 threads wait at __syncthreads, 24 threads have returned"):
        kernel((1,), (64,), (np.zeros(64, np.float32), 40))
    y = np.zeros(64, np.float32)
    kernel((1,), (64,), (y, 64))  # every thread reaches the barrier: fine
    assert (y == 1).all()


SHUFFLES = r"""
extern "C" __global__ void shuffles(int* out, int b, int width) {
    const int v = 100 + threadIdx.x, t = threadIdx.x, n = blockDim.x;
    out[t] = __shfl_sync(0xffffffffu, v, b, width);
    out[n + t] = __shfl_up_sync(0xffffffffu, v, b, width);
    out[2 * n + t] = __shfl_down_sync(0xffffffffu, v, b, width);
    out[3 * n + t] = __shfl_xor_sync(0xffffffffu, v, b, width);
}
"""


@pytest.mark.parametrize("b,width", [(3, 32), (5, 8), (1, 4), (9, 16), (31, 32)])
def test_shuffles_follow_the_cuda_rules(b, width):
    """The CUDA guide's rules per lane (independent of the shim's PTX formulation): idx reads lane b of its
    segment of ``width``; up/down read b lanes lower/higher in the segment, else keep their own value; xor
    reads lane ^ b unless that lies in a later segment."""
    out = np.zeros(4 * 64, np.int32)
    emulate.compile_source(SHUFFLES).get_function("shuffles")((1,), (64,), (out, b, width))
    lanes = np.arange(64)
    lane, seg = lanes % 32, (lanes % 32) // width
    warp0 = lanes - lane
    idx = warp0 + seg * width + b % width
    up = np.where(lane % width - b >= 0, lanes - b, lanes)
    down = np.where(lane % width + b < width, lanes + b, lanes)
    xor = np.where(((lane ^ b) // width) <= seg, warp0 + (lane ^ b), lanes)
    np.testing.assert_array_equal(out.reshape(4, 64), 100 + np.stack([idx, up, down, xor]))


def test_dynamic_shared_memory_starts_as_nan_in_every_block():
    source = r"""
    extern "C" __global__ void read_unwritten(float* y) {
        extern __shared__ float s[];
        if (blockIdx.x == 0 && threadIdx.x == 0) s[1] = 5.f;  // block 1 must not see it
        __syncthreads();
        y[blockIdx.x * 2 + threadIdx.x] = blockIdx.x == 0 ? s[1] : s[threadIdx.x];
    }"""
    y = np.zeros(4, np.float32)
    emulate.compile_source(source).get_function("read_unwritten")((2,), (2,), (y,), shared_mem=8)
    assert y[0] == 5 and y[1] == 5 and np.isnan(y[2:]).all()


def test_a_write_past_dynamic_shared_memory_is_an_error():
    source = r"""
    extern "C" __global__ void overrun(int n) {
        extern __shared__ float s[];
        s[threadIdx.x] = 1.f;  // n floats were asked for; threads n.. write past them
    }"""
    kernel = emulate.compile_source(source).get_function("overrun")
    kernel((2,), (32,), (32,), shared_mem=4 * 32)
    with pytest.raises(RuntimeError, match="wrote past the end of its 120 bytes of dynamic shared memory"):
        kernel((2,), (32,), (30,), shared_mem=4 * 30)


def test_bad_launches_name_the_problem():
    kernel = emulate.compile_source(SHUFFLES).get_function("shuffles")
    with pytest.raises(TypeError, match="takes 3 arguments"):
        kernel((1,), (32,), (np.zeros(128, np.int32), 1))
    with pytest.raises(TypeError, match="pass a numpy array"):
        kernel((1,), (32,), ([0] * 128, 1, 32))
    with pytest.raises(ValueError, match="at most 1024 threads"):
        kernel((1,), (2048,), (np.zeros(128, np.int32), 1, 32))
    with pytest.raises(RuntimeError, match="width must be a power of two"):
        kernel((1,), (32,), (np.zeros(128, np.int32), 1, 6))
    with pytest.raises(KeyError, match="no extern"):
        emulate.compile_source(SHUFFLES).get_function("nope")
    with pytest.raises(RuntimeError, match="g\\+\\+ failed"):
        emulate.compile_source("extern \"C\" __global__ void broken(float* y) { y[0] = undefined_name; }")


def test_an_unknown_source_is_named():
    with pytest.raises(FileNotFoundError, match="no kernel source 'softmax/99_nope.cu'"):
        emulate.load_module("softmax/99_nope.cu")


def test_16_bit_conversions_round_as_numpy_and_torch_do():
    """The shim's __float2half_rn / __float2bfloat16_rn and back, on normals, subnormals, ties, inf and NaN."""
    import torch

    source = r"""
    #include <cuda_fp16.h>
    #include <cuda_bf16.h>
    extern "C" __global__ void convert(const float* x, __half* h, __nv_bfloat16* b, float* back, int n) {
        const int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (i >= n) return;
        h[i] = __float2half_rn(x[i]);
        b[i] = __float2bfloat16_rn(x[i]);
        back[2 * i] = __half2float(h[i]);
        back[2 * i + 1] = __bfloat162float(b[i]);
    }"""
    rng = np.random.default_rng(3)
    special = [0.0, -0.0, 1.0, 65504.0, 65520.0, 1e-8, 6e-8, 2.0**-24 * 1.5, 1 + 2.0**-11, 1 + 3 * 2.0**-11,
               np.inf, -np.inf, np.nan, 3.0e38, 1 + 2.0**-8, 1 + 3 * 2.0**-8]
    x = np.concatenate([special, rng.standard_normal(500) * 10.0 ** rng.integers(-9, 9, 500)]).astype(np.float32)
    h, b, back = np.zeros(x.size, np.float16), np.zeros(x.size, np.uint16), np.zeros(2 * x.size, np.float32)
    emulate.compile_source(source).get_function("convert")((5,), (128,), (x, h, b, back, x.size))
    num = ~np.isnan(x)
    with np.errstate(over="ignore"):  # 65520 and 3e38 round to inf, as they should
        half = x.astype(np.float16)
    np.testing.assert_array_equal(h.view(np.uint16)[num], half.view(np.uint16)[num])
    bf16 = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(b[num], bf16[num])
    np.testing.assert_array_equal(back[0::2][num], h.astype(np.float32)[num])
    np.testing.assert_array_equal(back[1::2][num], (b.astype(np.uint32) << 16).view(np.float32)[num])
    assert np.isnan(back[0::2][~num]).all() and np.isnan(back[1::2][~num]).all()
