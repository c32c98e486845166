// Column sums of a C-contiguous fp32 matrix x (K rows x N columns) with few rows (a bias gradient over a batch,
// or the per-chunk partial sums level 1 makes of a long one), in one launch: the step this serves is bound by
// host time per launch (CuPy's axis reduction costs ~30 µs of Python on an H100 host), not by these few bytes.
// A block owns 32 consecutive columns (threadIdx.x: one column each, so a warp's loads are one coalesced row
// segment) and splits the rows among SLICES warps (threadIdx.y takes rows y, y + SLICES, ...): a column of
// 1024 rows is 64 loads per thread, not 1024 in one thread's chain. The slices' sums meet in shared memory and
// are added in a fixed order (no atomics): the same sums to the bit on every run.
#define SLICES 16

extern "C" __global__ void column_sum(const float* __restrict__ x, float* __restrict__ out, int K, int N) {
    __shared__ float part[SLICES][33];  // 33: the transposed read below hits 32 different banks
    const int c = blockIdx.x * 32 + threadIdx.x;
    float s = 0.f;
    if (c < N)
        for (int r = threadIdx.y; r < K; r += SLICES) s += x[(size_t)r * N + c];
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && c < N) {
        float total = 0.f;
        for (int y = 0; y < SLICES; ++y) total += part[y][threadIdx.x];
        out[c] = total;
    }
}
