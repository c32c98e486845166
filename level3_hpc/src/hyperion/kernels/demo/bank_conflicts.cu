// Demo: shared-memory bank conflicts, in a 32 x 32 tile transpose. Reading a column of tile[32][32]
// puts all 32 lanes in the same bank (a 32-way conflict); padding each row to 33 floats moves
// consecutive rows to consecutive banks. ncu: l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum.
// x is n x n (n a multiple of 32 for brevity of the demo: the launcher checks), y = x^T.
template <int PAD>
__device__ __forceinline__ void transpose_tile(const float* x, float* y, int n) {
    __shared__ float tile[32][32 + PAD];
    const int bx = blockIdx.x * 32, by = blockIdx.y * 32;
    for (int r = threadIdx.y; r < 32; r += blockDim.y) tile[r][threadIdx.x] = x[(size_t)(by + r) * n + bx + threadIdx.x];
    __syncthreads();
    for (int r = threadIdx.y; r < 32; r += blockDim.y) y[(size_t)(bx + r) * n + by + threadIdx.x] = tile[threadIdx.x][r];
}

extern "C" __global__ void demo_transpose_conflicts(const float* x, float* y, int n) { transpose_tile<0>(x, y, n); }

extern "C" __global__ void demo_transpose_padded(const float* x, float* y, int n) { transpose_tile<1>(x, y, n); }
