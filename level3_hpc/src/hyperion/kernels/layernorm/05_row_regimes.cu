// LayerNorm forward 05 -- 03 and 04 with one block shape per row-length regime (fp32, fp16, bf16 x and y;
// fp32 weight, bias and statistics). A row belongs to a group of ROW_THREADS threads (row_regime.cuh):
// part of a warp or one warp for short rows (shuffle-only reductions, several rows per block), several
// warps for long ones. The row is read once into registers as floats (16-byte chunks aligned per row, so
// odd lengths keep vector loads), the mean and then the centred variance are reduced over the group
// (two-pass in registers: no E[x^2] - E[x]^2 cancellation), and y is written once.
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
    float f[CACHE][N];
    float s = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane;
        if (valid && g < chunks) {
            load_chunk(xr, g, head, C, vec, 0.f, f[j]);
#pragma unroll
            for (int k = 0; k < N; ++k) s += f[j][k];
        }
    }
    const float mu = group_reduce<SumOp>(s, scratch[0]) / C;
    float v = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane, e = N * g - head;
        if (valid && g < chunks) {
#pragma unroll
            for (int k = 0; k < N; ++k) {
                const float d = f[j][k] - mu;
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
            load_f32<N>(w, e, C, wvec, ww);
            load_f32<N>(b, e, C, wvec, bb);
#pragma unroll
            for (int k = 0; k < N; ++k) f[j][k] = (f[j][k] - mu) * rs * ww[k] + bb[k];
            store_chunk(yr, g, head, C, vec, f[j]);
        }
    }
    if (valid && lane == 0) mean[row] = mu, rstd[row] = rs;
}

#define LAYERNORM_ROWS(NAME, T)                                                                                    \
    extern "C" __global__ void __launch_bounds__(ROW_BLOCK, MIN_BLOCKS)                                                        \
        NAME(const T* __restrict__ x, const float* __restrict__ w, const float* __restrict__ b, T* __restrict__ y, \
             float* mean, float* rstd, int rows, int C, float eps, int vec, int wvec) {                            \
        layernorm_rows(x, w, b, y, mean, rstd, rows, C, eps, vec, wvec);                                           \
    }
LAYERNORM_ROWS(layernorm_rows_f32, float)
LAYERNORM_ROWS(layernorm_rows_f16, __half)
LAYERNORM_ROWS(layernorm_rows_bf16, __nv_bfloat16)
