// FlashAttention forward 10 -- 08 with FlashAttention-3's two next steps (Shah et al. 2024, sec. 3.1-3.2):
// the tiles moved by the copy engine for a producer warpgroup, and one tile's softmax overlapped with the
// tensor cores' work on its neighbours.
//  * 08 loads K/V with cp.async from every thread and stops the whole block at a barrier per tile. Here
//    warpgroup 0 is a producer (as in matmul 14): one thread asks the copy engine (TMA) for Q once and for
//    each K and V tile, into a ring of FLASH_STAGES stages. The tensors are described to it as 3-D maps
//    (d inner, N, batch x heads; cuTensorMapEncodeTiled on the host), so rows past a head's N arrive as zeros
//    -- never the next head's rows -- and the 128-byte swizzle is the one 08's tiles have. K and V have
//    their own "full" mbarriers (S = Q Kᵀ starts before V has landed); a stage's "empty" barrier completes
//    when every consumer warp has released it. No block-wide barrier in the loop.
//  * Warpgroups 1 .. FLASH_WG consume, 64 query rows each, with 08's arithmetic in a different order
//    (FlashAttention-3's intra-warpgroup pipelining): the tensor cores get S_t = Q K_tᵀ and O += P_{t-1} V_{t-1}
//    issued back to back; the warpgroup waits for S_t only and does its softmax while P_{t-1} V_{t-1} runs, then
//    waits for that, rescales O by the new running maximum and releases stage t - 1. P_{t-1}'s registers are
//    read by the running wgmma, so the new probabilities stay in fp32 until it has finished.
//  * setmaxnreg hands the producer's registers to the consumers (14's split).
// Masks, causal skipping and block order are 08's; a consumer whose causal rows need fewer tiles than the
// block loads still waits for and releases the rest (the ring's phases count every consumer warp).
#include "attention/flash_tma.cuh"

#ifndef FLASH_D
#define FLASH_D 64  // head dimension: 64, 80, 96 or 128
#endif
#ifndef FLASH_BC
#define FLASH_BC 128  // keys per K/V tile: 64 or 128
#endif
#ifndef FLASH_WG
#define FLASH_WG 2  // consumer warpgroups per block (64 query rows each)
#endif
#ifndef FLASH_STAGES
#define FLASH_STAGES 2  // K/V tiles in the ring
#endif
#ifndef FLASH_MIN_BLOCKS
#define FLASH_MIN_BLOCKS 1  // blocks an SM: __launch_bounds__ gives each thread 65536 / (threads x this) registers
#endif

constexpr int D = FLASH_D, BC = FLASH_BC, CONSUMERS = FLASH_WG, STAGES = FLASH_STAGES;
constexpr int BR = 64 * CONSUMERS, THREADS = 128 * (CONSUMERS + 1), SLABS = (D + 63) / 64;
constexpr unsigned Q_BYTES = SLABS * BR * 128, KV_BYTES = SLABS * BC * 128;  // multiples of 1024
static_assert(D % 16 == 0 && D >= 64 && D <= 128, "head dimension 64 .. 128, a multiple of 16");
static_assert(BC == 64 || BC == 128, "64 or 128 keys per tile");
static_assert(CONSUMERS >= 1 && CONSUMERS <= 3 && STAGES >= 2, "1-3 consumer warpgroups, 2+ stages");
using Registers = fa::RegisterSplit<THREADS, FLASH_MIN_BLOCKS, CONSUMERS>;  // flash_tma.cuh

template <bool BF16>
__device__ void flash_fwd_tma(const TensorMap* map_q, const TensorMap* map_k, const TensorMap* map_v,
                              const unsigned char* __restrict__ key_pad, unsigned short* __restrict__ out,
                              float* __restrict__ lse, int heads, int n_q, int n_k, float scale, int causal,
                              int has_pad, int group) {
    using namespace fa;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    __shared__ __align__(8) unsigned long long q_full, k_full[STAGES], v_full[STAGES], empty[STAGES];
    const unsigned raw = smem_addr(smem_raw), q_tile = (raw + 1023) & ~1023u;  // Q | K0 | V0 | K1 | V1 ...
    const unsigned kv_tiles = q_tile + Q_BYTES;                                 // stage s: K at + 2 s KV_BYTES

    const int wg = threadIdx.x / 128;
    int rank, bh;
    block_tile(group, rank, bh);
    const int q0 = (causal ? gridDim.x - 1 - rank : rank) * BR;  // causal: the last query rows see the most keys
    const int diag = causal == 2 ? n_k - n_q : 0;              // 1: top-left (PyTorch's is_causal), 2: bottom-right
    const int kv_end = causal ? min(n_k, max(0, q0 + BR + diag)) : n_k;
    const int n_tiles = (kv_end + BC - 1) / BC;

    if (threadIdx.x == 0) {
        mbar_init(smem_addr(&q_full), 1);
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(smem_addr(&k_full[s]), 1);
            mbar_init(smem_addr(&v_full[s]), 1);
            mbar_init(smem_addr(&empty[s]), CONSUMERS * 4);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (wg == 0) {  // producer
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Registers::PRODUCER));
        if (threadIdx.x == 0) {
            mbar_expect_tx(smem_addr(&q_full), Q_BYTES);
            tma_rows<D, BR, BR>(q_tile, map_q, q0, bh, smem_addr(&q_full));
            for (int t = 0; t < n_tiles; ++t) {
                const int s = t % STAGES;
                if (t >= STAGES) mbar_wait(smem_addr(&empty[s]), ((t / STAGES) - 1) & 1);
                const unsigned k_tile = kv_tiles + s * 2 * KV_BYTES;
                mbar_expect_tx(smem_addr(&k_full[s]), KV_BYTES);
                tma_rows<D, BC, BC>(k_tile, map_k, t * BC, bh, smem_addr(&k_full[s]));
                mbar_expect_tx(smem_addr(&v_full[s]), KV_BYTES);
                tma_rows<D, BC, BC>(k_tile + KV_BYTES, map_v, t * BC, bh, smem_addr(&v_full[s]));
            }
        }
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Registers::CONSUMER));

    const int cw = wg - 1, warp = (threadIdx.x % 128) / 32, lane = threadIdx.x % 32;
    const int g = lane / 4;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    const int warp_row = q0 + cw * 64 + warp * 16, rows[2] = {warp_row + g, warp_row + g + 8};
    // Tiles this warpgroup's rows see (causal: up to its last row's diagonal).
    const int my_end = causal ? min(n_k, max(0, q0 + cw * 64 + 64 + diag)) : n_k;
    const int my_tiles = (my_end + BC - 1) / BC;
    const unsigned my_q = q_tile + cw * 64 * 128;  // this warpgroup's 64 lines of each Q slab
    const float scale_log2 = scale * LOG2E;

    float o[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) o[i] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};  // rows g and g + 8 of this warp (l: this lane's part)
    float s[BC / 2];
    unsigned p[BC / 16][4];  // P_{t-1} rounded to half: the A fragments of P V

    auto release = [&](int t) {  // this warp is done with tile t's stage
        if (lane == 0) mbar_arrive(smem_addr(&empty[t % STAGES]));
    };
    // The waits come before the fence and the products after it: no branch (a wait's spin loop) may sit between
    // a wgmma fence and the products it covers, or ptxas injects a warpgroup.arrive in that branch and
    // serializes the products (C7519 / C7520) -- the overlap below would be lost.
    auto landed = [&](unsigned long long* full, int t) { mbar_wait(smem_addr(&full[t % STAGES]), (t / STAGES) & 1); };
    auto scores = [&](int t) {  // issue S_t = Q K_tᵀ (K_t landed, fenced)
        rows_times_rows<BF16, D, BC>(s, my_q, BR, kv_tiles + (t % STAGES) * 2 * KV_BYTES, BC);
        wgmma_commit();
    };
    auto values = [&](int t) {  // issue O += P_t V_t (V_t landed, fenced)
        regs_times_tile<BF16, D, BC>(o, p, kv_tiles + (t % STAGES) * 2 * KV_BYTES + KV_BYTES, BC);
        wgmma_commit();
    };

    mbar_wait(smem_addr(&q_full), 0);
    if (my_tiles > 0) {
        float alpha[2];
        landed(k_full, 0);
        wgmma_fence();
        scores(0);
        wgmma_wait<0>();
        fence_acc(s);
        online_softmax<BC>(s, m, l, alpha, scale_log2, 0, rows, warp_row, n_k, pad_row, has_pad, causal, diag);
        to_a_fragments<BF16, BC>(p, s);
        for (int t = 1; t < my_tiles; ++t) {
            landed(k_full, t);
            landed(v_full, t - 1);  // landed long ago: it came with K_{t-1}
            wgmma_fence();
            scores(t);        // S_t = Q K_tᵀ ...
            values(t - 1);    // ... and O += P_{t-1} V_{t-1} queued behind it
            wgmma_wait<1>();  // S_t is done; P V still runs while the softmax below does
            fence_acc(s);
            online_softmax<BC>(s, m, l, alpha, scale_log2, t * BC, rows, warp_row, n_k, pad_row, has_pad, causal,
                               diag);
            wgmma_wait<0>();
            fence_acc(o);
            keep_until_here<BC>(p);
            release(t - 1);
            rescale_rows<D>(o, alpha);
            to_a_fragments<BF16, BC>(p, s);
        }
        landed(v_full, my_tiles - 1);
        wgmma_fence();
        values(my_tiles - 1);
        wgmma_wait<0>();
        fence_acc(o);
        keep_until_here<BC>(p);
        release(my_tiles - 1);
    }
    for (int t = my_tiles; t < n_tiles; ++t) {  // tiles the block loads for the other warpgroups' rows only
        mbar_wait(smem_addr(&k_full[t % STAGES]), (t / STAGES) & 1);
        mbar_wait(smem_addr(&v_full[t % STAGES]), (t / STAGES) & 1);
        release(t);
    }

    float inv[2];
    finish_rows(l, m, rows, n_q, lse + (size_t)bh * n_q, inv);
    // store_rows numbers threads inside a warp only; its row list is this warpgroup's.
    store_rows<BF16, D>(out + (size_t)bh * n_q * D, o, rows, n_q, inv[0], inv[1]);
}

// Dynamic shared memory: Q_BYTES + 2 STAGES KV_BYTES + 1024 (alignment) bytes.
#define FLASH_FWD_TMA(NAME, BF16)                                                                              \
    extern "C" __global__ void __launch_bounds__(THREADS, FLASH_MIN_BLOCKS)                                                   \
        NAME(const __grid_constant__ TensorMap map_q, const __grid_constant__ TensorMap map_k,                 \
             const __grid_constant__ TensorMap map_v, const unsigned char* key_pad, unsigned short* out,        \
             float* lse, int heads, int n_q, int n_k, float scale, int causal, int has_pad, int group) {        \
        flash_fwd_tma<BF16>(&map_q, &map_k, &map_v, key_pad, out, lse, heads, n_q, n_k, scale, causal,         \
                            has_pad, group);                                                                    \
    }

FLASH_FWD_TMA(flash_fwd_tma_f16, false)
FLASH_FWD_TMA(flash_fwd_tma_bf16, true)
