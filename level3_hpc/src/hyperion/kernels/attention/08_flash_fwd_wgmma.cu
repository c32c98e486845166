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
// Masks, causal tile skipping (per warpgroup: a wgmma is issued by all four warps) and the longest-first order of
// causal blocks are 05's. Not yet here (FlashAttention-3's next steps): TMA loads, a producer warpgroup, and
// overlapping one tile's softmax with the next tile's S = Q Kᵀ.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "matmul/wgmma.cuh"
#include "attention/wgmma_ops.cuh"

#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
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
constexpr int SLABS = (D + 63) / 64;                            // 64-column slabs per row
constexpr int Q_BYTES = SLABS * BR * 128, KV_BYTES = SLABS * BC * 128;  // multiples of 1024
constexpr float LOG2E = 1.4426950408889634f, LN2 = 0.6931471805599453f;
static_assert(D % 16 == 0 && D >= 64 && D <= 128, "head dimension 64 .. 128, a multiple of 16");
static_assert(BC == 64 || BC == 128, "64 or 128 keys per tile");

__device__ __forceinline__ void cp_async16(unsigned dst, const void* src, bool valid) {  // zero-fills if !valid
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ float fast_exp2(float x) {  // the SFU alone (level 2's common.cuh says why)
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// Byte offset of 16-byte chunk c8 (columns 8 c8 ..) of row r in a swizzled tile of `rows` rows.
__device__ __forceinline__ unsigned tile_offset(int rows, int r, int c8) {
    return (c8 / 8) * rows * 128 + swizzled(r, c8 % 8);
}

// Rows r0 .. r0 + ROWS of a (n, D) matrix into the tile at shared address dst; rows >= n read as zeros.
template <int ROWS>
__device__ __forceinline__ void load_rows(unsigned dst, const unsigned short* src, int r0, int n) {
    constexpr int CPR = D / 8;  // 16-byte chunks per row
#pragma unroll
    for (int idx = threadIdx.x; idx < ROWS * CPR; idx += THREADS) {
        const int r = idx / CPR, c8 = idx % CPR, row = r0 + r;
        const bool valid = row < n;
        cp_async16(dst + tile_offset(ROWS, r, c8), src + (size_t)(valid ? row : 0) * D + c8 * 8, valid);
    }
}

template <bool BF16> __device__ __forceinline__ unsigned pack(float lo, float hi);
template <> __device__ __forceinline__ unsigned pack<false>(float lo, float hi) {
    __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<unsigned*>(&h);
}
template <> __device__ __forceinline__ unsigned pack<true>(float lo, float hi) {
    __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<unsigned*>(&h);
}

// S (64 x BC) = this warpgroup's 64 rows of Q (at q_tile) times the K tile, transposed.
template <bool BF16>
__device__ __forceinline__ void scores(float (&s)[BC / 2], unsigned q_tile, unsigned k_tile) {
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
        const unsigned step = (ks % 4) * 32;  // 16 columns = 32 bytes along the line
        const unsigned long long da = descriptor(q_tile + (ks / 4) * BR * 128 + step, 16, 1024);
        const unsigned long long db = descriptor(k_tile + (ks / 4) * BC * 128 + step, 16, 1024);
        if constexpr (BC == 128) {
            wgmma_ss_m64n128k16<BF16>(s, da, db, ks > 0);
        } else {
            wgmma_ss_m64n64k16<BF16>(s, da, db, ks > 0);
        }
    }
}

// O (64 x D) += P (64 x BC, registers) times the V tile.
template <bool BF16>
__device__ __forceinline__ void accumulate(float (&o)[D / 2], const unsigned (&p)[BC / 16][4], unsigned v_tile) {
#pragma unroll
    for (int kk = 0; kk < BC / 16; ++kk) {
        const unsigned long long db = descriptor(v_tile + kk * 16 * 128, BC * 128, 1024);
        if constexpr (D == 64) {
            wgmma_rs_m64n64k16<BF16>(o, p[kk], db, 1);
        } else if constexpr (D == 80) {
            wgmma_rs_m64n80k16<BF16>(o, p[kk], db, 1);
        } else if constexpr (D == 96) {
            wgmma_rs_m64n96k16<BF16>(o, p[kk], db, 1);
        } else {
            wgmma_rs_m64n128k16<BF16>(o, p[kk], db, 1);
        }
    }
}

template <bool BF16>
__device__ void flash_fwd_wgmma(const unsigned short* __restrict__ q, const unsigned short* __restrict__ k,
                                const unsigned short* __restrict__ v, const unsigned char* __restrict__ key_pad,
                                unsigned short* __restrict__ out, float* __restrict__ lse, int heads, int n_q,
                                int n_k, float scale, int causal, int has_pad) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    const unsigned raw = smem_addr(smem_raw), q_tile = (raw + 1023) & ~1023u;  // Q | K0 | V0 | K1 | V1
    const unsigned k_tiles = q_tile + Q_BYTES;                                   // stage s: K at + 2 s KV_BYTES

    const int wg = threadIdx.x / 128, warp = (threadIdx.x % 128) / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t = lane % 4;
    const int bh = blockIdx.y, q0 = (causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x) * BR;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    const int diag = causal == 2 ? n_k - n_q : 0;  // 1: top-left (PyTorch's is_causal), 2: bottom-right
    const int kv_end = causal ? min(n_k, max(0, q0 + BR + diag)) : n_k;
    const int n_tiles = (kv_end + BC - 1) / BC;

    load_rows<BR>(q_tile, q, q0, n_q);
    if (n_tiles > 0) {
        load_rows<BC>(k_tiles, k, 0, n_k);
        load_rows<BC>(k_tiles + KV_BYTES, v, 0, n_k);
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
            load_rows<BC>(k_tiles + (stage ^ 1) * 2 * KV_BYTES, k, j0 + BC, n_k);
            load_rows<BC>(k_tiles + (stage ^ 1) * 2 * KV_BYTES + KV_BYTES, v, j0 + BC, n_k);
        }
        cp_async_commit();
        cp_async_wait<1>();  // this thread's copies of tile `it` (and Q) have landed ...
        fence_proxy_async();  // ... are made visible to the tensor cores' async proxy ...
        __syncthreads();      // ... and so are everyone else's
        const unsigned k_tile = k_tiles + stage * 2 * KV_BYTES, v_tile = k_tile + KV_BYTES;

        if (!(causal && j0 > group_last_row + diag)) {  // else no row of this warpgroup sees a key of the tile
            float s[BC / 2];
            wgmma_fence();
            scores<BF16>(s, my_q, k_tile);
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
            unsigned p[BC / 16][4];  // P rounded to half: the A fragments of P V, key step kk = 16 keys
#pragma unroll
            for (int j = 0; j < BC / 8; ++j) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    s[4 * j + e] = fast_exp2(s[4 * j + e] - base[e >> 1]);
                    l[e >> 1] += s[4 * j + e];
                }
                p[j / 2][(j & 1) * 2] = pack<BF16>(s[4 * j], s[4 * j + 1]);
                p[j / 2][(j & 1) * 2 + 1] = pack<BF16>(s[4 * j + 2], s[4 * j + 3]);
            }
#pragma unroll
            for (int j = 0; j < D / 8; ++j) {
                o[4 * j] *= alpha[0];
                o[4 * j + 1] *= alpha[0];
                o[4 * j + 2] *= alpha[1];
                o[4 * j + 3] *= alpha[1];
            }
            wgmma_fence();  // O and P were written by ordinary instructions since the last wgmma
            accumulate<BF16>(o, p, v_tile);
            wgmma_commit();
            wgmma_wait<0>();
            fence_acc(o);
#pragma unroll
            for (int kk = 0; kk < BC / 16; ++kk)  // P stays live until the tensor cores have read it
                asm volatile("" ::"r"(p[kk][0]), "r"(p[kk][1]), "r"(p[kk][2]), "r"(p[kk][3]));
        }
        __syncthreads();  // every warpgroup is done with this stage before the next iteration refills it
    }

#pragma unroll
    for (int h = 0; h < 2; ++h) {
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
        const int row = rows[h];
        if (row >= n_q) continue;
        const float inv = l[h] > 0.f ? 1.f / l[h] : 0.f;  // a fully masked row: output 0
        unsigned short* orow = out + ((size_t)bh * n_q + row) * D;
#pragma unroll
        for (int j = 0; j < D / 8; ++j)
            *reinterpret_cast<unsigned*>(orow + j * 8 + 2 * t) = pack<BF16>(o[4 * j + 2 * h] * inv, o[4 * j + 2 * h + 1] * inv);
        if (t == 0) lse[(size_t)bh * n_q + row] = l[h] > 0.f ? (m[h] + log2f(l[h])) * LN2 : -INFINITY;
    }
}

// Dynamic shared memory: Q_BYTES + 4 KV_BYTES + 1024 (alignment) bytes.
#define FLASH_FWD_WGMMA(NAME, BF16)                                                                            \
    extern "C" __global__ void __launch_bounds__(THREADS, FLASH_MIN_BLOCKS)                                    \
        NAME(const unsigned short* q, const unsigned short* k, const unsigned short* v,                        \
             const unsigned char* key_pad, unsigned short* out, float* lse, int heads, int n_q, int n_k,        \
             float scale, int causal, int has_pad) {                                                           \
        flash_fwd_wgmma<BF16>(q, k, v, key_pad, out, lse, heads, n_q, n_k, scale, causal, has_pad);           \
    }

FLASH_FWD_WGMMA(flash_fwd_wgmma_f16, false)
FLASH_FWD_WGMMA(flash_fwd_wgmma_bf16, true)
