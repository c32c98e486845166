// Matmul 03 -- shared-memory tiling: a 32 x 32 block stages a 32 x 32 tile of A and of B in shared
// memory, so each global element is read once per tile instead of once per output (32x less traffic).
#define TILE 32

// Task 3.2: matmul_smem_tiled. C = A @ B through 32 x 32 shared-memory tiles of A and B. Launch: block
// (32, 32), grid (ceil(N/32), ceil(M/32)). Loop over K in steps of TILE: each thread loads one element of the A tile and one of the B tile (0 outside the
// matrix, so sizes need not be multiples of 32), __syncthreads(), accumulates the TILE products from
// shared memory, __syncthreads() again before the next load. Write C[row, col] if inside.
extern "C" __global__ void matmul_smem_tiled(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[TILE][TILE];
    __shared__ float Bs[TILE][TILE];
    // BEGIN SOLUTION
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
    float acc = 0.f;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        As[ty][tx] = (row < M && k0 + tx < K) ? A[row * K + k0 + tx] : 0.f;
        Bs[ty][tx] = (k0 + ty < K && col < N) ? B[(k0 + ty) * N + col] : 0.f;
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TILE; ++k) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    if (row < M && col < N) C[row * N + col] = acc;
    // END SOLUTION
}
