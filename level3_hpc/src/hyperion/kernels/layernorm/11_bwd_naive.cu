// LayerNorm backward 11 -- naive. With xhat = (x - mean) * rstd and g = w * dy (per row):
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),   dw = sum_rows dy * xhat,   db = sum_rows dy.
// Two kernels: dx with one thread per row (three passes), dw/db with one thread per column summing
// down all rows (coalesced across threads, but N sequential loads per thread).
extern "C" __global__ void layernorm_bwd_naive_dx(const float* dy, const float* x, const float* w, const float* mean,
                                                  const float* rstd, float* dx, int rows, int C) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    const size_t o = (size_t)row * C;
    const float mu = mean[row], rs = rstd[row];
    float sg = 0.f, sgx = 0.f;
    for (int i = 0; i < C; ++i) {
        const float g = w[i] * dy[o + i], xh = (x[o + i] - mu) * rs;
        sg += g, sgx += g * xh;
    }
    sg /= C, sgx /= C;
    for (int i = 0; i < C; ++i) {
        const float g = w[i] * dy[o + i], xh = (x[o + i] - mu) * rs;
        dx[o + i] = rs * (g - sg - xh * sgx);
    }
}

extern "C" __global__ void layernorm_bwd_naive_dwdb(const float* dy, const float* x, const float* mean,
                                                    const float* rstd, float* dw, float* db, int rows, int C) {
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= C) return;
    float sw = 0.f, sb = 0.f;
    for (int r = 0; r < rows; ++r) {
        const size_t o = (size_t)r * C + col;
        sw += dy[o] * (x[o] - mean[r]) * rstd[r];
        sb += dy[o];
    }
    dw[col] = sw, db[col] = sb;
}
