// FlashAttention backward 09 -- level 2's 06 (two kernels, every output row with one writer: no atomics,
// deterministic) on Hopper's warpgroup MMA, with 08's tiles and products (flash_wgmma.cuh).
//
// dQ kernel: a warpgroup owns 64 query rows (Q, dO resident in shared memory) and streams K/V tiles of BT keys:
//     S = Q Kᵀ, dP = dO Vᵀ            two "rows times rows" products (ss wgmma, N = BT)
//     P = exp2(S·scale·log2e − L·log2e),  dS = P ∘ (dP − delta) · scale      (row-wise L, delta in registers)
//     dQ += dS K                      dS rounded to half is the A operand, from registers; K read N-major
// dK/dV kernel: a warpgroup owns 64 keys (K, V resident) and streams Q/dO tiles of BT queries, with their L and
// delta (double-buffered in shared memory, indexed by the column):
//     Sᵀ = K Qᵀ, dPᵀ = V dOᵀ;  Pᵀ, dSᵀ as above;  dV += Pᵀ dO,  dK += dSᵀ Q
// So each kernel is 08's loop with one more product: two wgmma batches per tile (the scores, then the gradient
// accumulation), waited on before the elementwise step. The streamed tiles are double-buffered with cp.async
// (zero-filled past N), fenced into the async proxy, then the block barrier -- as in 08. Masks (causal
// top-left / bottom-right, padding, edges) as in 06; causal tiles nobody in a warpgroup sees are skipped.
// The elementwise step is unswitched on the tile's `masked` flag (one uniform branch a tile): a tile every
// element of which is visible runs a loop with no per-element test, and a masked tile computes every exp2
// and then selects, so no branch surrounds an exp2 (ncu had shown branch and scoreboard stalls; on an H100
// the causal d = 64 forward + backward went 0.85 -> 1.16x SDPA at N = 4096).
#include "attention/flash_wgmma.cuh"

#ifndef FLASH_D
#define FLASH_D 64  // head dimension: 64, 80, 96 or 128
#endif
#ifndef FLASH_BT
#define FLASH_BT 64  // rows of a streamed tile (keys for dQ, queries for dK/dV): 64 or 128
#endif
#ifndef FLASH_WG
#define FLASH_WG 2  // warpgroups per block, 64 owned rows each
#endif
#ifndef FLASH_MIN_BLOCKS
#define FLASH_MIN_BLOCKS 1
#endif

constexpr int D = FLASH_D, BT = FLASH_BT, BR = 64 * FLASH_WG, THREADS = 128 * FLASH_WG;
constexpr unsigned OWN_BYTES = ((D + 63) / 64) * BR * 128, TILE_BYTES = ((D + 63) / 64) * BT * 128;
static_assert(D % 16 == 0 && D >= 64 && D <= 128, "head dimension 64 .. 128, a multiple of 16");
static_assert(BT == 64 || BT == 128, "64 or 128 rows per streamed tile");

template <bool BF16>
__device__ void flash_bwd_dq_wgmma(const unsigned short* __restrict__ q, const unsigned short* __restrict__ k,
                                   const unsigned short* __restrict__ v, const unsigned short* __restrict__ dout,
                                   const float* __restrict__ lse, const float* __restrict__ delta,
                                   const unsigned char* __restrict__ key_pad, unsigned short* __restrict__ dq,
                                   int heads, int n_q, int n_k, float scale, int causal, int has_pad, int group) {
    using namespace fa;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    const unsigned own = (smem_addr(smem_raw) + 1023) & ~1023u;  // Q | dO | stage 0: K, V | stage 1: K, V
    const unsigned tiles = own + 2 * OWN_BYTES;
    const int wg = threadIdx.x / 128, warp = (threadIdx.x % 128) / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t = lane % 4;
    int rank, bh;
    block_tile(group, rank, bh);
    const int q0 = (causal ? gridDim.x - 1 - rank : rank) * BR;  // causal: the last query rows see the most keys
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    dout += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    lse += (size_t)bh * n_q;
    delta += (size_t)bh * n_q;
    const int diag = causal == 2 ? n_k - n_q : 0;
    const int kv_end = causal ? min(n_k, max(0, q0 + BR + diag)) : n_k;
    const int n_tiles = (kv_end + BT - 1) / BT;

    load_rows<D, BR, THREADS>(own, q, q0, n_q);
    load_rows<D, BR, THREADS>(own + OWN_BYTES, dout, q0, n_q);
    if (n_tiles > 0) {
        load_rows<D, BT, THREADS>(tiles, k, 0, n_k);
        load_rows<D, BT, THREADS>(tiles + TILE_BYTES, v, 0, n_k);
    }
    cp_async_commit();

    const int warp_row = q0 + wg * 64 + warp * 16, rows[2] = {warp_row + g, warp_row + g + 8};
    const int group_last_row = q0 + wg * 64 + 63;
    float lse2[2], row_delta[2];  // a row past N_q or that sees no key: L = +inf, so P = exp2(-inf) = 0
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const float L = rows[h] < n_q ? lse[rows[h]] : -INFINITY;
        lse2[h] = L == -INFINITY ? INFINITY : L * LOG2E;
        row_delta[h] = rows[h] < n_q ? delta[rows[h]] : 0.f;
    }
    float dqa[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) dqa[i] = 0.f;
    const unsigned my_q = own + wg * 64 * 128, my_do = my_q + OWN_BYTES;
    const float scale_log2 = scale * LOG2E;

    for (int it = 0; it < n_tiles; ++it) {
        const int stage = it & 1, j0 = it * BT;
        if (it + 1 < n_tiles) {
            load_rows<D, BT, THREADS>(tiles + (stage ^ 1) * 2 * TILE_BYTES, k, j0 + BT, n_k);
            load_rows<D, BT, THREADS>(tiles + (stage ^ 1) * 2 * TILE_BYTES + TILE_BYTES, v, j0 + BT, n_k);
        }
        cp_async_commit();
        cp_async_wait<1>();
        fence_proxy_async();
        __syncthreads();
        const unsigned k_tile = tiles + stage * 2 * TILE_BYTES, v_tile = k_tile + TILE_BYTES;
        if (!(causal && j0 > group_last_row + diag)) {
            float s[BT / 2], dp[BT / 2];
            wgmma_fence();
            rows_times_rows<BF16, D, BT>(s, my_q, BR, k_tile, BT);    // S = Q Kᵀ
            rows_times_rows<BF16, D, BT>(dp, my_do, BR, v_tile, BT);  // dP = dO Vᵀ
            wgmma_commit();
            wgmma_wait<0>();
            fence_acc(s);
            fence_acc(dp);
            const bool masked = j0 + BT > n_k || has_pad || (causal && j0 + BT - 1 > warp_row + diag);
            if (!masked) {  // the loop unswitched: no per-element branch where every element is visible
#pragma unroll
                for (int i = 0; i < BT / 2; ++i) {
                    const int h = (i >> 1) & 1;
                    s[i] = fast_exp2(s[i] * scale_log2 - lse2[h]) * (dp[i] - row_delta[h]) * scale;  // dS
                }
            } else {
#pragma unroll
                for (int i = 0; i < BT / 2; ++i) {
                    const int j = j0 + (i / 4) * 8 + 2 * t + (i & 1), h = (i >> 1) & 1;
                    const bool visible = j < n_k && !(has_pad && pad_row[j]) && !(causal && j > rows[h] + diag);
                    const float e = fast_exp2(s[i] * scale_log2 - lse2[h]);  // computed, then selected
                    s[i] = (visible ? e : 0.f) * (dp[i] - row_delta[h]) * scale;  // dS
                }
            }
            unsigned ds[BT / 16][4];
            to_a_fragments<BF16, BT>(ds, s);
            wgmma_fence();
            regs_times_tile<BF16, D, BT>(dqa, ds, k_tile, BT);  // dQ += dS K
            wgmma_commit();
            wgmma_wait<0>();
            fence_acc(dqa);
            keep_until_here<BT>(ds);
        }
        __syncthreads();
    }
    store_rows<BF16, D>(dq + (size_t)bh * n_q * D, dqa, rows, n_q);
}

template <bool BF16>
__device__ void flash_bwd_dkdv_wgmma(const unsigned short* __restrict__ q, const unsigned short* __restrict__ k,
                                     const unsigned short* __restrict__ v, const unsigned short* __restrict__ dout,
                                     const float* __restrict__ lse, const float* __restrict__ delta,
                                     const unsigned char* __restrict__ key_pad, unsigned short* __restrict__ dk,
                                     unsigned short* __restrict__ dv, int heads, int n_q, int n_k, float scale,
                                     int causal, int has_pad, int group) {
    using namespace fa;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    const unsigned raw = smem_addr(smem_raw), own = (raw + 1023) & ~1023u;  // K | V | 2 stages of Q, dO | stats
    const unsigned tiles = own + 2 * OWN_BYTES;
    float* Ls = reinterpret_cast<float*>(smem_raw + (tiles + 4 * TILE_BYTES - raw));  // [2][BT] L (natural log)
    float* Ds = Ls + 2 * BT;                                                           // [2][BT] delta
    const int wg = threadIdx.x / 128, warp = (threadIdx.x % 128) / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t = lane % 4;
    int rank, bh;
    block_tile(group, rank, bh);
    const int j0 = rank * BR;  // causal: the first keys are seen by the most queries
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    dout += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    lse += (size_t)bh * n_q;
    delta += (size_t)bh * n_q;
    const int diag = causal == 2 ? n_k - n_q : 0;
    const int i_begin = causal ? (max(0, j0 - diag) / BT) * BT : 0;  // earlier queries see none of these keys
    const int n_tiles = i_begin < n_q ? (n_q - i_begin + BT - 1) / BT : 0;

    // L and delta of one query tile, copied asynchronously with the tile (a plain load here stalled every tile
    // on global latency). L stays in natural-log units: every entry the loop below uses is visible, and a visible
    // query row has a finite L (rows past n_q, fully masked rows: masked tiles, P = 0 without reading L).
    auto load_stats = [&](int stage, int i0) {
        const unsigned ls_shared = smem_addr(Ls + stage * BT), ds_shared = smem_addr(Ds + stage * BT);
        for (int idx = threadIdx.x; idx < BT; idx += THREADS) {
            const int i = i0 + idx;
            cp_async4(ls_shared + 4 * idx, lse + (i < n_q ? i : 0), i < n_q);
            cp_async4(ds_shared + 4 * idx, delta + (i < n_q ? i : 0), i < n_q);  // 0 past n_q
        }
    };
    load_rows<D, BR, THREADS>(own, k, j0, n_k);
    load_rows<D, BR, THREADS>(own + OWN_BYTES, v, j0, n_k);
    if (n_tiles > 0) {
        load_rows<D, BT, THREADS>(tiles, q, i_begin, n_q);
        load_rows<D, BT, THREADS>(tiles + TILE_BYTES, dout, i_begin, n_q);
        load_stats(0, i_begin);
    }
    cp_async_commit();

    const int warp_first_key = j0 + wg * 64 + warp * 16, group_first_key = j0 + wg * 64;
    const int keys[2] = {warp_first_key + g, warp_first_key + g + 8};
    bool key_ok[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) key_ok[h] = keys[h] < n_k && !(has_pad && pad_row[keys[h]]);
    float dka[D / 2], dva[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) dka[i] = dva[i] = 0.f;
    const unsigned my_k = own + wg * 64 * 128, my_v = my_k + OWN_BYTES;
    const float scale_log2 = scale * LOG2E;

    for (int it = 0; it < n_tiles; ++it) {
        const int stage = it & 1, i0 = i_begin + it * BT;
        if (it + 1 < n_tiles) {
            load_rows<D, BT, THREADS>(tiles + (stage ^ 1) * 2 * TILE_BYTES, q, i0 + BT, n_q);
            load_rows<D, BT, THREADS>(tiles + (stage ^ 1) * 2 * TILE_BYTES + TILE_BYTES, dout, i0 + BT, n_q);
            load_stats(stage ^ 1, i0 + BT);
        }
        cp_async_commit();
        cp_async_wait<1>();
        fence_proxy_async();
        __syncthreads();
        const unsigned q_tile = tiles + stage * 2 * TILE_BYTES, do_tile = q_tile + TILE_BYTES;
        const float* Lt = Ls + stage * BT;
        const float* Dt = Ds + stage * BT;
        if (!(causal && group_first_key > i0 + BT - 1 + diag)) {  // else no query of the tile sees these keys
            float p[BT / 2], ds[BT / 2];
            wgmma_fence();
            rows_times_rows<BF16, D, BT>(p, my_k, BR, q_tile, BT);    // Sᵀ = K Qᵀ
            rows_times_rows<BF16, D, BT>(ds, my_v, BR, do_tile, BT);  // dPᵀ = V dOᵀ
            wgmma_commit();
            wgmma_wait<0>();
            fence_acc(p);
            fence_acc(ds);
            const bool masked = i0 + BT > n_q || j0 + BR > n_k || has_pad ||
                                (causal && warp_first_key + 15 > i0 + diag);
            if (!masked) {  // the loop unswitched: no per-element branch where every element is visible
#pragma unroll
                for (int i = 0; i < BT / 2; ++i) {
                    const int col = (i / 4) * 8 + 2 * t + (i & 1);
                    p[i] = fast_exp2(p[i] * scale_log2 - Lt[col] * LOG2E);
                    ds[i] = p[i] * (ds[i] - Dt[col]) * scale;
                }
            } else {
#pragma unroll
                for (int i = 0; i < BT / 2; ++i) {
                    const int col = (i / 4) * 8 + 2 * t + (i & 1), query = i0 + col, h = (i >> 1) & 1;
                    const bool visible = key_ok[h] && query < n_q && !(causal && keys[h] > query + diag);
                    const float e = fast_exp2(p[i] * scale_log2 - Lt[col] * LOG2E);  // computed, then selected
                    p[i] = visible ? e : 0.f;
                    ds[i] = p[i] * (ds[i] - Dt[col]) * scale;
                }
            }
            unsigned pa[BT / 16][4], dsa[BT / 16][4];
            to_a_fragments<BF16, BT>(pa, p);
            to_a_fragments<BF16, BT>(dsa, ds);
            wgmma_fence();
            regs_times_tile<BF16, D, BT>(dva, pa, do_tile, BT);  // dV += Pᵀ dO
            regs_times_tile<BF16, D, BT>(dka, dsa, q_tile, BT);  // dK += dSᵀ Q
            wgmma_commit();
            wgmma_wait<0>();
            fence_acc(dva);
            fence_acc(dka);
            keep_until_here<BT>(pa);
            keep_until_here<BT>(dsa);
        }
        __syncthreads();
    }
    store_rows<BF16, D>(dk + (size_t)bh * n_k * D, dka, keys, n_k);
    store_rows<BF16, D>(dv + (size_t)bh * n_k * D, dva, keys, n_k);
}

// Dynamic shared memory: 2 OWN_BYTES + 4 TILE_BYTES + 1024 (alignment), + 16 BT for dK/dV's statistics.
#define FLASH_BWD_WGMMA(SUFFIX, BF16)                                                                          \
    extern "C" __global__ void __launch_bounds__(THREADS, FLASH_MIN_BLOCKS)                                    \
        flash_bwd_dq_wgmma_##SUFFIX(const unsigned short* q, const unsigned short* k, const unsigned short* v,  \
                                    const unsigned short* dout, const float* lse, const float* delta,          \
                                    const unsigned char* key_pad, unsigned short* dq, int heads, int n_q,      \
                                    int n_k, float scale, int causal, int has_pad, int group) {                \
        flash_bwd_dq_wgmma<BF16>(q, k, v, dout, lse, delta, key_pad, dq, heads, n_q, n_k, scale, causal,       \
                                 has_pad, group);                                                              \
    }                                                                                                          \
    extern "C" __global__ void __launch_bounds__(THREADS, FLASH_MIN_BLOCKS)                                    \
        flash_bwd_dkdv_wgmma_##SUFFIX(const unsigned short* q, const unsigned short* k,                        \
                                      const unsigned short* v, const unsigned short* dout, const float* lse,   \
                                      const float* delta, const unsigned char* key_pad, unsigned short* dk,    \
                                      unsigned short* dv, int heads, int n_q, int n_k, float scale,            \
                                      int causal, int has_pad, int group) {                                    \
        flash_bwd_dkdv_wgmma<BF16>(q, k, v, dout, lse, delta, key_pad, dk, dv, heads, n_q, n_k, scale, causal, \
                                   has_pad, group);                                                            \
    }

FLASH_BWD_WGMMA(f16, false)
FLASH_BWD_WGMMA(bf16, true)
