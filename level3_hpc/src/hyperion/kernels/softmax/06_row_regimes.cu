// Softmax 06 -- one kernel, one block shape per row-length regime (fp32, fp16, bf16 rows).
// 04 and 05 give every row a whole block: at rows of 1000 a block of 256 threads holds one float4 each,
// and the block-wide reductions (two barriers each) cost more than the row's bytes. Here a row belongs to
// a group of ROW_THREADS threads (row_regime.cuh): a few lanes of a warp or one warp for short rows (the
// reductions are shuffles only, several rows per block), several warps for long rows. Each thread keeps
// CACHE 16-byte chunks in registers as floats: 1 read + 1 write per element, one exp per element.
// Chunks are aligned to 16 bytes per row, so odd lengths (4097) keep vector loads except at the two ends.
// RAW_CACHE=1 keeps the chunks as raw 16-byte values (4 registers per 8 halves instead of 8 floats) and
// converts them again in each pass (exp is computed twice): more rows in flight per SM for long 16-bit rows.
// The launcher picks (ROW_THREADS, ROW_BLOCK, CACHE, ...) per row length from a table measured on the H200.
#include "row_regime.cuh"

template <typename T>
__device__ __forceinline__ void softmax_rows(const T* __restrict__ x, T* __restrict__ y, int rows, int C, int vec) {
    constexpr int N = 16 / sizeof(T);
    __shared__ float scratch[2][WARPS];
    const int lane = threadIdx.x % ROW_THREADS;
    const int row = blockIdx.x * GROUPS + threadIdx.x / ROW_THREADS;
    const bool valid = row < rows;  // no early return: every thread takes part in the shuffles and barriers
    const T* xr = x + (size_t)(valid ? row : 0) * C;
    T* yr = y + (size_t)(valid ? row : 0) * C;
    const int head = row_head(xr, vec), chunks = (C + head + N - 1) / N;
#if RAW_CACHE
    uint4 raw[CACHE];
    float m = -INFINITY;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
            float f[N];
            raw[j] = load_raw(xr, g, head, C, vec);
            unpack_fill<T>(raw[j], g, head, C, -INFINITY, f);
#pragma unroll
            for (int k = 0; k < N; ++k) m = fmaxf(m, f[k]);
        }
    }
    m = group_reduce<MaxOp>(m, scratch[0]);
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
            float f[N];
            unpack_fill<T>(raw[j], g, head, C, -INFINITY, f);
#pragma unroll
            for (int k = 0; k < N; ++k) s += expf(f[k] - m);
        }
    }
    const float inv = 1.f / group_reduce<SumOp>(s, scratch[1]);
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
            float f[N];
            unpack_fill<T>(raw[j], g, head, C, -INFINITY, f);
#pragma unroll
            for (int k = 0; k < N; ++k) f[k] = expf(f[k] - m) * inv;
            store_chunk(yr, g, head, C, vec, f);
        }
    }
#else
    float f[CACHE][N];
    float m = -INFINITY;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
            load_chunk(xr, g, head, C, vec, -INFINITY, f[j]);
#pragma unroll
            for (int k = 0; k < N; ++k) m = fmaxf(m, f[j][k]);
        }
    }
    m = group_reduce<MaxOp>(m, scratch[0]);
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
#pragma unroll
            for (int k = 0; k < N; ++k) f[j][k] = expf(f[j][k] - m), s += f[j][k];
        }
    }
    const float inv = 1.f / group_reduce<SumOp>(s, scratch[1]);
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
#pragma unroll
            for (int k = 0; k < N; ++k) f[j][k] *= inv;
            store_chunk(yr, g, head, C, vec, f[j]);
        }
    }
#endif
}

#if ROW_BUILD(1)
extern "C" __global__ void __launch_bounds__(ROW_BLOCK, MIN_BLOCKS)
    softmax_rows_f32(const float* __restrict__ x, float* __restrict__ y, int rows, int C, int vec) {
    softmax_rows(x, y, rows, C, vec);
}
#endif
#if ROW_BUILD(2)
extern "C" __global__ void __launch_bounds__(ROW_BLOCK, MIN_BLOCKS)
    softmax_rows_f16(const __half* __restrict__ x, __half* __restrict__ y, int rows, int C, int vec) {
    softmax_rows(x, y, rows, C, vec);
}
#endif
#if ROW_BUILD(3)
extern "C" __global__ void __launch_bounds__(ROW_BLOCK, MIN_BLOCKS)
    softmax_rows_bf16(const __nv_bfloat16* __restrict__ x, __nv_bfloat16* __restrict__ y, int rows, int C, int vec) {
    softmax_rows(x, y, rows, C, vec);
}
#endif
