// Softmax 05 -- 04's kernel for 16-bit rows: fp16 or bf16 in and out, all arithmetic in fp32.
// One block per row. Each thread loads its chunks of 8 halves (one 16-byte load each; see half_row.cuh
// for rows that do not start on a 16-byte boundary) into fp32 registers, the block reduces the max, each
// cached value becomes exp(x - max) in place, the block reduces the sum, and the thread writes
// exp(x - max) / sum rounded once to the output type. 1 read + 1 write of 2 bytes per element.
// Rows longer than the cache (CACHE_VEC * blockDim.x * 8 elements) stream their tail from global memory.
#include "half_row.cuh"  // first: the CUDA fp16/bf16 headers, before common.cuh's fallback INFINITY
#include "common.cuh"

#ifndef CACHE_VEC
#define CACHE_VEC 2  // chunks of 8 elements per thread kept in registers (as 8 floats each)
#endif

template <typename T>
__device__ void softmax_half_row(const T* __restrict__ x, T* __restrict__ y, int C, int vec) {
    __shared__ float scratch[32];
    const T* xr = x + (size_t)blockIdx.x * C;
    T* yr = y + (size_t)blockIdx.x * C;
    const int head = row_head(xr, vec);
    const int chunks = row_chunks(C, head);
    const int cached = min(chunks, CACHE_VEC * (int)blockDim.x);  // chunks held in registers
    float cache[CACHE_VEC][8], f[8];
    float m = -INFINITY;
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int g = j * blockDim.x + threadIdx.x;
        if (g < cached) {
            load_chunk(xr, g, head, C, vec, -INFINITY, cache[j]);
#pragma unroll
            for (int k = 0; k < 8; ++k) m = fmaxf(m, cache[j][k]);
        }
    }
    for (int g = cached + threadIdx.x; g < chunks; g += blockDim.x) {
        load_chunk(xr, g, head, C, vec, -INFINITY, f);
#pragma unroll
        for (int k = 0; k < 8; ++k) m = fmaxf(m, f[k]);
    }
    m = block_max(m, scratch);
    float s = 0.f;  // elements outside the row were loaded as -inf: exp gives 0
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int g = j * blockDim.x + threadIdx.x;
        if (g < cached) {
#pragma unroll
            for (int k = 0; k < 8; ++k) cache[j][k] = expf(cache[j][k] - m), s += cache[j][k];
        }
    }
    for (int g = cached + threadIdx.x; g < chunks; g += blockDim.x) {
        load_chunk(xr, g, head, C, vec, -INFINITY, f);
#pragma unroll
        for (int k = 0; k < 8; ++k) s += expf(f[k] - m);
    }
    const float inv = 1.f / block_sum(s, scratch);
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int g = j * blockDim.x + threadIdx.x;
        if (g < cached) {
#pragma unroll
            for (int k = 0; k < 8; ++k) cache[j][k] *= inv;
            store_chunk(yr, g, head, C, vec, cache[j]);
        }
    }
    for (int g = cached + threadIdx.x; g < chunks; g += blockDim.x) {
        load_chunk(xr, g, head, C, vec, -INFINITY, f);
#pragma unroll
        for (int k = 0; k < 8; ++k) f[k] = expf(f[k] - m) * inv;
        store_chunk(yr, g, head, C, vec, f);
    }
}

extern "C" __global__ void softmax_half_f16(const __half* __restrict__ x, __half* __restrict__ y, int rows, int C,
                                            int vec) {
    softmax_half_row(x, y, C, vec);
}

extern "C" __global__ void softmax_half_bf16(const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y,
                                             int rows, int C, int vec) {
    softmax_half_row(x, y, C, vec);
}
