// Softmax 06 -- one kernel, one block shape per row-length regime (fp32, fp16, bf16 rows).
// 04 and 05 give every row a whole block: at rows of 1000 a block of 256 threads holds one float4 each,
// and the block-wide reductions (two barriers each) cost more than the row's bytes. Here a row belongs to
// a group of ROW_THREADS threads (row_regime.cuh): a few lanes of a warp or one warp for short rows (the
// reductions are shuffles only, several rows per block), several warps for long rows. Each thread keeps
// CACHE 16-byte chunks in registers as floats: 1 read + 1 write per element, one exp per element.
// Chunks are aligned to 16 bytes per row, so odd lengths (4097) keep vector loads except at the two ends.
// RAW_CACHE=1 keeps the chunks as raw 16-byte values (4 registers per 8 halves instead of 8 floats) and
// converts them again in each pass (exp is computed twice): more rows in flight per SM for long 16-bit rows.
// ROW_ITERS > 1: a group takes that many rows and loads the next while it reduces this one (more bytes in
// flight per thread, fewer blocks). The launcher picks (ROW_THREADS, ROW_BLOCK, CACHE, ...) per shape from a
// table measured on the GPU.
#include "row_regime.cuh"

// Softmax of one row from the chunks load_row gave (every thread of the block calls it: barriers inside).
template <typename T>
__device__ __forceinline__ void softmax_row(RowChunks<T>& r, T* __restrict__ yr, bool valid, int lane, int C,
                                            int vec, float (&scratch)[2][WARPS]) {
    constexpr int N = 16 / sizeof(T);
    const int head = row_head(yr, vec), chunks = (C + head + N - 1) / N;  // y shares x's alignment when vec
#if RAW_CACHE
    float m = -INFINITY;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
            float f[N];
            unpack_fill<T>(r.c[j], g, head, C, -INFINITY, f);
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
            unpack_fill<T>(r.c[j], g, head, C, -INFINITY, f);
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
            unpack_fill<T>(r.c[j], g, head, C, -INFINITY, f);
#pragma unroll
            for (int k = 0; k < N; ++k) f[k] = expf(f[k] - m) * inv;
            store_chunk(yr, g, head, C, vec, f);
        }
    }
#else
    float (&f)[CACHE][N] = r.c;
    float m = -INFINITY;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
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

// A group takes ROW_ITERS rows, GROUPS apart; the next row's loads are issued before this row's reductions.
template <typename T>
__device__ __forceinline__ void softmax_rows(const T* __restrict__ x, T* __restrict__ y, int rows, int C, int vec) {
    __shared__ float scratch[2][WARPS];
    const int lane = threadIdx.x % ROW_THREADS;
    const int row0 = blockIdx.x * (GROUPS * ROW_ITERS) + threadIdx.x / ROW_THREADS;
    RowChunks<T> cur;
    load_row(cur, x + (size_t)(row0 < rows ? row0 : 0) * C, row0 < rows, lane, C, vec, -INFINITY);
#pragma unroll
    for (int it = 0; it < ROW_ITERS; ++it) {
        const int row = row0 + it * GROUPS, next = row + GROUPS;
        RowChunks<T> nxt;
        if (it + 1 < ROW_ITERS) load_row(nxt, x + (size_t)(next < rows ? next : 0) * C, next < rows, lane, C, vec, -INFINITY);
        // no early return for rows past the end: every thread takes part in the shuffles and barriers
        softmax_row(cur, y + (size_t)(row < rows ? row : 0) * C, row < rows, lane, C, vec, scratch);
        if (it + 1 < ROW_ITERS) cur = nxt;
    }
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
