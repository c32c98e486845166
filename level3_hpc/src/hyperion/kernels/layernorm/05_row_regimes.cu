// LayerNorm forward 05 -- 03 and 04 with one block shape per row-length regime (fp32, fp16, bf16 x and y;
// fp32 weight, bias and statistics). A row belongs to a group of ROW_THREADS threads (row_regime.cuh):
// part of a warp or one warp for short rows (shuffle-only reductions, several rows per block), several
// warps for long ones. The row is read once into registers as floats (16-byte chunks aligned per row, so
// odd lengths keep vector loads), the mean and then the centred variance are reduced over the group
// (two-pass in registers: no E[x^2] - E[x]^2 cancellation), and y is written once. RAW_CACHE=1 keeps the
// chunks as raw 16-byte values and converts them again in each pass (half the registers for 16-bit rows).
// ROW_ITERS > 1: a group takes that many rows and loads the next while it reduces this one.
#include "row_regime.cuh"

// LayerNorm of one row from the chunks load_row gave (every thread of the block calls it: barriers inside).
template <typename T>
__device__ __forceinline__ void layernorm_row(RowChunks<T>& r, const float* __restrict__ w, const float* __restrict__ b,
                                              T* __restrict__ yr, float* mean, float* rstd, int row, bool valid,
                                              int lane, int C, float eps, int vec, int wvec,
                                              float (&scratch)[2][WARPS]) {
    constexpr int N = 16 / sizeof(T);
    const int head = row_head(yr, vec), chunks = (C + head + N - 1) / N;  // y shares x's alignment when vec
#if RAW_CACHE
#define ROW_VALUES(j, f) float f[N]; unpack<T>(r.c[j], f)  // zeros outside the row, as load_raw gives them
#else
#define ROW_VALUES(j, f) float (&f)[N] = r.c[j]
#endif
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
            ROW_VALUES(j, f);
#pragma unroll
            for (int k = 0; k < N; ++k) s += f[k];
        }
    }
    const float mu = group_reduce<SumOp>(s, scratch[0]) / C;
    float v = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane, e = N * g - head;
        if (valid && g < chunks) {
            ROW_VALUES(j, f);
#pragma unroll
            for (int k = 0; k < N; ++k) {
                const float d = f[k] - mu;
                v += (e + k >= 0 && e + k < C) ? d * d : 0.f;
            }
        }
    }
    const float rs = rsqrtf(group_reduce<SumOp>(v, scratch[1]) / C + eps);
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane, e = N * g - head;
        if (valid && g < chunks) {
            float ww[N], bb[N];
            ROW_VALUES(j, f);
            load_f32<N>(w, e, C, wvec, ww);
            load_f32<N>(b, e, C, wvec, bb);
#pragma unroll
            for (int k = 0; k < N; ++k) f[k] = (f[k] - mu) * rs * ww[k] + bb[k];
            store_chunk(yr, g, head, C, vec, f);
        }
    }
    if (valid && lane == 0) mean[row] = mu, rstd[row] = rs;
#undef ROW_VALUES
}

// A group takes ROW_ITERS rows, GROUPS apart; the next row's loads are issued before this row's reductions.
template <typename T>
__device__ __forceinline__ void layernorm_rows(const T* __restrict__ x, const float* __restrict__ w,
                                               const float* __restrict__ b, T* __restrict__ y, float* mean,
                                               float* rstd, int rows, int C, float eps, int vec, int wvec) {
    __shared__ float scratch[2][WARPS];
    const int lane = threadIdx.x % ROW_THREADS;
    const int row0 = blockIdx.x * (GROUPS * ROW_ITERS) + threadIdx.x / ROW_THREADS;
    RowChunks<T> cur;
    load_row(cur, x + (size_t)(row0 < rows ? row0 : 0) * C, row0 < rows, lane, C, vec, 0.f);
#pragma unroll
    for (int it = 0; it < ROW_ITERS; ++it) {
        const int row = row0 + it * GROUPS, next = row + GROUPS;
        RowChunks<T> nxt;
        if (it + 1 < ROW_ITERS) load_row(nxt, x + (size_t)(next < rows ? next : 0) * C, next < rows, lane, C, vec, 0.f);
        // no early return for rows past the end: every thread takes part in the shuffles and barriers
        layernorm_row(cur, w, b, y + (size_t)(row < rows ? row : 0) * C, mean, rstd, row, row < rows, lane, C, eps,
                      vec, wvec, scratch);
        if (it + 1 < ROW_ITERS) cur = nxt;
    }
}

#define LAYERNORM_ROWS(NAME, T)                                                                                    \
    extern "C" __global__ void __launch_bounds__(ROW_BLOCK, MIN_BLOCKS)                                                        \
        NAME(const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ b, T* __restrict__ y, \
             float* mean, float* rstd, int rows, int C, float eps, int vec, int wvec) {                            \
        layernorm_rows(x, w, b, y, mean, rstd, rows, C, eps, vec, wvec);                                           \
    }
#if ROW_BUILD(1)
LAYERNORM_ROWS(layernorm_rows_f32, float)
#endif
#if ROW_BUILD(2)
LAYERNORM_ROWS(layernorm_rows_f16, __half)
#endif
#if ROW_BUILD(3)
LAYERNORM_ROWS(layernorm_rows_bf16, __nv_bfloat16)
#endif
