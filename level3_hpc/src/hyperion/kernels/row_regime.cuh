// Plumbing of the row kernels by regime (softmax 06, LayerNorm 05 forward and 14 backward).
//
// A row of C elements is handled by a group of ROW_THREADS threads (a power of two, 1 .. 1024): a
// group smaller than a warp for short rows, a warp, or several warps for long rows; a block of ROW_BLOCK
// threads holds ROW_BLOCK / ROW_THREADS groups. Each thread keeps CACHE chunks of its row in registers.
// Chunks are 16 bytes (4 floats or 8 halves): chunk g of a row covers elements N*g - head .. N*g - head
// + N - 1 where head = (row address % 16) / sizeof(T), so every chunk inside the row is one aligned
// 16-byte access even when C is odd (4097); only the first and last chunk take guarded scalar accesses.
// `vec` is the launcher's flag that every row-shaped array of the call shares its alignment mod 16
// (without it head = 0 and the accesses are scalar: correct, slower).
// Group reductions: xor shuffles inside a warp, then (groups of several warps) one shared-memory step.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#ifndef INFINITY  // NVRTC compiles without <math.h>
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef ROW_THREADS
#define ROW_THREADS 32
#endif
#ifndef ROW_BLOCK
#define ROW_BLOCK 256
#endif
#ifndef CACHE
#define CACHE 4
#endif
#ifndef ROW_DTYPE  // which kernels a module holds: 0 all three, 1 fp32, 2 fp16, 3 bf16 (the launcher builds one)
#define ROW_DTYPE 0
#endif
#define ROW_BUILD(i) (ROW_DTYPE == 0 || ROW_DTYPE == (i))
#ifndef MIN_BLOCKS  // blocks per SM the registers must leave room for (__launch_bounds__)
#define MIN_BLOCKS 1
#endif
#ifndef STREAM_IO  // 1: a row's aligned chunks loaded and stored with the streaming hint (evict first: the
#define STREAM_IO 0  // row is read once and written once, so it need not stay in L1 or L2 for others)
#endif
#ifndef ROW_ITERS  // rows a group takes, one after another (softmax 06): the next row is loaded during this one
#define ROW_ITERS 1
#endif
static_assert(ROW_THREADS >= 1 && ROW_THREADS <= 1024 && (ROW_THREADS & (ROW_THREADS - 1)) == 0, "power of two");
static_assert(ROW_BLOCK % 32 == 0 && ROW_BLOCK % ROW_THREADS == 0 && ROW_BLOCK <= 1024, "whole groups per block");
constexpr int GROUPS = ROW_BLOCK / ROW_THREADS;  // rows a block works on at once
constexpr int WARPS = ROW_BLOCK / 32;

template <typename T>
struct Elem;
template <>
struct Elem<float> {
    static __device__ __forceinline__ float to_float(float v) { return v; }
    static __device__ __forceinline__ float from_float(float v) { return v; }
};
template <>
struct Elem<__half> {
    static __device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
    static __device__ __forceinline__ __half from_float(float v) { return __float2half_rn(v); }
};
template <>
struct Elem<__nv_bfloat16> {
    static __device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
    static __device__ __forceinline__ __nv_bfloat16 from_float(float v) { return __float2bfloat16_rn(v); }
};

template <typename T>
__device__ __forceinline__ int row_head(const T* row, int vec) {
    return vec ? (int)((reinterpret_cast<size_t>(row) % 16) / sizeof(T)) : 0;
}

// One chunk's raw 16 bytes; elements outside the row read as zero.
template <typename T>
__device__ __forceinline__ uint4 load_raw(const T* __restrict__ r, int g, int head, int C, int vec) {
    constexpr int N = 16 / sizeof(T);
    const int e = N * g - head;
    if (vec && e >= 0 && e + N - 1 < C) {
        const uint4* chunk = reinterpret_cast<const uint4*>(r + e);
        return STREAM_IO ? __ldcs(chunk) : *chunk;
    }
    union {
        uint4 u;
        T h[N];
    } t;
#pragma unroll
    for (int k = 0; k < N; ++k) t.h[k] = (e + k >= 0 && e + k < C) ? r[e + k] : Elem<T>::from_float(0.f);
    return t.u;
}

template <typename T>
__device__ __forceinline__ void unpack(uint4 u, float (&f)[16 / sizeof(T)]) {
    union {
        uint4 u;
        T h[16 / sizeof(T)];
    } t;
    t.u = u;
#pragma unroll
    for (int k = 0; k < 16 / (int)sizeof(T); ++k) f[k] = Elem<T>::to_float(t.h[k]);
}

#ifndef RAW_CACHE  // 1: keep a row's chunks as raw 16-byte values and convert them again in each pass
#define RAW_CACHE 0
#endif

// Raw chunk g (as load_raw gave it) as floats; elements outside the row read `fill`.
template <typename T>
__device__ __forceinline__ void unpack_fill(uint4 u, int g, int head, int C, float fill, float (&f)[16 / sizeof(T)]) {
    constexpr int N = 16 / sizeof(T);
    unpack<T>(u, f);
    const int e = N * g - head;
    if (e < 0 || e + N - 1 >= C) {
#pragma unroll
        for (int k = 0; k < N; ++k) f[k] = (e + k >= 0 && e + k < C) ? f[k] : fill;
    }
}

// Chunk g as floats; elements outside the row read `fill`.
template <typename T>
__device__ __forceinline__ void load_chunk(const T* __restrict__ r, int g, int head, int C, int vec, float fill,
                                           float (&f)[16 / sizeof(T)]) {
    constexpr int N = 16 / sizeof(T);
    unpack<T>(load_raw(r, g, head, C, vec), f);
    const int e = N * g - head;
    if (e < 0 || e + N - 1 >= C) {
#pragma unroll
        for (int k = 0; k < N; ++k) f[k] = (e + k >= 0 && e + k < C) ? f[k] : fill;
    }
}

// Chunk g from floats, each rounded once to T; elements outside the row are not written.
template <typename T>
__device__ __forceinline__ void store_chunk(T* __restrict__ r, int g, int head, int C, int vec,
                                            const float (&f)[16 / sizeof(T)]) {
    constexpr int N = 16 / sizeof(T);
    const int e = N * g - head;
    union {
        uint4 u;
        T h[N];
    } t;
#pragma unroll
    for (int k = 0; k < N; ++k) t.h[k] = Elem<T>::from_float(f[k]);
    if (vec && e >= 0 && e + N - 1 < C) {
        uint4* chunk = reinterpret_cast<uint4*>(r + e);
        if (STREAM_IO)
            __stcs(chunk, t.u);
        else
            *chunk = t.u;
        return;
    }
#pragma unroll
    for (int k = 0; k < N; ++k) {
        if (e + k >= 0 && e + k < C) r[e + k] = t.h[k];
    }
}

// Elements e .. e + N - 1 of an fp32 vector of length C (weight, bias); outside read 0. `vec4`: the vector
// is 16-byte aligned, so float4 loads are legal where e % 4 == 0. W_SHIFT=1 (rows.py sets it where 16-bit rows
// can start off a 16-byte boundary: 16-bit rows of 4097, every other row) also serves e % 4 != 0 by float4s:
// the N elements are cut from the N / 4 + 1 aligned float4s around them (a shift of e % 4, chosen by
// selects) instead of N scalar loads, which touch 8 cache lines per warp each and kept the L1 busy (16384 x
// 4097 fp16 LayerNorm backward on an H100: 0.349 -> 0.326 ms in the same configuration, 0.263 with its
// registers, now fewer, capped for three blocks an SM). It costs registers, hence not by default.
// The last float4 starts at an element of the vector: it reads at most 3 floats past its end, inside the
// 16-byte granule of its last element.
#ifndef W_SHIFT
#define W_SHIFT 0
#endif
template <int N>
__device__ __forceinline__ void load_f32(const float* __restrict__ v, int e, int C, int vec4, float (&f)[N]) {
    const int s = e & 3;  // the shift from the aligned float4 at or below e
    if (vec4 && s == 0 && e >= 0 && e + N - 1 < C) {
#pragma unroll
        for (int q = 0; q < N / 4; ++q) {
            const float4 a = *reinterpret_cast<const float4*>(v + e + 4 * q);
            f[4 * q] = a.x, f[4 * q + 1] = a.y, f[4 * q + 2] = a.z, f[4 * q + 3] = a.w;
        }
        return;
    }
    if (W_SHIFT && vec4 && e >= 0 && e + N - 1 < C) {
        float buf[N + 4];
#pragma unroll
        for (int q = 0; q < N / 4 + 1; ++q) {
            const float4 t = *reinterpret_cast<const float4*>(v + e - s + 4 * q);
            buf[4 * q] = t.x, buf[4 * q + 1] = t.y, buf[4 * q + 2] = t.z, buf[4 * q + 3] = t.w;
        }
#pragma unroll
        for (int k = 0; k < N; ++k) f[k] = s == 1 ? buf[k + 1] : s == 2 ? buf[k + 2] : buf[k + 3];
        return;
    }
#pragma unroll
    for (int k = 0; k < N; ++k) f[k] = (e + k >= 0 && e + k < C) ? v[e + k] : 0.f;
}

// One row's chunks as a thread of its group holds them: raw 16-byte values (RAW_CACHE) or floats (elements
// outside the row: `fill`; raw chunks hold zeros there, and their readers fill).
template <typename T>
struct RowChunks {
#if RAW_CACHE
    uint4 c[CACHE];
#else
    float c[CACHE][16 / sizeof(T)];
#endif
};

template <typename T>
__device__ __forceinline__ void load_row(RowChunks<T>& r, const T* __restrict__ xr, bool valid, int lane, int C,
                                         int vec, float fill) {
    constexpr int N = 16 / sizeof(T);
    const int head = row_head(xr, vec), chunks = (C + head + N - 1) / N;
#if RAW_CACHE
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) r.c[j] = load_raw(xr, g, head, C, vec);
    }
#else
    // Every load issued before any value is looked at: a fill of the row's ends right after its load would make
    // the thread wait for that load before issuing the next, one chunk in flight at a time.
    uint4 raw[CACHE];
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) raw[j] = load_raw(xr, g, head, C, vec);
    }
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) unpack_fill<T>(raw[j], g, head, C, fill, r.c[j]);
    }
#endif
}

// Hide a value from the optimiser: after `launder`, the compiler must re-derive anything computed from it.
// Keeping a row's raw 16-byte chunks across a barrier and unpacking them again afterwards then costs 4
// registers per chunk instead of the 8 (fp32) or 16 (fp16 as floats) that common-subexpression reuse would hold.
__device__ __forceinline__ void launder(uint4& u) { asm volatile("" : "+r"(u.x), "+r"(u.y), "+r"(u.z), "+r"(u.w)); }
template <typename P>
__device__ __forceinline__ P* launder_ptr(P* p) {
    asm volatile("" : "+l"(p));
    return p;
}

// Reductions over one group of ROW_THREADS threads; every thread of the group gets the same result.
// `scratch` (WARPS entries of shared memory) must not be reused before the next __syncthreads: callers
// alternate between two scratch arrays (one barrier per reduction).
struct SumOp {
    static __device__ __forceinline__ float apply(float a, float b) { return a + b; }
};
struct MaxOp {
    static __device__ __forceinline__ float apply(float a, float b) { return fmaxf(a, b); }
};

template <typename Op>
__device__ __forceinline__ float group_reduce(float v, float* scratch) {
#pragma unroll
    for (int off = (ROW_THREADS < 32 ? ROW_THREADS : 32) / 2; off > 0; off >>= 1)
        v = Op::apply(v, __shfl_xor_sync(0xffffffffu, v, off));
    if constexpr (ROW_THREADS > 32) {
        if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
        __syncthreads();
        const float* s = scratch + (threadIdx.x / ROW_THREADS) * (ROW_THREADS / 32);
        v = s[0];
#pragma unroll
        for (int i = 1; i < ROW_THREADS / 32; ++i) v = Op::apply(v, s[i]);
    }
    return v;
}

__device__ __forceinline__ float2 group_sum2(float2 v, float2* scratch) {
#pragma unroll
    for (int off = (ROW_THREADS < 32 ? ROW_THREADS : 32) / 2; off > 0; off >>= 1) {
        v.x += __shfl_xor_sync(0xffffffffu, v.x, off);
        v.y += __shfl_xor_sync(0xffffffffu, v.y, off);
    }
    if constexpr (ROW_THREADS > 32) {
        if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
        __syncthreads();
        const float2* s = scratch + (threadIdx.x / ROW_THREADS) * (ROW_THREADS / 32);
        v = s[0];
#pragma unroll
        for (int i = 1; i < ROW_THREADS / 32; ++i) v.x += s[i].x, v.y += s[i].y;
    }
    return v;
}
