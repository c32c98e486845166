// Fused scale + causal mask + softmax over attention scores S (BH x T x T, row-major), against the
// chain scale -> mask -> softmax (three kernels, 3 reads + 3 writes of S; here softmax 04 is the
// third). The fused kernel reads only the unmasked part of row i (j <= i: about half of S), keeps it in
// registers, and writes the whole row (zeros where masked): ~1.5 N floats moved instead of 6 N.
#include "common.cuh"

#ifndef CACHE
#define CACHE 8  // scores per thread kept in registers; blockDim.x * CACHE >= T
#endif

extern "C" __global__ void scale_scores(const float* x, float* y, long long n, float scale) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        y[i] = x[i] * scale;
}

extern "C" __global__ void causal_mask(const float* x, float* y, long long n, int T) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        const long long r = (i / T) % T, c = i % T;
        y[i] = c > r ? -INFINITY : x[i];
    }
}

// Task 3.6: scale_mask_softmax. One block per row of S (blockIdx.x = row of BH*T; its query position is
// i = blockIdx.x % T): p = softmax(scale * s) over the columns j < valid, where valid = i + 1 when causal
// (later keys are masked: p = 0 there) and T otherwise. Read each unmasked score once into the register
// cache (CACHE per thread, column k*blockDim.x + threadIdx.x; masked/outside: -INFINITY), take the row max
// with block_max, exponentiate and sum (block_sum), and write every column j < T. One read of half of S
// and one write replace three kernels that each read and write all of S.
extern "C" __global__ void scale_mask_softmax(const float* __restrict__ s, float* __restrict__ p, int T, float scale,
                                              int causal) {
    __shared__ float scratch[32];
    // BEGIN SOLUTION
    const int i = blockIdx.x % T;  // query position of this row
    const float* sr = s + (size_t)blockIdx.x * T;
    float* pr = p + (size_t)blockIdx.x * T;
    const int valid = causal ? i + 1 : T;  // columns 0 .. valid-1 take part
    float cache[CACHE];
    float m = -INFINITY;
#pragma unroll
    for (int k = 0; k < CACHE; ++k) {
        const int j = k * blockDim.x + threadIdx.x;
        cache[k] = j < valid ? sr[j] * scale : -INFINITY;
        m = fmaxf(m, cache[k]);
    }
    m = block_max(m, scratch);
    float sum = 0.f;
#pragma unroll
    for (int k = 0; k < CACHE; ++k) {
        cache[k] = expf(cache[k] - m);  // masked entries: exp(-inf) = 0 (m is finite: column 0 is never masked)
        sum += cache[k];
    }
    const float inv = 1.f / block_sum(sum, scratch);
#pragma unroll
    for (int k = 0; k < CACHE; ++k) {
        const int j = k * blockDim.x + threadIdx.x;
        if (j < T) pr[j] = cache[k] * inv;
    }
    // END SOLUTION
}
