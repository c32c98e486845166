// One streamed tile of FlashAttention's two backward kernels, for a warpgroup that owns 64 rows: 11_flash_bwd_tma.cu's
// arithmetic, which is 09_flash_bwd_wgmma.cu's (they differ in how the tiles reach shared memory). 09 keeps its
// own inline copy of these lines: calling these functions instead changed ptxas's register allocation for 09
// (d = 80's dK/dV kernel spilled 86 bytes instead of 16; on an H100 09's backward at d = 96, N = 4096 took
// 5.01 ms against 3.51, results/runtime-h100-2026-12-07-p call 2), while 11 with them spills nothing.
//
// dQ kernel (owned: Q, dO; streamed: K, V tiles of BT keys):
//     S = Q Kᵀ, dP = dO Vᵀ          two "rows times rows" products (ss wgmma, N = BT)
//     dS = exp2(S·scale·log2e − L·log2e) ∘ (dP − delta) · scale       (row-wise L, delta in registers)
//     dQ += dS K                    dS rounded to half is the A operand, from registers; K read N-major
// dK/dV kernel (owned: K, V; streamed: Q, dO tiles of BT queries, their L and delta in shared memory):
//     Sᵀ = K Qᵀ, dPᵀ = V dOᵀ;  Pᵀ, dSᵀ as above;  dV += Pᵀ dO,  dK += dSᵀ Q
// Two wgmma batches a tile (the scores, then the gradient accumulation), each waited on. The elementwise step
// is unswitched on the tile's `masked` flag (one uniform branch a tile): a tile every element of which is
// visible runs a loop with no per-element test, and a masked tile computes every exp2 and then selects, so no
// branch surrounds an exp2 (ncu had shown branch and scoreboard stalls; on an H100 the causal d = 64
// forward + backward went 0.85 -> 1.16x SDPA at N = 4096). Masks: causal top-left (causal 1) or bottom-right
// (causal 2, diagonal shifted by diag = n_k - n_q), padding (pad_row: this batch element's keys), edges.
#pragma once
#include "attention/flash_wgmma.cuh"

namespace fa {

// S = Q Kᵀ and dP = dO Vᵀ for the key tile (k_tile, v_tile) and this warpgroup's query rows (my_q, my_do: lines
// of tiles of own_rows rows): issued and committed as one group, not waited on.
template <bool BF16, int D, int BT>
__device__ __forceinline__ void dq_products(float (&s)[BT / 2], float (&dp)[BT / 2], unsigned my_q, unsigned my_do,
                                            int own_rows, unsigned k_tile, unsigned v_tile) {
    wgmma_fence();
    rows_times_rows<BF16, D, BT>(s, my_q, own_rows, k_tile, BT);    // S = Q Kᵀ
    rows_times_rows<BF16, D, BT>(dp, my_do, own_rows, v_tile, BT);  // dP = dO Vᵀ
    wgmma_commit();
}

// dS of the key tile at j0 from its waited-on S and dP, rounded to half as A fragments (rows: this thread's two
// rows, warp_row: its warp's first; lse2 = L log2 e, +inf for a row that sees no key).
template <bool BF16, int BT>
__device__ __forceinline__ void dq_ds(unsigned (&ds)[BT / 16][4], float (&s)[BT / 2], const float (&dp)[BT / 2],
                                      int j0, const int (&rows)[2], int warp_row, const float (&lse2)[2],
                                      const float (&row_delta)[2], float scale, int n_k, const unsigned char* pad_row,
                                      int has_pad, int causal, int diag) {
    const int t = threadIdx.x % 4;
    const float scale_log2 = scale * LOG2E;
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
    to_a_fragments<BF16, BT>(ds, s);
}

// dQ += dS K for the key tile at j0, every product waited on: dq_products, dq_ds, then the accumulation.
template <bool BF16, int D, int BT>
__device__ __forceinline__ void dq_tile(float (&dqa)[D / 2], unsigned my_q, unsigned my_do, int own_rows,
                                        unsigned k_tile, unsigned v_tile, int j0, const int (&rows)[2],
                                        int warp_row, const float (&lse2)[2], const float (&row_delta)[2],
                                        float scale, int n_k, const unsigned char* pad_row, int has_pad,
                                        int causal, int diag) {
    float s[BT / 2], dp[BT / 2];
    dq_products<BF16, D, BT>(s, dp, my_q, my_do, own_rows, k_tile, v_tile);
    wgmma_wait<0>();
    fence_acc(s);
    fence_acc(dp);
    unsigned ds[BT / 16][4];
    dq_ds<BF16, BT>(ds, s, dp, j0, rows, warp_row, lse2, row_delta, scale, n_k, pad_row, has_pad, causal, diag);
    wgmma_fence();
    regs_times_tile<BF16, D, BT>(dqa, ds, k_tile, BT);  // dQ += dS K
    wgmma_commit();
    wgmma_wait<0>();
    fence_acc(dqa);
    keep_until_here<BT>(ds);
}

// dV += Pᵀ dO, dK += dSᵀ Q for the query tile at i0 (q_tile, do_tile; Lt, Dt: its rows' L, natural log, and
// delta) and this warpgroup's keys (my_k, my_v: lines of tiles of own_rows rows, the block's first key j0;
// keys: this thread's two keys, key_ok: in range and not padding, warp_first_key: its warp's first).
template <bool BF16, int D, int BT>
__device__ __forceinline__ void dkdv_tile(float (&dka)[D / 2], float (&dva)[D / 2], unsigned my_k, unsigned my_v,
                                          int own_rows, unsigned q_tile, unsigned do_tile, const float* Lt,
                                          const float* Dt, int i0, int j0, const int (&keys)[2],
                                          const bool (&key_ok)[2], int warp_first_key, float scale, int n_q,
                                          int n_k, int has_pad, int causal, int diag) {
    const int t = threadIdx.x % 4;
    const float scale_log2 = scale * LOG2E;
    float p[BT / 2], ds[BT / 2];
    wgmma_fence();
    rows_times_rows<BF16, D, BT>(p, my_k, own_rows, q_tile, BT);    // Sᵀ = K Qᵀ
    rows_times_rows<BF16, D, BT>(ds, my_v, own_rows, do_tile, BT);  // dPᵀ = V dOᵀ
    wgmma_commit();
    wgmma_wait<0>();
    fence_acc(p);
    fence_acc(ds);
    const bool masked = i0 + BT > n_q || j0 + own_rows > n_k || has_pad || (causal && warp_first_key + 15 > i0 + diag);
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

}  // namespace fa
