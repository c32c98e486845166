// Fused bias + GELU (the MLP's first activation) against its unfused chain of two kernels.
// GELU uses GPT-2's tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// Unfused: t = x + b (read x, write t), y = gelu(t) (read t, write y): 4 N C floats moved.
// Fused: y = gelu(x + b): 2 N C floats moved. x is N x C row-major, b has C elements.
__device__ __forceinline__ float gelu_tanh(float v) {
    const float k = 0.7978845608028654f;  // sqrt(2 / pi)
    return 0.5f * v * (1.f + tanhf(k * (v + 0.044715f * v * v * v)));
}

extern "C" __global__ void add_bias(const float* x, const float* b, float* y, long long n, int C) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        y[i] = x[i] + b[i % C];
}

extern "C" __global__ void gelu(const float* x, float* y, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        y[i] = gelu_tanh(x[i]);
}

extern "C" __global__ void bias_gelu(const float* x, const float* b, float* y, long long n, int C) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        y[i] = gelu_tanh(x[i] + b[i % C]);
}

// Backward of the fused op (for the backend): dx = dy * gelu'(x + b); db is a column sum done by the caller.
extern "C" __global__ void bias_gelu_bwd(const float* dy, const float* x, const float* b, float* dx, long long n,
                                         int C) {
    const float k = 0.7978845608028654f;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        const float v = x[i] + b[i % C];
        const float t = tanhf(k * (v + 0.044715f * v * v * v));
        const float dt = k * (1.f + 3.f * 0.044715f * v * v) * (1.f - t * t);
        dx[i] = dy[i] * (0.5f * (1.f + t) + 0.5f * v * dt);
    }
}

// Backward of `gelu` alone (the backend's GELU(approximate="tanh")): dx = dy * gelu'(x).
extern "C" __global__ void gelu_bwd(const float* dy, const float* x, float* dx, long long n) {
    const float k = 0.7978845608028654f;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        const float v = x[i];
        const float t = tanhf(k * (v + 0.044715f * v * v * v));
        const float dt = k * (1.f + 3.f * 0.044715f * v * v) * (1.f - t * t);
        dx[i] = dy[i] * (0.5f * (1.f + t) + 0.5f * v * dt);
    }
}
