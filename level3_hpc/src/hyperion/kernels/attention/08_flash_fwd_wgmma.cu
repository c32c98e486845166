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
    const int g = lane / 4, t = lane % 4;
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

#pragma unroll
            for (int i = 0; i < BC / 2; ++i) s[i] *= scale_log2;
            const bool masked = j0 + BC > n_k || has_pad || (causal && j0 + BC - 1 > warp_row + diag);
            if (masked) {
#pragma unroll
                for (int i = 0; i < BC / 2; ++i) {
                    const int j = j0 + (i / 4) * 8 + 2 * t + (i & 1), row = rows[(i >> 1) & 1];
                    const bool visible = j < n_k && !(has_pad && pad_row[j]) && !(causal && j > row + diag);
                    if (!visible) s[i] = -INFINITY;
                }
            }
            float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
            for (int j = 0; j < BC / 8; ++j) {
                tile_max[0] = fmaxf(tile_max[0], fmaxf(s[4 * j], s[4 * j + 1]));
                tile_max[1] = fmaxf(tile_max[1], fmaxf(s[4 * j + 2], s[4 * j + 3]));
            }
            float alpha[2], base[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 1));
                tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 2));
                const float m_new = fmaxf(m[h], tile_max[h]);
                base[h] = m_new == -INFINITY ? 0.f : m_new;  // a row that has seen no key yet
                alpha[h] = fast_exp2(m[h] - base[h]);
                m[h] = m_new;
                l[h] *= alpha[h];
            }
#pragma unroll
            for (int i = 0; i < BC / 2; ++i) {
                s[i] = fast_exp2(s[i] - base[(i >> 1) & 1]);
                l[(i >> 1) & 1] += s[i];
            }
            unsigned p[BC / 16][4];  // P rounded to half: the A fragments of P V
            to_a_fragments<BF16, BC>(p, s);
#pragma unroll
            for (int j = 0; j < D / 8; ++j) {
                o[4 * j] *= alpha[0];
                o[4 * j + 1] *= alpha[0];
                o[4 * j + 2] *= alpha[1];
                o[4 * j + 3] *= alpha[1];
            }
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
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
        inv[h] = l[h] > 0.f ? 1.f / l[h] : 0.f;  // a fully masked row: output 0
        if (t == 0 && rows[h] < n_q) lse[(size_t)bh * n_q + rows[h]] = l[h] > 0.f ? (m[h] + log2f(l[h])) * LN2 : -INFINITY;
    }
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
