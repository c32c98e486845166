// Softmax 03 -- online softmax, one warp per row: a single pass keeps a running max m and a running
// sum s of exp(x - m) (when the max grows, s is rescaled by exp(m_old - m_new)); lanes merge their
// (m, s) pairs with warp shuffles, no shared memory. 2 reads + 1 write per element.
#include "common.cuh"

// Task 3.3: softmax_online. Softmax of one row per warp, in a single online pass.
// blockDim.x = 32 * warps_per_block. Each lane walks its elements i = lane, lane + 32, ... once,
// updating its own MaxSum {m, s}; merge the 32 pairs with warp_merge (common.cuh), then write
// y[i] = exp(x[i] - m) / s. Rows past `rows` do nothing; a -inf entry adds nothing to s.
extern "C" __global__ void softmax_online(const float* x, float* y, int rows, int C) {
    // BEGIN SOLUTION
    const int lane = threadIdx.x % 32;
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= rows) return;
    const float* xr = x + (size_t)row * C;
    float* yr = y + (size_t)row * C;
    MaxSum st{-INFINITY, 0.f};
    for (int i = lane; i < C; i += 32) {
        const float v = xr[i];
        if (v > st.m) {
            st.s = st.s * expf(st.m - v) + 1.f;
            st.m = v;
        } else if (v > -INFINITY) {  // a masked entry adds exp(-inf) = 0 (and -inf - -inf is NaN)
            st.s += expf(v - st.m);
        }
    }
    st = warp_merge(st);
    const float inv = 1.f / st.s;
    for (int i = lane; i < C; i += 32) yr[i] = expf(xr[i] - st.m) * inv;
    // END SOLUTION
}
