// FlashAttention-2 forward, the plain version: one thread per query row, K/V tiles in shared memory.
//
// Block partitioning: grid = (ceil(N_q / BR), B*H). A block owns BR query rows of one head; its
// BR threads sweep the keys in tiles of BC rows. Each tile of K and V is loaded once into shared
// memory by the whole block (coalesced) and then read by every thread (a broadcast: all threads read
// the same address). Each thread keeps its query row, its running max m, sum l and its output
// accumulator in registers and applies the online-softmax update of tiled_numpy.py per tile.
// Causal: a block stops at the last key its last row may see (the tiles to the right are skipped).
// Element type T is float, __half or __nv_bfloat16; all arithmetic is fp32.
#include "common.cuh"

template <typename T, int D, int BR, int BC>
__device__ void flash_fwd_rows(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                               const unsigned char* __restrict__ key_pad, T* __restrict__ out,
                               float* __restrict__ lse, int heads, int n_q, int n_k, float scale, int causal) {
    __shared__ float Ks[BC][D];
    __shared__ float Vs[BC][D];
    const int bh = blockIdx.y;
    const int row = blockIdx.x * BR + threadIdx.x;
    const bool live = row < n_q;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;

    const float scale_log2 = scale * FLASH_LOG2E;
    float qr[D], acc[D];
#pragma unroll
    for (int t = 0; t < D; ++t) {
        qr[t] = live ? to_float(q[(size_t)row * D + t]) * scale_log2 : 0.f;
        acc[t] = 0.f;
    }
    float m = -INFINITY, l = 0.f;
    const int diag = causal_diag(causal, n_q, n_k);
    const int kv_end = causal ? min(n_k, max(0, (int)(blockIdx.x * BR + BR) + diag)) : n_k;

    for (int j0 = 0; j0 < kv_end; j0 += BC) {
        __syncthreads();  // everyone is done with the previous tile
        for (int idx = threadIdx.x; idx < BC * D; idx += BR) {
            const int c = idx / D, t = idx % D, j = j0 + c;
            Ks[c][t] = j < n_k ? to_float(k[(size_t)j * D + t]) : 0.f;
            Vs[c][t] = j < n_k ? to_float(v[(size_t)j * D + t]) : 0.f;
        }
        __syncthreads();

        float s[BC];
        float tile_max = -INFINITY;
#pragma unroll
        for (int c = 0; c < BC; ++c) {
            float x = 0.f;
#pragma unroll
            for (int t = 0; t < D; ++t) x += qr[t] * Ks[c][t];
            s[c] = key_visible(j0 + c, row, n_k, pad_row, causal, diag) ? x : -INFINITY;
            tile_max = fmaxf(tile_max, s[c]);
        }
        const float m_new = fmaxf(m, tile_max);
        const float shift = m_new == -INFINITY ? 0.f : m_new;  // a row that has seen no key yet
        const float alpha = exp2f(m - shift);
        l *= alpha;
#pragma unroll
        for (int t = 0; t < D; ++t) acc[t] *= alpha;
#pragma unroll
        for (int c = 0; c < BC; ++c) {
            const float p = exp2f(s[c] - shift);
            l += p;
#pragma unroll
            for (int t = 0; t < D; ++t) acc[t] += p * Vs[c][t];
        }
        m = m_new;
    }
    if (live) {
        const float inv = l > 0.f ? 1.f / l : 0.f;  // a fully masked row: output 0
        T* o = out + ((size_t)bh * n_q + row) * D;
#pragma unroll
        for (int t = 0; t < D; ++t) o[t] = from_float<T>(acc[t] * inv);
        lse[(size_t)bh * n_q + row] = l > 0.f ? (m + log2f(l)) * FLASH_LN2 : -INFINITY;
    }
}

#ifndef FLASH_D
#define FLASH_D 64  // the head dimension; the loader compiles one module per D (16, 32, 64 or 128)
#endif

extern "C" __global__ void __launch_bounds__(64)
    flash_fwd_rows_f32(const float* q, const float* k, const float* v, const unsigned char* key_pad, float* out,
                       float* lse, int heads, int n_q, int n_k, float scale, int causal) {
    flash_fwd_rows<float, FLASH_D, 64, 16>(q, k, v, key_pad, out, lse, heads, n_q, n_k, scale, causal);
}
