// What 08_flash_fwd_wgmma.cu and 09_flash_bwd_wgmma.cu share: tile loads, the swizzled tile layout and the
// two kinds of warpgroup product FlashAttention needs.
//
// A tile of R rows of D 16-bit values is ceil(D / 64) slabs of R lines of 128 bytes (64 columns each), 16-byte
// chunk c of line r stored at chunk c ^ (r % 8) (the tensor cores' 128-byte swizzle, as in matmul 12); the
// tile starts 1024-byte aligned. The same bytes serve both operand roles:
//   * K-major (rows are the product's M or N, D its reduction): "rows times rows", X = A Bᵀ (S = Q Kᵀ). A
//     descriptor per 16-column step starts 32 bytes further along the line, in slab step / 4;
//   * N-major (rows are the reduction, D the product's N): X += P B with P in registers (O += P V). A
//     descriptor per 16-row step starts 16 lines (2048 bytes) further; the slabs are its 64-column panels.
// A slab that is only partly used (D = 80, 96) is never read past D: no FLOPs on padding.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "matmul/wgmma.cuh"
#include "attention/wgmma_ops.cuh"

#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

namespace fa {

constexpr float LOG2E = 1.4426950408889634f, LN2 = 0.6931471805599453f;

__device__ __forceinline__ void cp_async16(unsigned dst, const void* src, bool valid) {  // zero-fills if !valid
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async4(unsigned dst, const void* src, bool valid) {  // one float; 0 if !valid
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 4 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ float fast_exp2(float x) {  // the SFU alone (level 2's flash common.cuh says why)
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

__device__ __forceinline__ unsigned slabs_bytes(int d, int rows) { return ((d + 63) / 64) * rows * 128; }

// Rows r0 .. r0 + ROWS of a (n, D) matrix into the tile at shared address dst; rows >= n read as zeros.
template <int D, int ROWS, int THREADS>
__device__ __forceinline__ void load_rows(unsigned dst, const unsigned short* src, int r0, int n) {
    constexpr int CPR = D / 8;  // 16-byte chunks per row
#pragma unroll
    for (int idx = threadIdx.x; idx < ROWS * CPR; idx += THREADS) {
        const int r = idx / CPR, c8 = idx % CPR, row = r0 + r;
        const bool valid = row < n;
        cp_async16(dst + (c8 / 8) * ROWS * 128 + swizzled(r, c8 % 8), src + (size_t)(valid ? row : 0) * D + c8 * 8,
                   valid);
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

// X (64 x N) = A (64 rows at a, in a tile of a_rows rows) times Bᵀ (N rows at b, in a tile of b_rows rows),
// reducing over D. Both K-major. Issues D / 16 wgmmas; the caller fences, commits and waits.
template <bool BF16, int D, int N>
__device__ __forceinline__ void rows_times_rows(float (&x)[N / 2], unsigned a, int a_rows, unsigned b, int b_rows) {
#pragma unroll
    for (int ks = 0; ks < D / 16; ++ks) {
        const unsigned step = (ks % 4) * 32;  // 16 columns = 32 bytes along the line
        const unsigned long long da = descriptor(a + (ks / 4) * a_rows * 128 + step, 16, 1024);
        const unsigned long long db = descriptor(b + (ks / 4) * b_rows * 128 + step, 16, 1024);
        if constexpr (N == 128) {
            wgmma_ss_m64n128k16<BF16>(x, da, db, ks > 0);
        } else {
            static_assert(N == 64, "64 or 128 columns");
            wgmma_ss_m64n64k16<BF16>(x, da, db, ks > 0);
        }
    }
}

// Y (64 x D) += P (64 x K, A fragments in registers) times B (K rows of D at b, in a tile of b_rows rows).
template <bool BF16, int D, int K>
__device__ __forceinline__ void regs_times_tile(float (&y)[D / 2], const unsigned (&p)[K / 16][4], unsigned b,
                                                int b_rows) {
#pragma unroll
    for (int kk = 0; kk < K / 16; ++kk) {
        const unsigned long long db = descriptor(b + kk * 16 * 128, b_rows * 128, 1024);
        if constexpr (D == 64) {
            wgmma_rs_m64n64k16<BF16>(y, p[kk], db, 1);
        } else if constexpr (D == 80) {
            wgmma_rs_m64n80k16<BF16>(y, p[kk], db, 1);
        } else if constexpr (D == 96) {
            wgmma_rs_m64n96k16<BF16>(y, p[kk], db, 1);
        } else {
            static_assert(D == 128, "head dimension 64, 80, 96 or 128");
            wgmma_rs_m64n128k16<BF16>(y, p[kk], db, 1);
        }
    }
}

// Accumulators (64 x N, m64nN layout) rounded to half as the A fragments of the next product: the layouts
// agree register for register (columns 16 kk .. 16 kk + 15 are k step kk).
template <bool BF16, int N>
__device__ __forceinline__ void to_a_fragments(unsigned (&p)[N / 16][4], const float (&x)[N / 2]) {
#pragma unroll
    for (int j = 0; j < N / 8; ++j) {
        p[j / 2][(j & 1) * 2] = pack<BF16>(x[4 * j], x[4 * j + 1]);
        p[j / 2][(j & 1) * 2 + 1] = pack<BF16>(x[4 * j + 2], x[4 * j + 3]);
    }
}

// After the wait: a wgmma reads its A registers while it runs, so they must stay allocated until here.
template <int N>
__device__ __forceinline__ void keep_until_here(const unsigned (&p)[N / 16][4]) {
#pragma unroll
    for (int kk = 0; kk < N / 16; ++kk) asm volatile("" ::"r"(p[kk][0]), "r"(p[kk][1]), "r"(p[kk][2]), "r"(p[kk][3]));
}

// Rows of a warpgroup's 64 x D fp32 accumulators (this thread's rows[0], rows[1]) into a (n_rows, D) matrix.
template <bool BF16, int D>
__device__ __forceinline__ void store_rows(unsigned short* dst, const float (&y)[D / 2], const int (&rows)[2],
                                           int n_rows, float mul0 = 1.f, float mul1 = 1.f) {
    const int t = threadIdx.x % 4;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        if (rows[h] >= n_rows) continue;
        const float mul = h ? mul1 : mul0;
        unsigned short* row = dst + (size_t)rows[h] * D;
#pragma unroll
        for (int j = 0; j < D / 8; ++j)
            *reinterpret_cast<unsigned*>(row + j * 8 + 2 * t) = pack<BF16>(y[4 * j + 2 * h] * mul, y[4 * j + 2 * h + 1] * mul);
    }
}

// One K/V tile's step of the online softmax on a warpgroup's S accumulators (BC keys from j0; this thread's rows
// rows[0], rows[1] of a warp whose first row is warp_row): scores into log2 units, what a row may not see set to
// -inf (keys past n_k, padded keys, keys past the causal diagonal), the running maxima m and sums l updated, the
// factor the running output must be rescaled by in alpha, and S turned into P = exp2(S - m) in place.
template <int BC>
__device__ __forceinline__ void online_softmax(float (&s)[BC / 2], float (&m)[2], float (&l)[2], float (&alpha)[2],
                                               float scale_log2, int j0, const int (&rows)[2], int warp_row,
                                               int n_k, const unsigned char* pad_row, int has_pad, int causal,
                                               int diag) {
    const int t = threadIdx.x % 4;
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
    float base[2];
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
}

// The running output's rows times their rescale factors (alpha[0] for row g, alpha[1] for row g + 8).
template <int D>
__device__ __forceinline__ void rescale_rows(float (&o)[D / 2], const float (&alpha)[2]) {
#pragma unroll
    for (int j = 0; j < D / 8; ++j) {
        o[4 * j] *= alpha[0];
        o[4 * j + 1] *= alpha[0];
        o[4 * j + 2] *= alpha[1];
        o[4 * j + 3] *= alpha[1];
    }
}

// After the last tile: the four lanes' parts of each row's sum added, the row's log-sum-exp (natural log;
// -inf for a row that saw no key) written to lse_rows, and 1 / sum in inv (0 for such a row: its output is 0).
__device__ __forceinline__ void finish_rows(float (&l)[2], const float (&m)[2], const int (&rows)[2], int n_q,
                                            float* lse_rows, float (&inv)[2]) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
        inv[h] = l[h] > 0.f ? 1.f / l[h] : 0.f;
        if (threadIdx.x % 4 == 0 && rows[h] < n_q) lse_rows[rows[h]] = l[h] > 0.f ? (m[h] + log2f(l[h])) * LN2 : -INFINITY;
    }
}

// The tile and the (batch, head) this block works on. Blocks start in linear order (blockIdx.x fastest over
// the grid's (tiles, batch x heads)). Causal tiles differ in work -- the longest are the last query rows
// (forward, dQ) or the first keys (dK, dV) -- so heads are taken `group` at a time and inside a group every
// head's longest tile starts before any head's next (longest processing time first: the short ones fill the
// tail). Group 1 is the plain order, one head's tiles after another's; a small group keeps few heads in
// flight, so their K and V stay in L2. `rank` 0 is a head's longest tile.
__device__ __forceinline__ void block_tile(int group, int& rank, int& bh) {
    const unsigned tiles = gridDim.x, heads_total = gridDim.y;  // the launcher keeps tiles x heads < 2^31
    const unsigned linear = blockIdx.y * tiles + blockIdx.x;
    const unsigned first = linear / (group * tiles) * group;  // the group's first head
    const unsigned size = min((unsigned)group, heads_total - first);
    const unsigned within = linear - first * tiles;
    rank = (int)(within / size);
    bh = (int)(first + within % size);
}

}  // namespace fa
