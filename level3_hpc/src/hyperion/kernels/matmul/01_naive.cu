// Matmul 01 -- naive: one thread per element of C = A @ B (A: M x K, B: K x N, all row-major fp32).
// threadIdx.x walks *rows*, so the 32 threads of a warp read 32 different rows of A (32 separate
// memory transactions per load) and write C down a column: uncoalesced on purpose -- the baseline.
extern "C" __global__ void matmul_naive(const float* A, const float* B, float* C, int M, int N, int K) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    const int col = blockIdx.y * blockDim.y + threadIdx.y;
    if (row < M && col < N) {
        float acc = 0.f;
        for (int k = 0; k < K; ++k) acc += A[row * K + k] * B[k * N + col];
        C[row * N + col] = acc;
    }
}
