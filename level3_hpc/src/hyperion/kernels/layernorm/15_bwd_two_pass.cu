// LayerNorm backward 15 -- two passes, as PyTorch does it: 14 built with SUMS=0 writes dx alone (each row read
// once, dx written once, no dw/db work in the row loop), then this kernel sums dw = sum_r dy * xhat and db =
// sum_r dy down the columns, reading x and dy a second time. Five arrays of traffic instead of 14's three, but
// neither pass carries the other's state: 14's fused sums need registers (or shared memory) per column of a
// thread's chunks for the whole row loop, which for 16-bit rows of 4097 leaves too few warps to keep the memory
// busy (0.92x PyTorch there on an H100, GPU time alone).
// Measured (H100, 2026-12-06, results/runtime-h100-2026-12-06-c): correct, but SLOWER than 14's table entry at
// every shape tried, 0.66-0.79x its speed (16384x4097 fp16: 0.441 ms against 0.348; PyTorch 0.311). The
// sweep keeps it as a candidate; the column pass's one 2-byte load per thread per row is the first suspect.
// Block (32, COL_SLICES): threadIdx.x owns one column (a warp reads 32 consecutive elements of a row),
// threadIdx.y every COL_SLICES-th row of blockIdx.y's split of the rows, four rows in flight per thread. The
// slices meet in shared memory and are added in a fixed order; the split's sums go to part[split] (dw) and
// part[splits + split] (db), which 14's layernorm_bwd_rows_reduce adds into grads ([dw | db]), zeroed here first
// by block (0, 0) (the reduction runs after this kernel: stream order).
#include "row_regime.cuh"  // Elem<T>, ROW_BUILD

#define COL_SLICES 8

template <typename T>
__device__ __forceinline__ void layernorm_bwd_columns(const T* __restrict__ dy, const T* __restrict__ x,
                                                      const float* __restrict__ mean, const float* __restrict__ rstd,
                                                      float* __restrict__ part, float* __restrict__ grads, int rows,
                                                      int C) {
    __shared__ float sw[COL_SLICES][33], sb[COL_SLICES][33];  // 33: no bank conflicts in the transposed read
    if (blockIdx.x == 0 && blockIdx.y == 0)
        for (int i = threadIdx.y * 32 + threadIdx.x; i < 2 * C; i += 32 * COL_SLICES) grads[i] = 0.f;
    const int c = blockIdx.x * 32 + threadIdx.x, splits = gridDim.y;
    const int per = (rows + splits - 1) / splits, r0 = blockIdx.y * per, r1 = min(rows, r0 + per);
    float dw = 0.f, db = 0.f;
    if (c < C) {
        int r = r0 + threadIdx.y;
        for (; r + 3 * COL_SLICES < r1; r += 4 * COL_SLICES) {  // rows r, r + 8, r + 16, r + 24 all < r1
            float d[4], xv[4];
#pragma unroll
            for (int k = 0; k < 4; ++k) {
                const size_t o = (size_t)(r + k * COL_SLICES) * C + c;
                d[k] = Elem<T>::to_float(dy[o]), xv[k] = Elem<T>::to_float(x[o]);
            }
#pragma unroll
            for (int k = 0; k < 4; ++k) {
                const int rr = r + k * COL_SLICES;
                dw += d[k] * ((xv[k] - mean[rr]) * rstd[rr]), db += d[k];
            }
        }
        for (; r < r1; r += COL_SLICES) {
            const size_t o = (size_t)r * C + c;
            const float d = Elem<T>::to_float(dy[o]);
            dw += d * ((Elem<T>::to_float(x[o]) - mean[r]) * rstd[r]), db += d;
        }
    }
    sw[threadIdx.y][threadIdx.x] = dw, sb[threadIdx.y][threadIdx.x] = db;
    __syncthreads();
    if (threadIdx.y == 0 && c < C) {
        float a = 0.f, b = 0.f;
        for (int s = 0; s < COL_SLICES; ++s) a += sw[s][threadIdx.x], b += sb[s][threadIdx.x];
        part[(size_t)blockIdx.y * C + c] = a;
        part[((size_t)splits + blockIdx.y) * C + c] = b;
    }
}

#define LAYERNORM_BWD_COLUMNS(NAME, T)                                                                         \
    extern "C" __global__ void __launch_bounds__(32 * COL_SLICES)                                              \
        NAME(const T* __restrict__ dy, const T* __restrict__ x, const float* __restrict__ mean,                \
             const float* __restrict__ rstd, float* __restrict__ part, float* __restrict__ grads, int rows, int C) { \
        layernorm_bwd_columns(dy, x, mean, rstd, part, grads, rows, C);                                        \
    }
#if ROW_BUILD(1)
LAYERNORM_BWD_COLUMNS(layernorm_bwd_columns_f32, float)
#endif
#if ROW_BUILD(2)
LAYERNORM_BWD_COLUMNS(layernorm_bwd_columns_f16, __half)
#endif
#if ROW_BUILD(3)
LAYERNORM_BWD_COLUMNS(layernorm_bwd_columns_bf16, __nv_bfloat16)
#endif
