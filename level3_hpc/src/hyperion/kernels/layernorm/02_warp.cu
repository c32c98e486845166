// LayerNorm forward 02 -- one warp per row: lanes stride the row together (coalesced) and reduce with
// shuffles. Two-pass statistics read the row three times from global memory (mean, variance, write).
#include "common.cuh"

extern "C" __global__ void layernorm_fwd_warp(const float* x, const float* w, const float* b, float* y, float* mean,
                                              float* rstd, int rows, int C, float eps) {
    const int lane = threadIdx.x % 32;
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= rows) return;
    const float* xr = x + (size_t)row * C;
    float* yr = y + (size_t)row * C;
    float s = 0.f;
    for (int i = lane; i < C; i += 32) s += xr[i];
    const float mu = warp_sum(s) / C;
    float v = 0.f;
    for (int i = lane; i < C; i += 32) v += (xr[i] - mu) * (xr[i] - mu);
    const float rs = rsqrtf(warp_sum(v) / C + eps);
    for (int i = lane; i < C; i += 32) yr[i] = (xr[i] - mu) * rs * w[i] + b[i];
    if (lane == 0) mean[row] = mu, rstd[row] = rs;
}
