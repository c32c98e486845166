// LayerNorm forward 01 -- naive: one thread per row, three passes (mean, variance, write).
// y = (x - mean) * rstd * w + b with rstd = 1 / sqrt(var + eps); mean and rstd are saved for backward.
extern "C" __global__ void layernorm_fwd_naive(const float* x, const float* w, const float* b, float* y,
                                               float* mean, float* rstd, int rows, int C, float eps) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    const float* xr = x + (size_t)row * C;
    float* yr = y + (size_t)row * C;
    float s = 0.f;
    for (int i = 0; i < C; ++i) s += xr[i];
    const float mu = s / C;
    float v = 0.f;
    for (int i = 0; i < C; ++i) v += (xr[i] - mu) * (xr[i] - mu);
    const float rs = rsqrtf(v / C + eps);
    for (int i = 0; i < C; ++i) yr[i] = (xr[i] - mu) * rs * w[i] + b[i];
    mean[row] = mu;
    rstd[row] = rs;
}
