// LayerNorm forward 05 -- 03 and 04 with one block shape per row-length regime (fp32, fp16, bf16 x and y;
// fp32 weight, bias and statistics). A row belongs to a group of ROW_THREADS threads (row_regime.cuh):
// part of a warp or one warp for short rows (shuffle-only reductions, several rows per block), several
// warps for long ones. The row is read once into registers as floats (16-byte chunks aligned per row, so
// odd lengths keep vector loads), the mean and then the centred variance are reduced over the group
// (two-pass in registers: no E[x^2] - E[x]^2 cancellation), and y is written once. RAW_CACHE=1 keeps the
// chunks as raw 16-byte values and converts them again in each pass (half the registers for 16-bit rows).
#include "row_regime.cuh"

template <typename T>
__device__ __forceinline__ void layernorm_rows(const T* __restrict__ x, const float* __restrict__ w,
                                               const float* __restrict__ b, T* __restrict__ y, float* mean,
                                               float* rstd, int rows, int C, float eps, int vec, int wvec) {
    constexpr int N = 16 / sizeof(T);
    __shared__ float scratch[2][WARPS];
    const int lane = threadIdx.x % ROW_THREADS;
    const int row = blockIdx.x * GROUPS + threadIdx.x / ROW_THREADS;
    const bool valid = row < rows;
    const T* xr = x + (size_t)(valid ? row : 0) * C;
    T* yr = y + (size_t)(valid ? row : 0) * C;
    const int head = row_head(xr, vec), chunks = (C + head + N - 1) / N;
#if RAW_CACHE
    uint4 raw[CACHE];
#define ROW_VALUES(j, f) float f[N]; unpack<T>(raw[j], f)  // zeros outside the row, as load_raw gives them
#else
    float cache[CACHE][N];
#define ROW_VALUES(j, f) float (&f)[N] = cache[j]
#endif
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
#if RAW_CACHE
            raw[j] = load_raw(xr, g, head, C, vec);
#else
            load_chunk(xr, g, head, C, vec, 0.f, cache[j]);
#endif
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
