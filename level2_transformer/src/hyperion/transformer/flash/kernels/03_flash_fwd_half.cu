// FlashAttention-2 forward in fp16 / bf16 on tensor cores (WMMA 16x16x16, fp32 accumulate).
//
// Block partitioning: grid = (ceil(N_q / BR), B*H), WARPS warps per block, BR = 16 * WARPS query rows:
// each warp owns 16 of them. Per key tile of BC = 64 rows:
//   1. the block loads K_j and V_j into shared memory (16-byte vector loads, zero rows past N_k);
//   2. each warp computes its 16 x BC scores S = Q_w K_jᵀ on tensor cores (its Q fragments stay in
//      registers for the whole sweep) and stores them to its own shared-memory scratch;
//   3. lanes 2r and 2r+1 own row r: scale, mask, row max (one shuffle), P = exp2(S - m'), row sum,
//      and rescale the row's output accumulator by alpha = exp2(m - m') (the online softmax);
//   4. O_w += P V_j on tensor cores, the fp32 accumulator round-tripping through shared memory (the
//      WMMA accumulator layout is opaque, so the per-row rescale of step 3 happens there).
// Causal: the sweep stops after the tile holding the block's last row (tiles right of it skipped).
// Dynamic shared memory: 62 KB for D = 64, 95 KB for D = 128 (the loader raises the 48 KB limit).
#include <mma.h>
#include "common.cuh"

using namespace nvcuda;

template <typename T, int D, int WARPS>
__device__ void flash_fwd_wmma(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                               const unsigned char* __restrict__ key_pad, T* __restrict__ out,
                               float* __restrict__ lse, int heads, int n_q, int n_k, float scale, int causal) {
    constexpr int BR = 16 * WARPS, BC = 64;
    constexpr int LDK = D + 8;   // T elements; WMMA wants a multiple of 8 (16 bytes)
    constexpr int LDS = BC + 4;  // floats; a multiple of 4
    constexpr int LDP = BC + 8;  // T elements
    constexpr int LDO = D + 4;   // floats
    constexpr int VEC = 8;       // T elements per 16-byte load
    static_assert(BR <= 2 * BC, "the Q tile is staged in the K/V buffers");
    extern __shared__ __align__(128) unsigned char smem[];
    T* Ks = reinterpret_cast<T*>(smem);                        // [BC][LDK]
    T* Vs = Ks + BC * LDK;                                     // [BC][LDK]
    float* Sw = reinterpret_cast<float*>(Vs + BC * LDK);       // [WARPS][16][LDS]
    T* Pw = reinterpret_cast<T*>(Sw + WARPS * 16 * LDS);       // [WARPS][16][LDP]
    float* Ow = reinterpret_cast<float*>(Pw + WARPS * 16 * LDP);  // [WARPS][16][LDO]

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int bh = blockIdx.y, q0 = blockIdx.x * BR;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    Sw += warp * 16 * LDS;
    Pw += warp * 16 * LDP;
    Ow += warp * 16 * LDO;

    // Stage the block's Q rows (in the K/V buffers) and keep each warp's Q fragments in registers.
    const uint4 zero = make_uint4(0, 0, 0, 0);
    for (int idx = threadIdx.x; idx < BR * D / VEC; idx += 32 * WARPS) {
        const int r = idx / (D / VEC), t = (idx % (D / VEC)) * VEC, i = q0 + r;
        *reinterpret_cast<uint4*>(Ks + r * LDK + t) =
            i < n_q ? *reinterpret_cast<const uint4*>(q + (size_t)i * D + t) : zero;
    }
    __syncthreads();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> q_frag[D / 16];
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) wmma::load_matrix_sync(q_frag[kk], Ks + warp * 16 * LDK + kk * 16, LDK);

    const int r = lane / 2, half = lane % 2;  // lanes 2r, 2r+1 own row r of the warp's 16
    const int row = q0 + warp * 16 + r;
    for (int t = half * (D / 2); t < (half + 1) * (D / 2); ++t) Ow[r * LDO + t] = 0.f;
    float m = -INFINITY, l = 0.f;
    const float scale_log2 = scale * FLASH_LOG2E;
    const int diag = causal_diag(causal, n_q, n_k);
    const int kv_end = causal ? min(n_k, max(0, q0 + BR + diag)) : n_k;

    for (int j0 = 0; j0 < kv_end; j0 += BC) {
        __syncthreads();  // Q staging / the previous tile's K and V are no longer read
        for (int idx = threadIdx.x; idx < BC * D / VEC; idx += 32 * WARPS) {
            const int c = idx / (D / VEC), t = (idx % (D / VEC)) * VEC, j = j0 + c;
            const bool in = j < n_k;
            *reinterpret_cast<uint4*>(Ks + c * LDK + t) =
                in ? *reinterpret_cast<const uint4*>(k + (size_t)j * D + t) : zero;
            *reinterpret_cast<uint4*>(Vs + c * LDK + t) =
                in ? *reinterpret_cast<const uint4*>(v + (size_t)j * D + t) : zero;
        }
        __syncthreads();

        // 2. S = Q_w K_jᵀ (16 x BC), fp32
#pragma unroll
        for (int n = 0; n < BC / 16; ++n) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> s_frag;
            wmma::fill_fragment(s_frag, 0.f);
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> k_frag;  // Kᵀ, read in place
                wmma::load_matrix_sync(k_frag, Ks + n * 16 * LDK + kk * 16, LDK);
                wmma::mma_sync(s_frag, q_frag[kk], k_frag, s_frag);
            }
            wmma::store_matrix_sync(Sw + n * 16, s_frag, LDS, wmma::mem_row_major);
        }
        __syncwarp();

        // 3. online softmax on row r, columns [half * BC/2, (half+1) * BC/2)
        float* s_row = Sw + r * LDS;
        float tile_max = -INFINITY;
        for (int c = half * (BC / 2); c < (half + 1) * (BC / 2); ++c) {
            const float x = key_visible(j0 + c, row, n_k, pad_row, causal, diag) ? s_row[c] * scale_log2 : -INFINITY;
            s_row[c] = x;
            tile_max = fmaxf(tile_max, x);
        }
        tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
        const float m_new = fmaxf(m, tile_max);
        const float shift = m_new == -INFINITY ? 0.f : m_new;
        const float alpha = flash_exp2(m - shift);
        float p_sum = 0.f;
        for (int c = half * (BC / 2); c < (half + 1) * (BC / 2); ++c) {
            const float p = flash_exp2(s_row[c] - shift);
            Pw[r * LDP + c] = from_float<T>(p);
            p_sum += p;
        }
        p_sum += __shfl_xor_sync(0xffffffffu, p_sum, 1);
        l = alpha * l + p_sum;
        m = m_new;
        for (int t = half * (D / 2); t < (half + 1) * (D / 2); ++t) Ow[r * LDO + t] *= alpha;
        __syncwarp();

        // 4. O_w += P V_j
#pragma unroll
        for (int n = 0; n < D / 16; ++n) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> o_frag;
            wmma::load_matrix_sync(o_frag, Ow + n * 16, LDO, wmma::mem_row_major);
#pragma unroll
            for (int kk = 0; kk < BC / 16; ++kk) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> p_frag;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> v_frag;
                wmma::load_matrix_sync(p_frag, Pw + kk * 16, LDP);
                wmma::load_matrix_sync(v_frag, Vs + kk * 16 * LDK + n * 16, LDK);
                wmma::mma_sync(o_frag, p_frag, v_frag, o_frag);
            }
            wmma::store_matrix_sync(Ow + n * 16, o_frag, LDO, wmma::mem_row_major);
        }
        __syncwarp();
    }

    if (row < n_q) {
        const float inv = l > 0.f ? 1.f / l : 0.f;  // a fully masked row: output 0
        T* o = out + (size_t)row * D + (size_t)bh * n_q * D;
        for (int t = half * (D / 2); t < (half + 1) * (D / 2); ++t) o[t] = from_float<T>(Ow[r * LDO + t] * inv);
        if (half == 0) lse[(size_t)bh * n_q + row] = l > 0.f ? (m + log2f(l)) * FLASH_LN2 : -INFINITY;
    }
}

#ifndef FLASH_D
#define FLASH_D 64  // the head dimension; the loader compiles one module per D (16, 32, 64 or 128)
#endif
#define FLASH_WARPS 4

#define FLASH_FWD_WMMA(NAME, T)                                                                              \
    extern "C" __global__ void __launch_bounds__(32 * FLASH_WARPS)                                           \
        NAME(const T* q, const T* k, const T* v, const unsigned char* key_pad, T* out, float* lse, int heads, \
             int n_q, int n_k, float scale, int causal) {                                                    \
        flash_fwd_wmma<T, FLASH_D, FLASH_WARPS>(q, k, v, key_pad, out, lse, heads, n_q, n_k, scale, causal); \
    }

FLASH_FWD_WMMA(flash_fwd_wmma_f16, __half)
FLASH_FWD_WMMA(flash_fwd_wmma_bf16, __nv_bfloat16)
