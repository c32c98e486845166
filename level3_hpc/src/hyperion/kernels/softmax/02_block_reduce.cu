// Softmax 02 -- one block per row, shared-memory tree reductions: threads stride over the row
// together (coalesced), reduce the max and then the sum in shared memory, then write.
// Still three passes over the row in global memory: 3 reads + 1 write per element.
#include "common.cuh"

extern "C" __global__ void softmax_block_reduce(const float* x, float* y, int rows, int C) {
    extern __shared__ float red[];  // blockDim.x floats (a power of two)
    const int row = blockIdx.x, tid = threadIdx.x;
    const float* xr = x + (size_t)row * C;
    float* yr = y + (size_t)row * C;
    float m = -INFINITY;
    for (int i = tid; i < C; i += blockDim.x) m = fmaxf(m, xr[i]);
    red[tid] = m;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (tid < half) red[tid] = fmaxf(red[tid], red[tid + half]);
        __syncthreads();
    }
    m = red[0];
    __syncthreads();
    float s = 0.f;
    for (int i = tid; i < C; i += blockDim.x) s += expf(xr[i] - m);
    red[tid] = s;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (tid < half) red[tid] += red[tid + half];
        __syncthreads();
    }
    const float inv = 1.f / red[0];
    for (int i = tid; i < C; i += blockDim.x) yr[i] = expf(xr[i] - m) * inv;
}
