// Softmax 01 -- naive: one thread per row, three passes over the row (max, sum of exp, write).
// A warp's 32 threads read 32 rows that lie C floats apart: every load is its own transaction.
#include "common.cuh"

extern "C" __global__ void softmax_naive(const float* x, float* y, int rows, int C) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    const float* xr = x + (size_t)row * C;
    float* yr = y + (size_t)row * C;
    float m = -INFINITY;
    for (int i = 0; i < C; ++i) m = fmaxf(m, xr[i]);
    float s = 0.f;
    for (int i = 0; i < C; ++i) s += expf(xr[i] - m);
    for (int i = 0; i < C; ++i) yr[i] = expf(xr[i] - m) / s;
}
