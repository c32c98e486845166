// LayerNorm forward 04 -- 03's kernel for 16-bit activations: x and y fp16 or bf16, weight and bias
// fp32, every statistic in fp32. One block per row; each thread loads its chunks of 8 halves (one
// 16-byte load each; see half_row.cuh for rows that do not start on a 16-byte boundary) into fp32
// registers, the block reduces the mean and then the centred variance (two passes over registers: no
// E[x^2] - E[x]^2 cancellation), and y = (x - mean) * rstd * w + b is rounded once to the output type.
// mean and rstd are written in fp32, as a backward pass needs them.
// CACHE_VEC * blockDim.x * 8 must cover the row; the launcher compiles the CACHE_VEC a row needs, and
// HALF_BLOCK (the block it launches) caps the registers so that a block always fits on an SM (at 1024
// threads and long rows the cache then partly spills to local memory: correct, slower).
#include "half_row.cuh"  // first: the CUDA fp16/bf16 headers, before common.cuh's fallback INFINITY
#include "common.cuh"

#ifndef CACHE_VEC
#define CACHE_VEC 2
#endif
#ifndef HALF_BLOCK
#define HALF_BLOCK 1024
#endif

template <typename T>
__device__ void layernorm_half_row(const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ b,
                                   T* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd, int C,
                                   float eps, int vec, int wvec) {
    __shared__ float scratch[32];
    const T* xr = x + (size_t)blockIdx.x * C;
    T* yr = y + (size_t)blockIdx.x * C;
    const int head = row_head(xr, vec);
    const int chunks = row_chunks(C, head);
    float cache[CACHE_VEC][8];
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        load_chunk(xr, j * blockDim.x + threadIdx.x, head, C, vec, 0.f, cache[j]);  // 0 outside the row
#pragma unroll
        for (int k = 0; k < 8; ++k) s += cache[j][k];
    }
    const float mu = block_sum(s, scratch) / C;
    float v = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int e = 8 * (j * blockDim.x + threadIdx.x) - head;
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            const float d = cache[j][k] - mu;
            v += (e + k >= 0 && e + k < C) ? d * d : 0.f;
        }
    }
    const float rs = rsqrtf(block_sum(v, scratch) / C + eps);
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int g = j * blockDim.x + threadIdx.x;
        if (g < chunks) {
            float ww[8], bb[8];
            load_chunk_f32(w, g, head, C, wvec, ww);
            load_chunk_f32(b, g, head, C, wvec, bb);
#pragma unroll
            for (int k = 0; k < 8; ++k) cache[j][k] = (cache[j][k] - mu) * rs * ww[k] + bb[k];
            store_chunk(yr, g, head, C, vec, cache[j]);
        }
    }
    if (threadIdx.x == 0) mean[blockIdx.x] = mu, rstd[blockIdx.x] = rs;
}

extern "C" __global__ void __launch_bounds__(HALF_BLOCK) layernorm_half_fwd_f16(const __half* __restrict__ x, const float* __restrict__ w,
                                                  const float* __restrict__ b, __half* __restrict__ y,
                                                  float* __restrict__ mean, float* __restrict__ rstd, int rows,
                                                  int C, float eps, int vec, int wvec) {
    layernorm_half_row(x, w, b, y, mean, rstd, C, eps, vec, wvec);
}

extern "C" __global__ void __launch_bounds__(HALF_BLOCK) layernorm_half_fwd_bf16(const __nv_bfloat16* __restrict__ x, const float* __restrict__ w,
                                                   const float* __restrict__ b, __nv_bfloat16* __restrict__ y,
                                                   float* __restrict__ mean, float* __restrict__ rstd, int rows,
                                                   int C, float eps, int vec, int wvec) {
    layernorm_half_row(x, w, b, y, mean, rstd, C, eps, vec, wvec);
}
