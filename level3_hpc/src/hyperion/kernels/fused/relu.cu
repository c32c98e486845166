// ReLU of fp32, one elementwise kernel each way. The forward writes y = max(x, 0) (a NaN stays NaN, as level
// 1's `maximum`) and the mask y != 0 that the backward reads (a NaN passes its gradient on, as in PyTorch);
// the backward writes g * mask (a NaN gradient stays NaN even where the mask is 0: level 1's product, bit for
// bit). Level 1's composition launches two kernels forward (maximum, then the comparison) and one back; on a
// launch-bound step (the level-1 MLP on a GPU) every launch saved is ~10-20 µs of host time.
extern "C" __global__ void relu_forward(const float* __restrict__ x, float* __restrict__ y, bool* __restrict__ positive,
                                        long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        const float v = x[i];
        const float out = (v > 0.f || v != v) ? v : 0.f;
        y[i] = out;
        positive[i] = out != 0.f;
    }
}

extern "C" __global__ void relu_backward(const float* __restrict__ g, const bool* __restrict__ positive,
                                         float* __restrict__ d, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        d[i] = g[i] * (positive[i] ? 1.f : 0.f);
}
