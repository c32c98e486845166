// Helpers shared by the kernel families: guarded 4-wide loads/stores and warp reductions.
// `vec` is a launch-uniform flag the Python launcher sets when rows are a multiple of 4 floats and the
// base pointers are 16-byte aligned; only then is a float4 access legal. Out-of-range elements read 0.
#pragma once

#ifndef INFINITY  // NVRTC compiles without <math.h>
#define INFINITY __int_as_float(0x7f800000)
#endif

__device__ __forceinline__ float4 load4(const float* m, int row, int col, int rows, int cols, int vec) {
    if (vec && row < rows && col + 3 < cols) {
        return *reinterpret_cast<const float4*>(&m[(size_t)row * cols + col]);
    }
    float4 t = make_float4(0.f, 0.f, 0.f, 0.f);
    if (row < rows) {
        const float* p = &m[(size_t)row * cols];
        if (col + 0 < cols) t.x = p[col + 0];
        if (col + 1 < cols) t.y = p[col + 1];
        if (col + 2 < cols) t.z = p[col + 2];
        if (col + 3 < cols) t.w = p[col + 3];
    }
    return t;
}

__device__ __forceinline__ void store4(float* m, int row, int col, int rows, int cols, int vec, float4 t) {
    if (row >= rows) return;
    if (vec && col + 3 < cols) {
        *reinterpret_cast<float4*>(&m[(size_t)row * cols + col]) = t;
        return;
    }
    float* p = &m[(size_t)row * cols];
    if (col + 0 < cols) p[col + 0] = t.x;
    if (col + 1 < cols) p[col + 1] = t.y;
    if (col + 2 < cols) p[col + 2] = t.z;
    if (col + 3 < cols) p[col + 3] = t.w;
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
__device__ __forceinline__ float block_sum(float v, float* scratch /* >= 32 floats of shared memory */) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.f;
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : -INFINITY;
    return warp_max(v);
}

// Online-softmax state (running max m, running sum s of exp(x - m)) and its merge, safe for m = -inf.
struct MaxSum {
    float m, s;
};

__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
    const float m = fmaxf(a.m, b.m);
    if (m == -INFINITY) return {m, 0.f};
    return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

__device__ __forceinline__ MaxSum warp_merge(MaxSum v) {
    for (int off = 16; off > 0; off >>= 1) {
        MaxSum o{__shfl_xor_sync(0xffffffffu, v.m, off), __shfl_xor_sync(0xffffffffu, v.s, off)};
        v = merge(v, o);
    }
    return v;
}

// Elements 4g .. 4g+3 of a row of length C: one float4 when `vec` (C % 4 == 0, 16-byte aligned rows),
// else guarded scalars. Elements past C read 0.
__device__ __forceinline__ float4 row_load4(const float* r, int g, int C, int vec) {
    const int e = 4 * g;
    if (vec && e + 3 < C) return reinterpret_cast<const float4*>(r)[g];
    return make_float4(e < C ? r[e] : 0.f, e + 1 < C ? r[e + 1] : 0.f, e + 2 < C ? r[e + 2] : 0.f,
                       e + 3 < C ? r[e + 3] : 0.f);
}

__device__ __forceinline__ void row_store4(float* r, int g, int C, int vec, float4 t) {
    const int e = 4 * g;
    if (vec && e + 3 < C) {
        reinterpret_cast<float4*>(r)[g] = t;
        return;
    }
    if (e < C) r[e] = t.x;
    if (e + 1 < C) r[e + 1] = t.y;
    if (e + 2 < C) r[e + 2] = t.z;
    if (e + 3 < C) r[e + 3] = t.w;
}
