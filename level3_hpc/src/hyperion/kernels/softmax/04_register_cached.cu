// Softmax 04 -- one block per row, the row cached in registers: each thread loads its float4s once,
// the block reduces the max (warp shuffles, then one shared-memory step across warps), each cached value
// becomes exp(x - max) in place (one exp per element), the block reduces the sum, and the thread writes
// from registers: 1 read + 1 write per element, the minimum, and no more exps than outputs.
// (03's online merge is what a single streaming pass needs; with the row in registers two passes over
// registers cost nothing, and the merge's extra exps would make this kernel compute-bound.)
// Rows longer than the cache (blockDim.x * CACHE_VEC * 4 floats) stream their tail from global memory.
#include "common.cuh"

#ifndef CACHE_VEC
#define CACHE_VEC 4  // float4s per thread kept in registers
#endif

extern "C" __global__ void softmax_register_cached(const float* __restrict__ x, float* __restrict__ y, int rows,
                                                   int C, int vec) {
    __shared__ float scratch[32];
    const float* xr = x + (size_t)blockIdx.x * C;
    float* yr = y + (size_t)blockIdx.x * C;
    const int nvec = vec ? C / 4 : 0;  // float4s in this row (0: C % 4 != 0, all scalar)
    const int tail = min(nvec, CACHE_VEC * (int)blockDim.x) * 4;  // first element not in the cache
    float4 cache[CACHE_VEC];
    float m = -INFINITY;
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int v = j * blockDim.x + threadIdx.x;
        if (v < nvec) {
            cache[j] = reinterpret_cast<const float4*>(xr)[v];
            m = fmaxf(m, fmaxf(fmaxf(cache[j].x, cache[j].y), fmaxf(cache[j].z, cache[j].w)));
        }
    }
    for (int i = tail + threadIdx.x; i < C; i += blockDim.x) m = fmaxf(m, xr[i]);
    m = block_max(m, scratch);
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int v = j * blockDim.x + threadIdx.x;
        if (v < nvec) {
            float4& c = cache[j];
            c = make_float4(expf(c.x - m), expf(c.y - m), expf(c.z - m), expf(c.w - m));
            s += (c.x + c.y) + (c.z + c.w);
        }
    }
    for (int i = tail + threadIdx.x; i < C; i += blockDim.x) s += expf(xr[i] - m);
    const float inv = 1.f / block_sum(s, scratch);
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int v = j * blockDim.x + threadIdx.x;
        if (v < nvec) {
            const float4 c = cache[j];
            reinterpret_cast<float4*>(yr)[v] = make_float4(c.x * inv, c.y * inv, c.z * inv, c.w * inv);
        }
    }
    for (int i = tail + threadIdx.x; i < C; i += blockDim.x) yr[i] = expf(xr[i] - m) * inv;
}
