// Attention scores S = scale * Q K^T with the causal mask fused, batched over BH = batch x heads.
// Q, K: BH x T x D row-major; S: BH x T x T. A 64 x 64 tile of S per block of 256 threads, each thread
// a 4 x 4 register tile; D is consumed in steps of 16 through shared memory (K stored transposed).
// Causal: a tile wholly above the diagonal does no arithmetic and just writes -inf; the diagonal tiles
// mask per element. The unfused chain is a batched cuBLAS GEMM, then scale, then mask.
#include "common.cuh"

#define QT 64
#define DT 16

extern "C" __global__ void __launch_bounds__(256)
    attention_qk(const float* __restrict__ Q, const float* __restrict__ K, float* __restrict__ S, int T, int D,
                 float scale, int causal) {
    __shared__ float Qs[DT][QT + 4];  // Qs[d][i], padded against bank conflicts
    __shared__ float Ks[DT][QT + 4];  // Ks[d][j]
    const size_t bh = blockIdx.z;
    const int i0 = blockIdx.y * QT, j0 = blockIdx.x * QT;
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;  // 16 x 16 threads, 4 x 4 outputs each
    float* Sb = S + bh * T * T;
    if (causal && j0 > i0 + QT - 1) {  // every (i, j) of this tile has j > i
        for (int e = threadIdx.x; e < QT * QT; e += 256) {
            const int i = i0 + e / QT, j = j0 + e % QT;
            if (i < T && j < T) Sb[(size_t)i * T + j] = -INFINITY;
        }
        return;
    }
    const float* Qb = Q + bh * T * D;
    const float* Kb = K + bh * T * D;
    float acc[4][4] = {{0.f}};
    for (int d0 = 0; d0 < D; d0 += DT) {
        for (int e = threadIdx.x; e < QT * DT; e += 256) {  // 64 rows x 16 columns of Q and of K
            const int r = e / DT, d = e % DT;
            Qs[d][r] = (i0 + r < T && d0 + d < D) ? Qb[(size_t)(i0 + r) * D + d0 + d] : 0.f;
            Ks[d][r] = (j0 + r < T && d0 + d < D) ? Kb[(size_t)(j0 + r) * D + d0 + d] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int d = 0; d < DT; ++d) {
            float q[4], k[4];
#pragma unroll
            for (int a = 0; a < 4; ++a) q[a] = Qs[d][ty * 4 + a], k[a] = Ks[d][tx * 4 + a];
#pragma unroll
            for (int a = 0; a < 4; ++a)
#pragma unroll
                for (int c = 0; c < 4; ++c) acc[a][c] += q[a] * k[c];
        }
        __syncthreads();
    }
#pragma unroll
    for (int a = 0; a < 4; ++a) {
        const int i = i0 + ty * 4 + a;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int j = j0 + tx * 4 + c;
            if (i < T && j < T) Sb[(size_t)i * T + j] = (causal && j > i) ? -INFINITY : acc[a][c] * scale;
        }
    }
}
