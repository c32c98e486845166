// Helpers for the 16-bit (fp16 / bf16) row kernels: conversions to and from fp32, and chunks of 8
// elements (16 bytes) of a row.
//
// A row of C halves starts wherever row * C puts it, so for odd C most rows are not 16-byte aligned.
// Chunk g of a row covers elements 8g - head .. 8g - head + 7, where head = (row address % 16) / 2: every
// chunk then starts on a 16-byte boundary, the chunks that lie wholly inside the row are one uint4 load
// (8 halves), and only the first and the last chunk (partly outside the row) take guarded scalar loads.
// `vec` is the launcher's flag that x and y share their alignment (mod 16 bytes); without it head = 0
// and every chunk is loaded element by element (correct, slower).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

template <typename T>
struct Half;

template <>
struct Half<__half> {
    using T2 = __half2;
    static __device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
    static __device__ __forceinline__ __half from_float(float v) { return __float2half_rn(v); }
    static __device__ __forceinline__ float2 to_float2(T2 v) { return __half22float2(v); }
    static __device__ __forceinline__ T2 from_float2(float a, float b) { return __floats2half2_rn(a, b); }
};

template <>
struct Half<__nv_bfloat16> {
    using T2 = __nv_bfloat162;
    static __device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
    static __device__ __forceinline__ __nv_bfloat16 from_float(float v) { return __float2bfloat16_rn(v); }
    static __device__ __forceinline__ float2 to_float2(T2 v) { return __bfloat1622float2(v); }
    static __device__ __forceinline__ T2 from_float2(float a, float b) { return __floats2bfloat162_rn(a, b); }
};

// Elements before the row's first 16-byte boundary (0 .. 7); 0 when the launcher found no common alignment.
template <typename T>
__device__ __forceinline__ int row_head(const T* row, int vec) {
    return vec ? (int)((reinterpret_cast<size_t>(row) % 16) / sizeof(T)) : 0;
}

// Chunks of 8 that cover a row of C elements starting `head` elements before a boundary.
__device__ __forceinline__ int row_chunks(int C, int head) { return (C + head + 7) / 8; }

// Chunk g of row r as 8 floats; elements outside the row read `fill`.
template <typename T>
__device__ __forceinline__ void load_chunk(const T* __restrict__ r, int g, int head, int C, int vec, float fill,
                                           float (&f)[8]) {
    const int e = 8 * g - head;
    if (vec && e >= 0 && e + 7 < C) {
        const uint4 u = *reinterpret_cast<const uint4*>(r + e);
        const typename Half<T>::T2* h = reinterpret_cast<const typename Half<T>::T2*>(&u);
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const float2 p = Half<T>::to_float2(h[k]);
            f[2 * k] = p.x, f[2 * k + 1] = p.y;
        }
        return;
    }
#pragma unroll
    for (int k = 0; k < 8; ++k) f[k] = (e + k >= 0 && e + k < C) ? Half<T>::to_float(r[e + k]) : fill;
}

// Chunk g of row r from 8 floats, each rounded to nearest; elements outside the row are not written.
template <typename T>
__device__ __forceinline__ void store_chunk(T* __restrict__ r, int g, int head, int C, int vec, const float (&f)[8]) {
    const int e = 8 * g - head;
    if (vec && e >= 0 && e + 7 < C) {
        uint4 u;
        typename Half<T>::T2* h = reinterpret_cast<typename Half<T>::T2*>(&u);
#pragma unroll
        for (int k = 0; k < 4; ++k) h[k] = Half<T>::from_float2(f[2 * k], f[2 * k + 1]);
        *reinterpret_cast<uint4*>(r + e) = u;
        return;
    }
#pragma unroll
    for (int k = 0; k < 8; ++k) {
        if (e + k >= 0 && e + k < C) r[e + k] = Half<T>::from_float(f[k]);
    }
}

// Elements 8g - head .. + 7 of an fp32 vector (weight, bias) of length C; outside read 0. `vec4`: the
// vector is 16-byte aligned, so two float4 loads are legal when head % 4 == 0.
__device__ __forceinline__ void load_chunk_f32(const float* __restrict__ v, int g, int head, int C, int vec4,
                                               float (&f)[8]) {
    const int e = 8 * g - head;
    if (vec4 && head % 4 == 0 && e >= 0 && e + 7 < C) {
        const float4 a = *reinterpret_cast<const float4*>(v + e), b = *reinterpret_cast<const float4*>(v + e + 4);
        f[0] = a.x, f[1] = a.y, f[2] = a.z, f[3] = a.w, f[4] = b.x, f[5] = b.y, f[6] = b.z, f[7] = b.w;
        return;
    }
#pragma unroll
    for (int k = 0; k < 8; ++k) f[k] = (e + k >= 0 && e + k < C) ? v[e + k] : 0.f;
}
