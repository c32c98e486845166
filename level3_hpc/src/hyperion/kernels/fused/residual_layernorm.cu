// Fused residual add + LayerNorm (a transformer block's "x = x + f(x); y = ln(x)"), against the chain
// add -> layernorm 03. Outputs h = x + r (the residual stream, needed later) and y = LN(h).
// Unfused: add reads 2 and writes 1, LN reads 1 and writes 1: 5 N C floats. Fused: 4 N C.
#include "common.cuh"

#ifndef CACHE_VEC
#define CACHE_VEC 4
#endif

extern "C" __global__ void residual_add(const float* x, const float* r, float* h, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        h[i] = x[i] + r[i];
}

extern "C" __global__ void residual_layernorm(const float* __restrict__ x, const float* __restrict__ r,
                                              const float* __restrict__ w, const float* __restrict__ b,
                                              float* __restrict__ h, float* __restrict__ y, float* mean, float* rstd,
                                              int rows, int C, float eps, int vec) {
    __shared__ float scratch[32];
    const size_t o = (size_t)blockIdx.x * C;
    float4 cache[CACHE_VEC];
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int g = j * blockDim.x + threadIdx.x;
        const float4 a = row_load4(x + o, g, C, vec), c = row_load4(r + o, g, C, vec);
        cache[j] = make_float4(a.x + c.x, a.y + c.y, a.z + c.z, a.w + c.w);
        row_store4(h + o, g, C, vec, cache[j]);
        s += (cache[j].x + cache[j].y) + (cache[j].z + cache[j].w);
    }
    const float mu = block_sum(s, scratch) / C;
    float v = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int e = 4 * (j * blockDim.x + threadIdx.x);
        const float4 c = cache[j];
        v += (e < C ? (c.x - mu) * (c.x - mu) : 0.f) + (e + 1 < C ? (c.y - mu) * (c.y - mu) : 0.f) +
             (e + 2 < C ? (c.z - mu) * (c.z - mu) : 0.f) + (e + 3 < C ? (c.w - mu) * (c.w - mu) : 0.f);
    }
    const float rs = rsqrtf(block_sum(v, scratch) / C + eps);
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int g = j * blockDim.x + threadIdx.x;
        const float4 c = cache[j], ww = row_load4(w, g, C, vec), bb = row_load4(b, g, C, vec);
        row_store4(y + o, g, C, vec,
                   make_float4((c.x - mu) * rs * ww.x + bb.x, (c.y - mu) * rs * ww.y + bb.y,
                               (c.z - mu) * rs * ww.z + bb.z, (c.w - mu) * rs * ww.w + bb.w));
    }
    if (threadIdx.x == 0) mean[blockIdx.x] = mu, rstd[blockIdx.x] = rs;
}
