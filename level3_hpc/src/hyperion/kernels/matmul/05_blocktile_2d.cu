// Matmul 05 -- 2-D register blocking: a 128 x 128 tile per block of 256 threads, each thread an
// 8 x 8 sub-tile of C held in 64 registers. Per k step a thread loads 8 A and 8 B values from shared
// memory and does 64 FMAs: arithmetic intensity per shared load goes from ~1 (04) to 4.
#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8
#define NTHREADS ((BM * BN) / (TM * TN))

extern "C" __global__ void __launch_bounds__(NTHREADS)
    matmul_blocktile_2d(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[BM * BK];
    __shared__ float Bs[BK * BN];
    const int rowBase = blockIdx.y * BM, colBase = blockIdx.x * BN;
    const int threadRow = threadIdx.x / (BN / TN), threadCol = threadIdx.x % (BN / TN);
    const int aRow = threadIdx.x / BK, aCol = threadIdx.x % BK;
    constexpr int strideA = NTHREADS / BK;  // rows of the A tile loaded per pass
    const int bRow = threadIdx.x / BN, bCol = threadIdx.x % BN;
    constexpr int strideB = NTHREADS / BN;
    float acc[TM * TN] = {0.f};
    float regM[TM], regN[TN];
    for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
        for (int off = 0; off < BM; off += strideA) {
            const int r = rowBase + aRow + off, c = k0 + aCol;
            As[(aRow + off) * BK + aCol] = (r < M && c < K) ? A[r * K + c] : 0.f;
        }
#pragma unroll
        for (int off = 0; off < BK; off += strideB) {
            const int r = k0 + bRow + off, c = colBase + bCol;
            Bs[(bRow + off) * BN + bCol] = (r < K && c < N) ? B[r * N + c] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int dot = 0; dot < BK; ++dot) {
#pragma unroll
            for (int i = 0; i < TM; ++i) regM[i] = As[(threadRow * TM + i) * BK + dot];
#pragma unroll
            for (int i = 0; i < TN; ++i) regN[i] = Bs[dot * BN + threadCol * TN + i];
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
        for (int n = 0; n < TN; ++n) {
            const int col = colBase + threadCol * TN + n;
            if (row < M && col < N) C[row * N + col] = acc[m * TN + n];
        }
    }
}
