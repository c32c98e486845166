// Matmul 06 -- vectorised: 05's tiling, but global loads and stores are 16-byte float4s and the A tile
// is stored *transposed* in shared memory (As[k][m]), so a thread's 8 A values for one k are
// contiguous and come in as two 16-byte shared loads instead of eight 4-byte ones.
#include "common.cuh"

#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8
#define NTHREADS ((BM * BN) / (TM * TN))

extern "C" __global__ void __launch_bounds__(NTHREADS)
    matmul_vectorized(const float* A, const float* B, float* C, int M, int N, int K, int vec) {
    __shared__ __align__(16) float As[BK * BM];  // transposed: As[k * BM + m]
    __shared__ __align__(16) float Bs[BK * BN];
    const int rowBase = blockIdx.y * BM, colBase = blockIdx.x * BN;
    const int threadRow = threadIdx.x / (BN / TN), threadCol = threadIdx.x % (BN / TN);
    const int aRow = threadIdx.x / (BK / 4), aCol = threadIdx.x % (BK / 4);  // one float4 of A each
    const int bRow = threadIdx.x / (BN / 4), bCol = threadIdx.x % (BN / 4);  // one float4 of B each
    float acc[TM * TN] = {0.f};
    float regM[TM], regN[TN];
    for (int k0 = 0; k0 < K; k0 += BK) {
        const float4 a = load4(A, rowBase + aRow, k0 + aCol * 4, M, K, vec);
        As[(aCol * 4 + 0) * BM + aRow] = a.x;
        As[(aCol * 4 + 1) * BM + aRow] = a.y;
        As[(aCol * 4 + 2) * BM + aRow] = a.z;
        As[(aCol * 4 + 3) * BM + aRow] = a.w;
        const float4 b = load4(B, k0 + bRow, colBase + bCol * 4, K, N, vec);
        *reinterpret_cast<float4*>(&Bs[bRow * BN + bCol * 4]) = b;
        __syncthreads();
#pragma unroll
        for (int dot = 0; dot < BK; ++dot) {
#pragma unroll
            for (int i = 0; i < TM; i += 4) {
                const float4 t = *reinterpret_cast<const float4*>(&As[dot * BM + threadRow * TM + i]);
                regM[i] = t.x, regM[i + 1] = t.y, regM[i + 2] = t.z, regM[i + 3] = t.w;
            }
#pragma unroll
            for (int i = 0; i < TN; i += 4) {
                const float4 t = *reinterpret_cast<const float4*>(&Bs[dot * BN + threadCol * TN + i]);
                regN[i] = t.x, regN[i + 1] = t.y, regN[i + 2] = t.z, regN[i + 3] = t.w;
            }
#pragma unroll
            for (int m = 0; m < TM; ++m)
#pragma unroll
                for (int n = 0; n < TN; ++n) acc[m * TN + n] += regM[m] * regN[n];
        }
        __syncthreads();
    }
#pragma unroll
    for (int m = 0; m < TM; ++m) {
        const int row = rowBase + threadRow * TM + m;
#pragma unroll
        for (int n = 0; n < TN; n += 4) {
            const float* v = &acc[m * TN + n];
            store4(C, row, colBase + threadCol * TN + n, M, N, vec, make_float4(v[0], v[1], v[2], v[3]));
        }
    }
}
