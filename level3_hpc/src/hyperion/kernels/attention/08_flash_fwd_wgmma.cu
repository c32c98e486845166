// FlashAttention forward 08 -- level 2's 05 on Hopper's warpgroup MMA (wgmma, sm_90a), as FlashAttention-3
// starts (Shah et al. 2024, sec. 3). 05 (mma.sync) reaches about 0.63x of SDPA on an H100 and ncu says why:
// 8 warps per SM (registers), each one issuing its own ldmatrix + HMMA stream, 2 warps per scheduler, half the
// issue slots idle, tensor pipe 30-35 % busy. Here one instruction per warpgroup (128 threads) multiplies a
// 64 x 16 slab of A by a 16 x N slab of B, both read by the tensor cores from shared memory through 64-bit
// descriptors and run asynchronously: no ldmatrix, no per-warp fragments, the issue slots left to the softmax.
//
// A block is FLASH_WG warpgroups, 64 query rows each (BR = 64 FLASH_WG rows), sharing K/V tiles of BC keys:
//   S = Q Kᵀ:  wgmma ss m64nBCk16, D / 16 of them. A = Q, B = K: both "K-major" (d contiguous), stored in the
//              128-byte swizzle of matmul 12 -- a tile of R rows is ceil(D / 64) slabs of R lines of 128 bytes
//              (64 columns), chunk c of line r at c ^ (r % 8). Step ks reads 32 bytes of each line of slab ks / 4.
//              D = 80 or 96 uses a second slab partly: its unused bytes are never read (no padding FLOPs).
//   softmax:   05's, on the accumulators: wgmma m64nN's fp32 layout is m16n8's repeated (warp w of the group owns
//              rows 16 w .. 16 w + 15; register 4 j + 2 h + e is row lane / 4 + 8 h, column 8 j + 2 (lane % 4) + e).
//   O += P V:  wgmma rs m64nDk16, BC / 16 of them, A = P from registers -- the accumulators rounded to half ARE
//              the A fragments (the register trick of 04/05, which wgmma allows for A only) -- and B = V, keys x d
//              with d contiguous: "N-major", the same slab layout read as matmul 12 reads B (panels of 64 columns
//              BC * 128 bytes apart, 8-key groups 1024 bytes apart).
// K/V tiles are double-buffered with cp.async (zero-filled past N_k) as in 05: every thread waits for its own
// copies, fences them into the async proxy (fence.proxy.async), then the block barrier. A wgmma reads its
// register operands after it is issued: all of P is packed before the first P V wgmma and kept live until the
// wait (an empty asm that "reads" it), so the compiler cannot reuse those registers while the tensor cores read.
// Masks and causal tile skipping (per warpgroup: a wgmma is issued by all four warps) are 05's; causal blocks
// start longest first across a group of heads (block_tile in flash_wgmma.cuh), not only inside one head as in 05. Not yet here (FlashAttention-3's next steps): TMA loads, a producer warpgroup, and
// overlapping one tile's softmax with the next tile's S = Q Kᵀ.
#include "attention/flash_wgmma.cuh"

#ifndef FLASH_D
#define FLASH_D 64  // head dimension: 64, 80, 96 or 128
#endif
#ifndef FLASH_BC
#define FLASH_BC 128  // keys per K/V tile: 64 or 128
#endif
#ifndef FLASH_WG
#define FLASH_WG 2  // warpgroups per block (64 query rows each)
#endif
#ifndef FLASH_MIN_BLOCKS
#define FLASH_MIN_BLOCKS 1  // __launch_bounds__'s blocks per SM (caps registers at 65536 / (threads x this))
#endif

constexpr int D = FLASH_D, BC = FLASH_BC, BR = 64 * FLASH_WG, THREADS = 128 * FLASH_WG;
constexpr int Q_BYTES = ((D + 63) / 64) * BR * 128, KV_BYTES = ((D + 63) / 64) * BC * 128;  // multiples of 1024
static_assert(D % 16 == 0 && D >= 64 && D <= 128, "head dimension 64 .. 128, a multiple of 16");
static_assert(BC == 64 || BC == 128, "64 or 128 keys per tile");

template <bool BF16>
__device__ void flash_fwd_wgmma(const unsigned short* __restrict__ q, const unsigned short* __restrict__ k,
                                const unsigned short* __restrict__ v, const unsigned char* __restrict__ key_pad,
                                unsigned short* __restrict__ out, float* __restrict__ lse, int heads, int n_q,
                                int n_k, float scale, int causal, int has_pad, int group) {
    using namespace fa;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    const unsigned raw = smem_addr(smem_raw), q_tile = (raw + 1023) & ~1023u;  // Q | K0 | V0 | K1 | V1
    const unsigned k_tiles = q_tile + Q_BYTES;                                   // stage s: K at + 2 s KV_BYTES

    const int wg = threadIdx.x / 128, warp = (threadIdx.x % 128) / 32, lane = threadIdx.x % 32;
    const int g = lane / 4;
    int rank, bh;
    block_tile(group, rank, bh);
    const int q0 = (causal ? gridDim.x - 1 - rank : rank) * BR;  // causal: the last query rows see the most keys
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    const int diag = causal == 2 ? n_k - n_q : 0;  // 1: top-left (PyTorch's is_causal), 2: bottom-right
    const int kv_end = causal ? min(n_k, max(0, q0 + BR + diag)) : n_k;
    const int n_tiles = (kv_end + BC - 1) / BC;

    load_rows<D, BR, THREADS>(q_tile, q, q0, n_q);
    if (n_tiles > 0) {
        load_rows<D, BC, THREADS>(k_tiles, k, 0, n_k);
        load_rows<D, BC, THREADS>(k_tiles + KV_BYTES, v, 0, n_k);
    }
    cp_async_commit();

    float o[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) o[i] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};  // rows g and g + 8 of this warp (l: this lane's part)
    const int warp_row = q0 + wg * 64 + warp * 16, rows[2] = {warp_row + g, warp_row + g + 8};
    const int group_last_row = q0 + wg * 64 + 63;
    const unsigned my_q = q_tile + wg * 64 * 128;  // this warpgroup's 64 lines of each Q slab
    const float scale_log2 = scale * LOG2E;

    for (int it = 0; it < n_tiles; ++it) {
        const int stage = it & 1, j0 = it * BC;
        if (it + 1 < n_tiles) {  // the next tile flies while this one is computed
            load_rows<D, BC, THREADS>(k_tiles + (stage ^ 1) * 2 * KV_BYTES, k, j0 + BC, n_k);
            load_rows<D, BC, THREADS>(k_tiles + (stage ^ 1) * 2 * KV_BYTES + KV_BYTES, v, j0 + BC, n_k);
        }
        cp_async_commit();
        cp_async_wait<1>();  // this thread's copies of tile `it` (and Q) have landed ...
        fence_proxy_async();  // ... are made visible to the tensor cores' async proxy ...
        __syncthreads();      // ... and so are everyone else's
        const unsigned k_tile = k_tiles + stage * 2 * KV_BYTES, v_tile = k_tile + KV_BYTES;

        if (!(causal && j0 > group_last_row + diag)) {  // else no row of this warpgroup sees a key of the tile
            float s[BC / 2];
            wgmma_fence();
            rows_times_rows<BF16, D, BC>(s, my_q, BR, k_tile, BC);  // S = Q Kᵀ
            wgmma_commit();
            wgmma_wait<0>();
            fence_acc(s);

            float alpha[2];
            online_softmax<BC>(s, m, l, alpha, scale_log2, j0, rows, warp_row, n_k, pad_row, has_pad, causal, diag);
            unsigned p[BC / 16][4];  // P rounded to half: the A fragments of P V
            to_a_fragments<BF16, BC>(p, s);
            rescale_rows<D>(o, alpha);
            wgmma_fence();  // O and P were written by ordinary instructions since the last wgmma
            regs_times_tile<BF16, D, BC>(o, p, v_tile, BC);  // O += P V
            wgmma_commit();
            wgmma_wait<0>();
            fence_acc(o);
            keep_until_here<BC>(p);
        }
        __syncthreads();  // every warpgroup is done with this stage before the next iteration refills it
    }

    float inv[2];
    finish_rows(l, m, rows, n_q, lse + (size_t)bh * n_q, inv);
    store_rows<BF16, D>(out + (size_t)bh * n_q * D, o, rows, n_q, inv[0], inv[1]);
}

// Dynamic shared memory: Q_BYTES + 4 KV_BYTES + 1024 (alignment) bytes.
#define FLASH_FWD_WGMMA(NAME, BF16)                                                                            \
    extern "C" __global__ void __launch_bounds__(THREADS, FLASH_MIN_BLOCKS)                                    \
        NAME(const unsigned short* q, const unsigned short* k, const unsigned short* v,                        \
             const unsigned char* key_pad, unsigned short* out, float* lse, int heads, int n_q, int n_k,        \
             float scale, int causal, int has_pad, int group) {                                                \
        flash_fwd_wgmma<BF16>(q, k, v, key_pad, out, lse, heads, n_q, n_k, scale, causal, has_pad, group);    \
    }

FLASH_FWD_WGMMA(flash_fwd_wgmma_f16, false)
FLASH_FWD_WGMMA(flash_fwd_wgmma_bf16, true)
