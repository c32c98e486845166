// Matmul 04 -- 1-D register blocking: a 64 x 64 tile of C per block of 512 threads, each thread
// computing TM = 8 outputs down a column. The B value read from shared memory is reused TM times
// from a register, so shared-memory loads per FMA drop from 2 to about 1.1.
#define BM 64
#define BN 64
#define BK 8
#define TM 8

extern "C" __global__ void __launch_bounds__((BM * BN) / TM)
    matmul_blocktile_1d(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[BM * BK];
    __shared__ float Bs[BK * BN];
    const int rowBase = blockIdx.y * BM, colBase = blockIdx.x * BN;
    const int tcol = threadIdx.x % BN, trow = threadIdx.x / BN;  // trow in [0, BM / TM)
    const int aRow = threadIdx.x / BK, aCol = threadIdx.x % BK;  // one A element per thread
    const int bRow = threadIdx.x / BN, bCol = threadIdx.x % BN;  // one B element per thread
    float acc[TM] = {0.f};
    for (int k0 = 0; k0 < K; k0 += BK) {
        const int ar = rowBase + aRow, ac = k0 + aCol;
        As[aRow * BK + aCol] = (ar < M && ac < K) ? A[ar * K + ac] : 0.f;
        const int br = k0 + bRow, bc = colBase + bCol;
        Bs[bRow * BN + bCol] = (br < K && bc < N) ? B[br * N + bc] : 0.f;
        __syncthreads();
#pragma unroll
        for (int dot = 0; dot < BK; ++dot) {
            const float b = Bs[dot * BN + tcol];
#pragma unroll
            for (int r = 0; r < TM; ++r) acc[r] += As[(trow * TM + r) * BK + dot] * b;
        }
        __syncthreads();
    }
    const int col = colBase + tcol;
#pragma unroll
    for (int r = 0; r < TM; ++r) {
        const int row = rowBase + trow * TM + r;
        if (row < M && col < N) C[row * N + col] = acc[r];
    }
}
