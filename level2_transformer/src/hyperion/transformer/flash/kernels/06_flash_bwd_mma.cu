// FlashAttention-2 backward in fp16 / bf16 on tensor cores: 02's two-kernel plan, 05's register design.
//
// 02 runs the backward on SIMT cores, one thread per row. Here every product is an mma.sync, and the
// trick of 04/05 — an accumulator fragment, rounded to half, *is* the A fragment of the next product —
// is applied twice per kernel, so P and dS never leave the registers and nothing is transposed:
//
// dQ kernel (queries as rows, like the forward; a block owns 64 query rows, 4 warps x 16):
//     S = Q Kᵀ, dP = dO Vᵀ            (A: Q, dO kept in registers; B: K, V tiles by ldmatrix)
//     P = exp2(S·scale·log2e − L·log2e),  dS = P ∘ (dP − delta) · scale      (row-wise L, delta)
//     dQ += dS K                      (A: dS from the registers; B: K tile by ldmatrix.trans)
// dK/dV kernel (keys as rows: it computes the transposed scores; a block owns 64 keys):
//     Sᵀ = K Qᵀ, dPᵀ = V dOᵀ          (A: K, V kept in registers; B: Q, dO tiles by ldmatrix)
//     Pᵀ, dSᵀ as above, with L and delta indexed by the column (the query)
//     dV += Pᵀ dO,  dK += dSᵀ Q       (A: Pᵀ, dSᵀ from the registers; B: dO, Q tiles by ldmatrix.trans)
// S is recomputed in both kernels, but every output row has one writer (no atomics, deterministic).
// Tiles of the streamed operand (K, V or Q, dO) are double-buffered with cp.async, swizzled as in 05.
// P and dS are rounded to half before their mma (as FlashAttention-2 does); accumulation is fp32.
// Masks as in 05: causal (1 top-left, 2 bottom-right), padding, N not a multiple of 64.
#include "common.cuh"
#include "mma_sm80.cuh"

namespace bwd {
using namespace sm80;

// A fragments (16 rows x D) of rows row0.. of a swizzled tile, kept for the whole sweep.
template <typename T, int D>
__device__ __forceinline__ void load_a(unsigned (&a)[D / 16][4], const T* tile, int row0, int mi, int mr) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) ldsm_x4(a[kk], tile + swizzle<D>(row0 + (mi & 1) * 8 + mr, kk * 16 + (mi >> 1) * 8));
}

// acc (16 x NC) = A (16 x D, registers) · tileᵀ, the tile holding NC rows of D: "rows times rows".
template <typename T, int D, int NC>
__device__ __forceinline__ void times_rows(float (&acc)[NC / 8][4], const unsigned (&a)[D / 16][4], const T* tile,
                                           int mi, int mr) {
#pragma unroll
    for (int n = 0; n < NC / 8; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
#pragma unroll
        for (int np = 0; np < NC / 16; ++np) {
            unsigned b[4];
            ldsm_x4(b, tile + swizzle<D>(np * 16 + (mi >> 1) * 8 + mr, kk * 16 + (mi & 1) * 8));
            Mma<T>::run(acc[2 * np], a[kk], b[0], b[1]);
            Mma<T>::run(acc[2 * np + 1], a[kk], b[2], b[3]);
        }
}

// out (16 x D) += X (16 x NK, fp32 accumulator fragments, rounded to half) · tile (NK rows of D).
template <typename T, int D, int NK>
__device__ __forceinline__ void accumulate(float (&out)[D / 8][4], const float (&x)[NK / 8][4], const T* tile, int mi,
                                           int mr) {
#pragma unroll
    for (int kk = 0; kk < NK / 16; ++kk) {
        unsigned xa[4];
        xa[0] = Mma<T>::pack(x[2 * kk][0], x[2 * kk][1]);
        xa[1] = Mma<T>::pack(x[2 * kk][2], x[2 * kk][3]);
        xa[2] = Mma<T>::pack(x[2 * kk + 1][0], x[2 * kk + 1][1]);
        xa[3] = Mma<T>::pack(x[2 * kk + 1][2], x[2 * kk + 1][3]);
#pragma unroll
        for (int np = 0; np < D / 16; ++np) {
            unsigned b[4];
            ldsm_x4_trans(b, tile + swizzle<D>(kk * 16 + (mi & 1) * 8 + mr, np * 16 + (mi >> 1) * 8));
            Mma<T>::run(out[2 * np], xa, b[0], b[1]);
            Mma<T>::run(out[2 * np + 1], xa, b[2], b[3]);
        }
    }
}

template <typename T, int D>
__device__ __forceinline__ void store_rows(T* dst, const float (&acc)[D / 8][4], const int (&rows)[2], int n_rows,
                                           int t) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        if (rows[h] >= n_rows) continue;
#pragma unroll
        for (int n = 0; n < D / 8; ++n)
            *reinterpret_cast<unsigned*>(dst + (size_t)rows[h] * D + n * 8 + 2 * t) =
                Mma<T>::pack(acc[n][2 * h], acc[n][2 * h + 1]);
    }
}

}  // namespace bwd

constexpr int BWD_TILE = 64, BWD_THREADS = 128;  // 64 rows a block and a tile, 4 warps x 16 rows

template <typename T, int D>
__device__ void flash_bwd_dq_mma(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                 const T* __restrict__ dout, const float* __restrict__ lse,
                                 const float* __restrict__ delta, const unsigned char* __restrict__ key_pad,
                                 T* __restrict__ dq, int heads, int n_q, int n_k, float scale, int causal, int has_pad) {
    using namespace bwd;
    constexpr int BR = BWD_TILE, BC = BWD_TILE;
    extern __shared__ __align__(128) unsigned char smem[];
    T* Qs = reinterpret_cast<T*>(smem);  // [BR][D], dO [BR][D], then K and V stages [2][BC][D] each
    T* dOs = Qs + BR * D;
    T* Ks = dOs + BR * D;
    T* Vs = Ks + 2 * BC * D;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4, mi = lane / 8, mr = lane % 8;
    // causal: the last query blocks see the most keys; launch them first so the short ones fill the tail
    const int bh = blockIdx.y, q0 = (causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x) * BR;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    dout += (size_t)bh * n_q * D;
    dq += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    lse += (size_t)bh * n_q;
    delta += (size_t)bh * n_q;
    const int diag = causal_diag(causal, n_q, n_k);
    const int kv_end = causal ? min(n_k, max(0, q0 + BR + diag)) : n_k;
    const int n_tiles = (kv_end + BC - 1) / BC;

    load_tile<T, D, BR, BWD_THREADS>(Qs, q, q0, n_q);
    load_tile<T, D, BR, BWD_THREADS>(dOs, dout, q0, n_q);
    if (n_tiles > 0) {
        load_tile<T, D, BC, BWD_THREADS>(Ks, k, 0, n_k);
        load_tile<T, D, BC, BWD_THREADS>(Vs, v, 0, n_k);
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    unsigned qa[D / 16][4], doa[D / 16][4];
    load_a<T, D>(qa, Qs, warp * 16, mi, mr);
    load_a<T, D>(doa, dOs, warp * 16, mi, mr);

    const int rows[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};
    float lse2[2], row_delta[2];  // a row past N_q or that sees no key: L = +inf, so P = exp2(-inf) = 0
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const float L = rows[h] < n_q ? lse[rows[h]] : -INFINITY;
        lse2[h] = L == -INFINITY ? INFINITY : L * FLASH_LOG2E;
        row_delta[h] = rows[h] < n_q ? delta[rows[h]] : 0.f;
    }
    float dqa[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; ++n) dqa[n][0] = dqa[n][1] = dqa[n][2] = dqa[n][3] = 0.f;
    const float scale_log2 = scale * FLASH_LOG2E;
    const int warp_last_row = q0 + warp * 16 + 15;

    for (int it = 0; it < n_tiles; ++it) {
        const int stage = it & 1, j0 = it * BC;
        if (it + 1 < n_tiles) {
            load_tile<T, D, BC, BWD_THREADS>(Ks + (stage ^ 1) * BC * D, k, j0 + BC, n_k);
            load_tile<T, D, BC, BWD_THREADS>(Vs + (stage ^ 1) * BC * D, v, j0 + BC, n_k);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        const T* Kt = Ks + stage * BC * D;
        const T* Vt = Vs + stage * BC * D;
        if (!(causal && j0 > warp_last_row + diag)) {
            float s[BC / 8][4], dp[BC / 8][4];
            times_rows<T, D, BC>(s, qa, Kt, mi, mr);
            times_rows<T, D, BC>(dp, doa, Vt, mi, mr);
            const bool masked = j0 + BC > n_k || has_pad || (causal && j0 + BC - 1 > q0 + warp * 16 + diag);
#pragma unroll
            for (int n = 0; n < BC / 8; ++n)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int j = j0 + n * 8 + 2 * t + (e & 1), h = e >> 1;
                    const bool visible =
                        !masked || (j < n_k && !(has_pad && pad_row[j]) && !(causal && j > rows[h] + diag));
                    const float p = visible ? flash_exp2(s[n][e] * scale_log2 - lse2[h]) : 0.f;
                    s[n][e] = p * (dp[n][e] - row_delta[h]) * scale;  // dS
                }
            accumulate<T, D, BC>(dqa, s, Kt, mi, mr);  // dQ += dS K
        }
        __syncthreads();
    }
    store_rows<T, D>(dq, dqa, rows, n_q, t);
}

template <typename T, int D>
__device__ void flash_bwd_dkdv_mma(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                   const T* __restrict__ dout, const float* __restrict__ lse,
                                   const float* __restrict__ delta, const unsigned char* __restrict__ key_pad,
                                   T* __restrict__ dk, T* __restrict__ dv, int heads, int n_q, int n_k, float scale,
                                   int causal, int has_pad) {
    using namespace bwd;
    constexpr int BC = BWD_TILE, BQ = BWD_TILE;
    extern __shared__ __align__(128) unsigned char smem[];
    T* Ks = reinterpret_cast<T*>(smem);  // [BC][D], V [BC][D], Q and dO stages [2][BQ][D], then L, delta [2][BQ]
    T* Vs = Ks + BC * D;
    T* Qs = Vs + BC * D;
    T* dOs = Qs + 2 * BQ * D;
    float* Ls = reinterpret_cast<float*>(dOs + 2 * BQ * D);
    float* Ds = Ls + 2 * BQ;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4, mi = lane / 8, mr = lane % 8;
    const int bh = blockIdx.y, j0 = blockIdx.x * BC;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    dout += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    dk += (size_t)bh * n_k * D;
    dv += (size_t)bh * n_k * D;
    lse += (size_t)bh * n_q;
    delta += (size_t)bh * n_q;
    const int diag = causal_diag(causal, n_q, n_k);
    const int i_begin = causal ? (max(0, j0 - diag) / BQ) * BQ : 0;  // earlier queries see none of these keys
    const int n_tiles = i_begin < n_q ? (n_q - i_begin + BQ - 1) / BQ : 0;

    auto load_stats = [&](int stage, int i0) {  // log2-scaled L (+inf: P = 0) and delta of one query tile
        for (int idx = threadIdx.x; idx < BQ; idx += BWD_THREADS) {
            const int i = i0 + idx;
            const float L = i < n_q ? lse[i] : -INFINITY;
            Ls[stage * BQ + idx] = L == -INFINITY ? INFINITY : L * FLASH_LOG2E;
            Ds[stage * BQ + idx] = i < n_q ? delta[i] : 0.f;
        }
    };
    load_tile<T, D, BC, BWD_THREADS>(Ks, k, j0, n_k);
    load_tile<T, D, BC, BWD_THREADS>(Vs, v, j0, n_k);
    if (n_tiles > 0) {
        load_tile<T, D, BQ, BWD_THREADS>(Qs, q, i_begin, n_q);
        load_tile<T, D, BQ, BWD_THREADS>(dOs, dout, i_begin, n_q);
        load_stats(0, i_begin);
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    unsigned ka[D / 16][4], va[D / 16][4];
    load_a<T, D>(ka, Ks, warp * 16, mi, mr);
    load_a<T, D>(va, Vs, warp * 16, mi, mr);

    const int keys[2] = {j0 + warp * 16 + g, j0 + warp * 16 + g + 8};
    bool key_ok[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) key_ok[h] = keys[h] < n_k && !(has_pad && pad_row[keys[h]]);
    float dka[D / 8][4], dva[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) dka[n][e] = dva[n][e] = 0.f;
    const float scale_log2 = scale * FLASH_LOG2E;
    const int warp_first_key = j0 + warp * 16;

    for (int it = 0; it < n_tiles; ++it) {
        const int stage = it & 1, i0 = i_begin + it * BQ;
        if (it + 1 < n_tiles) {
            load_tile<T, D, BQ, BWD_THREADS>(Qs + (stage ^ 1) * BQ * D, q, i0 + BQ, n_q);
            load_tile<T, D, BQ, BWD_THREADS>(dOs + (stage ^ 1) * BQ * D, dout, i0 + BQ, n_q);
            load_stats(stage ^ 1, i0 + BQ);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        const T* Qt = Qs + stage * BQ * D;
        const T* dOt = dOs + stage * BQ * D;
        const float* Lt = Ls + stage * BQ;
        const float* Dt = Ds + stage * BQ;
        if (!(causal && warp_first_key > i0 + BQ - 1 + diag)) {  // else no query of the tile sees these keys
            float p[BQ / 8][4], ds[BQ / 8][4];
            times_rows<T, D, BQ>(p, ka, Qt, mi, mr);   // Sᵀ
            times_rows<T, D, BQ>(ds, va, dOt, mi, mr);  // dPᵀ
            const bool masked = i0 + BQ > n_q || j0 + BC > n_k || has_pad ||
                                (causal && warp_first_key + 15 > i0 + diag);
#pragma unroll
            for (int n = 0; n < BQ / 8; ++n)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int col = n * 8 + 2 * t + (e & 1), i = i0 + col, h = e >> 1;
                    const bool visible = !masked || (key_ok[h] && i < n_q && !(causal && keys[h] > i + diag));
                    const float pt = visible ? flash_exp2(p[n][e] * scale_log2 - Lt[col]) : 0.f;
                    p[n][e] = pt;
                    ds[n][e] = pt * (ds[n][e] - Dt[col]) * scale;
                }
            accumulate<T, D, BQ>(dva, p, dOt, mi, mr);  // dV += Pᵀ dO
            accumulate<T, D, BQ>(dka, ds, Qt, mi, mr);  // dK += dSᵀ Q
        }
        __syncthreads();
    }
    store_rows<T, D>(dk, dka, keys, n_k, t);
    store_rows<T, D>(dv, dva, keys, n_k, t);
}

#ifndef FLASH_D
#define FLASH_D 64  // the head dimension, a multiple of 16; the loader compiles one module per D (16 ... 128)
#endif

// Dynamic shared memory: dQ kernel 6 * 64 * FLASH_D * 2 bytes; dK/dV kernel that + 4 * 64 * 4 bytes.
#define FLASH_BWD_MMA(SUFFIX, T)                                                                              \
    extern "C" __global__ void __launch_bounds__(BWD_THREADS)                                                 \
        flash_bwd_dq_mma_##SUFFIX(const T* q, const T* k, const T* v, const T* dout, const float* lse,        \
                                  const float* delta, const unsigned char* key_pad, T* dq, int heads, int n_q, \
                                  int n_k, float scale, int causal, int has_pad) {                            \
        flash_bwd_dq_mma<T, FLASH_D>(q, k, v, dout, lse, delta, key_pad, dq, heads, n_q, n_k, scale, causal,  \
                                     has_pad);                                                                \
    }                                                                                                         \
    extern "C" __global__ void __launch_bounds__(BWD_THREADS)                                                 \
        flash_bwd_dkdv_mma_##SUFFIX(const T* q, const T* k, const T* v, const T* dout, const float* lse,      \
                                    const float* delta, const unsigned char* key_pad, T* dk, T* dv, int heads, \
                                    int n_q, int n_k, float scale, int causal, int has_pad) {                 \
        flash_bwd_dkdv_mma<T, FLASH_D>(q, k, v, dout, lse, delta, key_pad, dk, dv, heads, n_q, n_k, scale,    \
                                       causal, has_pad);                                                      \
    }

FLASH_BWD_MMA(f16, __half)
FLASH_BWD_MMA(bf16, __nv_bfloat16)

// delta[r] = sum_c dO[r][c] * O[r][c] in fp32 (the row term of dS), one warp per row of `cols` elements:
// one launch instead of the four array operations (cast, cast, multiply, reduce) it replaces.
template <typename T>
__device__ void flash_bwd_delta(const T* __restrict__ dout, const T* __restrict__ out, float* __restrict__ delta,
                                int rows, int cols) {
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) return;
    float sum = 0.f;
    for (int c = lane; c < cols; c += 32) sum += to_float(dout[(size_t)row * cols + c]) * to_float(out[(size_t)row * cols + c]);
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0) delta[row] = sum;
}
extern "C" __global__ void flash_bwd_delta_f16(const __half* dout, const __half* out, float* delta, int rows, int cols) {
    flash_bwd_delta(dout, out, delta, rows, cols);
}
extern "C" __global__ void flash_bwd_delta_f32(const float* dout, const float* out, float* delta, int rows, int cols) {
    flash_bwd_delta(dout, out, delta, rows, cols);  // the bf16 path: float32 arrays rounded to bf16 later
}
