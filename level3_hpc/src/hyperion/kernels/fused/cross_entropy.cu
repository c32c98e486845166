// Fused cross-entropy of fp32 logits (rows x C) against int64 class indices: three kernels where the
// composed level-1 op launches about 25 (max, subtract, exp, sum, log, subtract, a gather, the smoothing sum,
// the mask, the reductions; backward: exp, a scatter, scaling) -- a training step that is bound by launches
// (the level-1 MLP on a GPU) pays for every one of them.
//
// ce_rows: one block per row reads the row once with an online log-sum-exp (Milakov & Gimelshein 2018):
//   each thread keeps (m, s) = (running max, sum of exp(x - m)) and the plain sum of x; the block combines
//   them. lse = m + log s; the row's loss, with label smoothing eps and target t,
//     (1 - eps) (lse - x_t) + eps (lse - sum(x) / C)      (0 on a row whose target is ignore_index),
//   since -log p_c = lse - x_c. lse is saved for the backward; logits are never written.
// ce_total: one block sums the row losses and counts the kept rows in a fixed order (no atomics: the same
//   loss to the bit on every run), then writes the mean (0/0 = NaN when every row is ignored, as PyTorch)
//   or the sum, and the count.
// ce_grad: one thread per logit: d = (exp(x - lse) - eps/C - (c == t)(1 - eps)) * scale, scale = the
//   incoming gradient (per row for reduction "none"), divided by max(count, 1) for "mean"; 0 on ignored rows.
// Targets out of [0, C) are checked before the launch (level 1's check); a bad one here is treated as ignored.

#include "common.cuh"  // INFINITY under NVRTC

#define CE_WARPS 32

__device__ __forceinline__ void lse_combine(float& m, float& s, float m2, float s2) {
    const float top = fmaxf(m, m2);
    if (top == -INFINITY) return;  // both empty (or every value -inf): keep (-inf, 0)
    s = s * expf(m - top) + s2 * expf(m2 - top);
    m = top;
}

extern "C" __global__ void ce_rows(const float* x, const long long* target, float* loss, float* lse, int C,
                                   long long ignore_index, float eps) {
    __shared__ float sm[CE_WARPS], ss[CE_WARPS], sx[CE_WARPS];
    const float* row = x + (long long)blockIdx.x * C;
    float m = -INFINITY, s = 0.f, total = 0.f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        const float v = row[c];
        total += v;
        lse_combine(m, s, v, 1.f);
    }
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
    for (int d = 16; d > 0; d /= 2) {
        const float m2 = __shfl_xor_sync(0xffffffffu, m, d), s2 = __shfl_xor_sync(0xffffffffu, s, d);
        total += __shfl_xor_sync(0xffffffffu, total, d);
        lse_combine(m, s, m2, s2);
    }
    if (lane == 0) { sm[warp] = m; ss[warp] = s; sx[warp] = total; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < warps; ++w) {
            total += sx[w];
            lse_combine(m, s, sm[w], ss[w]);
        }
        // fmaxf drops a NaN, so the sum of the row carries it (and +inf beside -inf): NaN loss, as level 1
        const float row_lse = total != total ? nanf("") : m + logf(s);
        const long long t = target[blockIdx.x];
        float row_loss = 0.f;
        if (t != ignore_index && t >= 0 && t < C) {
            row_loss = (1.f - eps) * (row_lse - row[t]);
            if (eps != 0.f) row_loss += eps * (row_lse - total / (float)C);
        }
        loss[blockIdx.x] = row_loss;
        lse[blockIdx.x] = row_lse;
    }
}

extern "C" __global__ void ce_total(const float* loss, const long long* target, float* out, int rows,
                                    long long ignore_index, int mean) {
    __shared__ float s_sum[CE_WARPS], s_count[CE_WARPS];
    float sum = 0.f, count = 0.f;
    for (int r = threadIdx.x; r < rows; r += blockDim.x) {
        sum += loss[r];
        count += target[r] != ignore_index ? 1.f : 0.f;
    }
    for (int d = 16; d > 0; d /= 2) {
        sum += __shfl_xor_sync(0xffffffffu, sum, d);
        count += __shfl_xor_sync(0xffffffffu, count, d);
    }
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
    if (lane == 0) { s_sum[warp] = sum; s_count[warp] = count; }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < warps; ++w) { sum += s_sum[w]; count += s_count[w]; }
        out[0] = mean ? sum / count : sum;
        out[1] = count;
    }
}

// mode: 0 = reduction "none" (grad has one value per row), 1 = "sum", 2 = "mean" (count = out[1] of ce_total)
extern "C" __global__ void ce_grad(const float* x, const long long* target, const float* lse, const float* grad,
                                   const float* count, float* dx, long long n, int C, long long ignore_index,
                                   float eps, int mode) {
    const float smooth = eps / (float)C;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        const long long r = i / C;
        const int c = (int)(i - r * C);
        const long long t = target[r];
        float d = 0.f;
        if (t != ignore_index && t >= 0 && t < C) {
            float scale = mode == 0 ? grad[r] : grad[0];
            if (mode == 2) scale /= fmaxf(count[0], 1.f);
            d = (expf(x[i] - lse[r]) - smooth - (c == t ? 1.f - eps : 0.f)) * scale;
        }
        dx[i] = d;
    }
}
