// Demo: warp divergence. Both kernels do the same work per thread; in `demo_divergent` the branch
// depends on threadIdx.x % 2, so each warp runs both paths one after the other (half its lanes idle in
// each); in `demo_uniform` it depends on the warp index, so all 32 lanes of a warp agree.
// ncu: smsp__sass_average_branch_targets_threads_uniform.pct (branch efficiency) and the time.
__device__ __forceinline__ float path_a(float v, int iters) {
    for (int i = 0; i < iters; ++i) v = sinf(v) * 0.999f + 0.001f;
    return v;
}
__device__ __forceinline__ float path_b(float v, int iters) {
    for (int i = 0; i < iters; ++i) v = cosf(v) * 0.999f - 0.001f;
    return v;
}

extern "C" __global__ void demo_divergent(float* y, int n, int iters) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    y[i] = (threadIdx.x % 2) ? path_a(y[i], iters) : path_b(y[i], iters);
}

extern "C" __global__ void demo_uniform(float* y, int n, int iters) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    y[i] = ((threadIdx.x / 32) % 2) ? path_a(y[i], iters) : path_b(y[i], iters);
}
