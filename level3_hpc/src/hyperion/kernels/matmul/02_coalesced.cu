// Matmul 02 -- coalesced: the same arithmetic as 01, but threadIdx.x walks *columns*.
//
// Task 3.1: matmul_coalesced. Compute one element C[row, col] per thread, with col taken from
// threadIdx.x so that consecutive threads of a warp read consecutive elements of B's row k (one
// 128-byte transaction per warp) and all read the same A[row, k] (a broadcast). Guard row < M, col < N.
extern "C" __global__ void matmul_coalesced(const float* A, const float* B, float* C, int M, int N, int K) {
    // BEGIN SOLUTION
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    const int row = blockIdx.y * blockDim.y + threadIdx.y;
    if (row < M && col < N) {
        float acc = 0.f;
        for (int k = 0; k < K; ++k) acc += A[row * K + k] * B[k * N + col];
        C[row * N + col] = acc;
    }
    // END SOLUTION
}
