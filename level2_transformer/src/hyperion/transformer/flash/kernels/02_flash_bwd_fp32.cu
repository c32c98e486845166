// FlashAttention-2 backward, two kernels, no atomics: P is recomputed from the saved log-sum-exp.
//
//   P = exp(scale * q·k - lse),  dV += Pᵀ dO,  dP = dO Vᵀ,  dS = P ∘ (dP - delta),
//   dK += scale * dSᵀ Q,  dQ += scale * dS K,   with delta = rowsum(dO ∘ O) computed beforehand.
//
// flash_bwd_dkdv: grid = (ceil(N_k / OWN), B*H); thread c owns key row c: its k and v rows sit in
// shared memory (rows padded by one float: thread c reads row c, conflict-free), its dK and dV
// accumulators in registers. Query rows (q, dO, lse, delta) stream through shared memory in tiles
// of STREAM rows and are read as broadcasts. Causal: query tiles that end before the block's first
// key are skipped.
// flash_bwd_dq: the mirror image; thread r owns query row r and accumulates dQ, keys stream.
// Two kernels recompute S twice, but each output row has exactly one writer: deterministic, simple.
// T is float, __half or __nv_bfloat16 (the half-precision backward uses these kernels); math in fp32.
#include "common.cuh"

constexpr int OWN = 32;  // rows owned by a block, one per thread (one warp)

template <int D> struct Stream { static constexpr int rows = D >= 128 ? 8 : 16; };

template <typename T, int D>
__device__ void flash_bwd_dkdv(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                               const T* __restrict__ dout, const float* __restrict__ lse,
                               const float* __restrict__ delta, const unsigned char* __restrict__ key_pad,
                               T* __restrict__ dk, T* __restrict__ dv, int heads, int n_q, int n_k, float scale,
                               int causal) {
    constexpr int S = Stream<D>::rows;
    __shared__ float Kown[OWN][D + 1], Vown[OWN][D + 1];
    __shared__ float Qs[S][D], dOs[S][D], Ls[S], Ds[S];
    const int bh = blockIdx.y, c = threadIdx.x;
    const int j0 = blockIdx.x * OWN, j = j0 + c;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    dout += (size_t)bh * n_q * D;
    lse += (size_t)bh * n_q;
    delta += (size_t)bh * n_q;
    const size_t kv_off = (size_t)bh * n_k * D;
    for (int idx = c; idx < OWN * D; idx += OWN) {
        const int r = idx / D, t = idx % D, jj = j0 + r;
        Kown[r][t] = jj < n_k ? to_float(k[kv_off + (size_t)jj * D + t]) : 0.f;
        Vown[r][t] = jj < n_k ? to_float(v[kv_off + (size_t)jj * D + t]) : 0.f;
    }
    float dk_acc[D], dv_acc[D];
#pragma unroll
    for (int t = 0; t < D; ++t) dk_acc[t] = dv_acc[t] = 0.f;
    const float scale_log2 = scale * FLASH_LOG2E;
    const int diag = causal_diag(causal, n_q, n_k);
    const int i_start = causal ? (max(0, j0 - diag) / S) * S : 0;  // earlier rows see none of these keys

    for (int i0 = i_start; i0 < n_q; i0 += S) {
        __syncthreads();
        for (int idx = c; idx < S * D; idx += OWN) {
            const int r = idx / D, t = idx % D, i = i0 + r;
            Qs[r][t] = i < n_q ? to_float(q[(size_t)i * D + t]) : 0.f;
            dOs[r][t] = i < n_q ? to_float(dout[(size_t)i * D + t]) : 0.f;
        }
        if (c < S) {
            const int i = i0 + c;
            Ls[c] = i < n_q ? lse[i] * FLASH_LOG2E : -INFINITY;
            Ds[c] = i < n_q ? delta[i] : 0.f;
        }
        __syncthreads();
        for (int r = 0; r < S; ++r) {
            const int i = i0 + r;
            if (i >= n_q || Ls[r] == -INFINITY || !key_visible(j, i, n_k, pad_row, causal, diag)) continue;
            float x = 0.f, dp = 0.f;
#pragma unroll
            for (int t = 0; t < D; ++t) {
                x += Qs[r][t] * Kown[c][t];
                dp += dOs[r][t] * Vown[c][t];
            }
            const float p = exp2f(x * scale_log2 - Ls[r]);
            const float ds = p * (dp - Ds[r]) * scale;
#pragma unroll
            for (int t = 0; t < D; ++t) {
                dv_acc[t] += p * dOs[r][t];
                dk_acc[t] += ds * Qs[r][t];
            }
        }
    }
    if (j < n_k) {
#pragma unroll
        for (int t = 0; t < D; ++t) {
            dk[kv_off + (size_t)j * D + t] = from_float<T>(dk_acc[t]);
            dv[kv_off + (size_t)j * D + t] = from_float<T>(dv_acc[t]);
        }
    }
}

template <typename T, int D>
__device__ void flash_bwd_dq(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                             const T* __restrict__ dout, const float* __restrict__ lse,
                             const float* __restrict__ delta, const unsigned char* __restrict__ key_pad,
                             T* __restrict__ dq, int heads, int n_q, int n_k, float scale, int causal) {
    constexpr int S = Stream<D>::rows;
    __shared__ float Qown[OWN][D + 1], dOown[OWN][D + 1];
    __shared__ float Ks[S][D], Vs[S][D];
    const int bh = blockIdx.y, r = threadIdx.x;
    const int i0 = blockIdx.x * OWN, i = i0 + r;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    const size_t q_off = (size_t)bh * n_q * D;
    for (int idx = r; idx < OWN * D; idx += OWN) {
        const int rr = idx / D, t = idx % D, ii = i0 + rr;
        Qown[rr][t] = ii < n_q ? to_float(q[q_off + (size_t)ii * D + t]) : 0.f;
        dOown[rr][t] = ii < n_q ? to_float(dout[q_off + (size_t)ii * D + t]) : 0.f;
    }
    const float row_lse = i < n_q ? lse[(size_t)bh * n_q + i] * FLASH_LOG2E : -INFINITY;
    const float row_delta = i < n_q ? delta[(size_t)bh * n_q + i] : 0.f;
    float dq_acc[D];
#pragma unroll
    for (int t = 0; t < D; ++t) dq_acc[t] = 0.f;
    const float scale_log2 = scale * FLASH_LOG2E;
    const int diag = causal_diag(causal, n_q, n_k);
    const int kv_end = causal ? min(n_k, max(0, i0 + OWN + diag)) : n_k;

    for (int j0 = 0; j0 < kv_end; j0 += S) {
        __syncthreads();
        for (int idx = r; idx < S * D; idx += OWN) {
            const int cc = idx / D, t = idx % D, j = j0 + cc;
            Ks[cc][t] = j < n_k ? to_float(k[(size_t)j * D + t]) : 0.f;
            Vs[cc][t] = j < n_k ? to_float(v[(size_t)j * D + t]) : 0.f;
        }
        __syncthreads();
        if (i >= n_q || row_lse == -INFINITY) continue;
        for (int cc = 0; cc < S; ++cc) {
            if (!key_visible(j0 + cc, i, n_k, pad_row, causal, diag)) continue;
            float x = 0.f, dp = 0.f;
#pragma unroll
            for (int t = 0; t < D; ++t) {
                x += Qown[r][t] * Ks[cc][t];
                dp += dOown[r][t] * Vs[cc][t];
            }
            const float ds = exp2f(x * scale_log2 - row_lse) * (dp - row_delta) * scale;
#pragma unroll
            for (int t = 0; t < D; ++t) dq_acc[t] += ds * Ks[cc][t];
        }
    }
    if (i < n_q) {
#pragma unroll
        for (int t = 0; t < D; ++t) dq[q_off + (size_t)i * D + t] = from_float<T>(dq_acc[t]);
    }
}

#define FLASH_BWD(SUFFIX, T, D)                                                                              \
    extern "C" __global__ void __launch_bounds__(OWN)                                                        \
        flash_bwd_dkdv_##SUFFIX(const T* q, const T* k, const T* v, const T* dout, const float* lse,        \
                                const float* delta, const unsigned char* key_pad, T* dk, T* dv, int heads,  \
                                int n_q, int n_k, float scale, int causal) {                                 \
        flash_bwd_dkdv<T, D>(q, k, v, dout, lse, delta, key_pad, dk, dv, heads, n_q, n_k, scale, causal);    \
    }                                                                                                        \
    extern "C" __global__ void __launch_bounds__(OWN)                                                        \
        flash_bwd_dq_##SUFFIX(const T* q, const T* k, const T* v, const T* dout, const float* lse,          \
                              const float* delta, const unsigned char* key_pad, T* dq, int heads, int n_q,  \
                              int n_k, float scale, int causal) {                                            \
        flash_bwd_dq<T, D>(q, k, v, dout, lse, delta, key_pad, dq, heads, n_q, n_k, scale, causal);          \
    }

#ifndef FLASH_D
#define FLASH_D 64  // the head dimension; the loader compiles one module per D (16, 32, 64 or 128)
#endif

FLASH_BWD(f32, float, FLASH_D)
FLASH_BWD(f16, __half, FLASH_D)
FLASH_BWD(bf16, __nv_bfloat16, FLASH_D)
