// FlashAttention-2 forward, pipelined: 04's registers-only mma.sync math, fed the way the hardware wants.
//
// 04 spends its time waiting: every key tile is loaded (global -> registers -> shared) while the tensor
// cores idle, behind two __syncthreads, and every B fragment is gathered with 32- or 16-bit shared loads
// (V with two 16-bit loads per register). Four changes, each a few lines:
//
// 1. cp.async (sm_80+): global -> shared copies that bypass the registers and run in the background.
//    K/V tiles are double-buffered: while the warps compute on tile j, tile j+1 is in flight.
//    Rows past N_k are zero-filled by the copy itself (src-size 0), so no branch touches the data.
// 2. ldmatrix: one instruction loads four 8x8 b16 matrices from shared memory straight into the mma
//    fragment layout (lane l gives the address of row l % 8 of matrix l / 8). `.trans` transposes on
//    the fly: V is stored row-major (keys x dims) and read as the "col" B operand of P V.
// 3. XOR swizzle instead of padding: the tile is stored in 16-byte chunks, chunk c of each 128-byte line
//    L moved to c ^ (L % 8) (D = 128: c ^ (row % 8)). The 8 row addresses of one ldmatrix matrix then fall in 8 different
//    16-byte bank groups (conflict-free) for any D in 16..128, and the cp.async writes stay dense.
// 4. Masks cost only where needed: a tile is masked element by element only if it crosses N_k, the
//    causal diagonal or a padded batch; a warp whose 16 rows see none of a causal tile skips it.
//
// As in 04: P stays in registers (the S accumulators, rounded to half, are the A fragments of the
// second mma), scores are prescaled by scale * log2(e) and exponentiated with flash_exp2 (common.cuh), and the row sum is
// reduced across the 4 lanes of a row group only at the end. Block: WARPS warps x 16 query rows; the
// loader instantiates WARPS = 4 (64-row blocks, more blocks per SM) and WARPS = 8 (128-row blocks,
// each K/V tile shared by twice the rows), and the benchmark measures both.
// Causal: `causal` = 1 top-left, 2 bottom-right (see common.cuh); tiles past the diagonal are skipped, and
// the query blocks run longest-first (block x takes query block gridDim.x - 1 - x), so short blocks fill the tail.
#include "common.cuh"

#ifndef FLASH_D
#define FLASH_D 64  // the head dimension, a multiple of 16; the loader compiles one module per D (16 ... 128)
#endif
#ifndef FLASH_BC
#define FLASH_BC 64  // keys per K/V tile (a multiple of 16); the block-size sweep of repro-flash varies it
#endif

namespace pipe {

__device__ __forceinline__ unsigned smem_u32(const void* p) {  // a generic pointer as a shared-window address
    unsigned a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }\n" : "=r"(a) : "l"(p));
    return a;
}

__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {  // zero-fills if !valid
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldsm_x4(unsigned* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm_x4_trans(unsigned* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}

template <typename T> struct Mma;
template <> struct Mma<__half> {
    static __device__ __forceinline__ void run(float* c, const unsigned* a, unsigned b0, unsigned b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    static __device__ __forceinline__ unsigned pack(float lo, float hi) {
        __half2 h = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<unsigned*>(&h);
    }
};
template <> struct Mma<__nv_bfloat16> {
    static __device__ __forceinline__ void run(float* c, const unsigned* a, unsigned b0, unsigned b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    static __device__ __forceinline__ unsigned pack(float lo, float hi) {
        __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<unsigned*>(&h);
    }
};

// Offset (in elements) of element (row, col) of a row-major tile with D columns, col a multiple of 8.
// The 16-byte chunk index has its low 3 bits XORed with the 128-byte line index (D <= 64, several rows
// a line) or with the row (D = 128, two lines a row): 8 consecutive rows, same column, hit 8 bank groups.
template <int D> __device__ __forceinline__ int swizzle(int row, int col) {
    constexpr int LINE_SHIFT = D == 128 ? 4 : 3;
    const int chunk = row * (D / 8) + col / 8;
    return (chunk ^ ((chunk >> LINE_SHIFT) & 7)) * 8;
}

// Copy rows [r0, r0 + ROWS) of a (n, D) matrix into a swizzled tile, zero-filling rows >= n.
template <typename T, int D, int ROWS, int THREADS>
__device__ __forceinline__ void load_tile(T* tile, const T* src, int r0, int n) {
#pragma unroll
    for (int idx = threadIdx.x; idx < ROWS * D / 8; idx += THREADS) {
        const int r = idx / (D / 8), c = (idx % (D / 8)) * 8, row = r0 + r;
        const bool valid = row < n;
        cp_async16(tile + swizzle<D>(r, c), src + (size_t)(valid ? row : 0) * D + c, valid);
    }
}

}  // namespace pipe

template <typename T, int D, int WARPS>
__device__ void flash_fwd_pipe(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                               const unsigned char* __restrict__ key_pad, T* __restrict__ out,
                               float* __restrict__ lse, int heads, int n_q, int n_k, float scale, int causal,
                               int has_pad) {
    using namespace pipe;
    constexpr int BR = 16 * WARPS, BC = FLASH_BC, THREADS = 32 * WARPS;
    extern __shared__ __align__(128) unsigned char smem[];
    T* Qs = reinterpret_cast<T*>(smem);  // [BR][D], then K stages [2][BC][D], V stages [2][BC][D]
    T* Ks = Qs + BR * D;
    T* Vs = Ks + 2 * BC * D;

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    // causal: the last query blocks see the most keys; launch them first so the short ones fill the tail
    const int bh = blockIdx.y, q0 = (causal ? gridDim.x - 1 - blockIdx.x : blockIdx.x) * BR;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    const int diag = causal_diag(causal, n_q, n_k);
    const int kv_end = causal ? min(n_k, max(0, q0 + BR + diag)) : n_k;  // keys j <= last row + diag
    const int n_tiles = (kv_end + BC - 1) / BC;

    // Q block and the first K/V tile in one group; Q's A fragments are then kept in registers.
    load_tile<T, D, BR, THREADS>(Qs, q, q0, n_q);
    if (n_tiles > 0) {
        load_tile<T, D, BC, THREADS>(Ks, k, 0, n_k);
        load_tile<T, D, BC, THREADS>(Vs, v, 0, n_k);
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    const int mi = lane / 8, mr = lane % 8;  // this lane addresses row mr of ldmatrix matrix mi
    unsigned qa[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
        ldsm_x4(qa[kk], Qs + swizzle<D>(warp * 16 + (mi & 1) * 8 + mr, kk * 16 + (mi >> 1) * 8));

    float o[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};  // rows g and g + 8 (l: this lane's part)
    const int rows[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};
    const int warp_last_row = q0 + warp * 16 + 15;
    const float scale_log2 = scale * FLASH_LOG2E;

    for (int it = 0; it < n_tiles; ++it) {
        const int stage = it & 1, j0 = it * BC;
        if (it + 1 < n_tiles) {  // the next tile flies while this one is computed
            load_tile<T, D, BC, THREADS>(Ks + (stage ^ 1) * BC * D, k, j0 + BC, n_k);
            load_tile<T, D, BC, THREADS>(Vs + (stage ^ 1) * BC * D, v, j0 + BC, n_k);
        }
        cp_async_commit();
        cp_async_wait<1>();  // everything but the newest group has landed: tile `it` is in shared memory
        __syncthreads();
        const T* Kt = Ks + stage * BC * D;
        const T* Vt = Vs + stage * BC * D;

        if (!(causal && j0 > warp_last_row + diag)) {  // else no row of this warp sees any key of the tile
            // S = Q Kᵀ: x4 gives the B fragments of two 8-key column blocks (b0, b1 each)
            float s[BC / 8][4];
#pragma unroll
            for (int n = 0; n < BC / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
                for (int np = 0; np < BC / 16; ++np) {
                    unsigned b[4];
                    ldsm_x4(b, Kt + swizzle<D>(np * 16 + (mi >> 1) * 8 + mr, kk * 16 + (mi & 1) * 8));
                    Mma<T>::run(s[2 * np], qa[kk], b[0], b[1]);
                    Mma<T>::run(s[2 * np + 1], qa[kk], b[2], b[3]);
                }
            }

            // prescale to base 2; mask only a tile that crosses N_k, the diagonal or a padded batch
#pragma unroll
            for (int n = 0; n < BC / 8; ++n)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[n][e] *= scale_log2;
            const bool masked = j0 + BC > n_k || has_pad || (causal && j0 + BC - 1 > q0 + warp * 16 + diag);
            if (masked) {
#pragma unroll
                for (int n = 0; n < BC / 8; ++n)
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        const int j = j0 + n * 8 + 2 * t + (e & 1);
                        const bool visible = j < n_k && !(has_pad && pad_row[j]) &&
                                             !(causal && j > rows[e >> 1] + diag);
                        if (!visible) s[n][e] = -INFINITY;
                    }
            }

            float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
            for (int n = 0; n < BC / 8; ++n) {
                tile_max[0] = fmaxf(tile_max[0], fmaxf(s[n][0], s[n][1]));
                tile_max[1] = fmaxf(tile_max[1], fmaxf(s[n][2], s[n][3]));
            }
            float alpha[2], base[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 1));
                tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 2));
                const float m_new = fmaxf(m[h], tile_max[h]);
                base[h] = m_new == -INFINITY ? 0.f : m_new;  // a row that has seen no key yet
                alpha[h] = flash_exp2(m[h] - base[h]);
                m[h] = m_new;
                l[h] *= alpha[h];
            }
#pragma unroll
            for (int n = 0; n < BC / 8; ++n) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    s[n][e] = flash_exp2(s[n][e] - base[e >> 1]);
                    l[e >> 1] += s[n][e];
                }
            }
#pragma unroll
            for (int n = 0; n < D / 8; ++n) {
                o[n][0] *= alpha[0];
                o[n][1] *= alpha[0];
                o[n][2] *= alpha[1];
                o[n][3] *= alpha[1];
            }

            // O += P V: P's A fragments from the S registers; V's B fragments by ldmatrix.trans
#pragma unroll
            for (int kk = 0; kk < BC / 16; ++kk) {
                unsigned pa[4];
                pa[0] = Mma<T>::pack(s[2 * kk][0], s[2 * kk][1]);
                pa[1] = Mma<T>::pack(s[2 * kk][2], s[2 * kk][3]);
                pa[2] = Mma<T>::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
                pa[3] = Mma<T>::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
                for (int np = 0; np < D / 16; ++np) {
                    unsigned b[4];
                    ldsm_x4_trans(b, Vt + swizzle<D>(kk * 16 + (mi & 1) * 8 + mr, np * 16 + (mi >> 1) * 8));
                    Mma<T>::run(o[2 * np], pa, b[0], b[1]);
                    Mma<T>::run(o[2 * np + 1], pa, b[2], b[3]);
                }
            }
        }
        __syncthreads();  // every warp is done with this stage before the next iteration refills it
    }

#pragma unroll
    for (int h = 0; h < 2; ++h) {
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 1);
        l[h] += __shfl_xor_sync(0xffffffffu, l[h], 2);
    }
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int row = rows[h];
        if (row >= n_q) continue;
        const float inv = l[h] > 0.f ? 1.f / l[h] : 0.f;  // a fully masked row: output 0
        T* orow = out + ((size_t)bh * n_q + row) * D;
#pragma unroll
        for (int n = 0; n < D / 8; ++n)
            *reinterpret_cast<unsigned*>(orow + n * 8 + 2 * t) = Mma<T>::pack(o[n][2 * h] * inv, o[n][2 * h + 1] * inv);
        if (t == 0) lse[(size_t)bh * n_q + row] = l[h] > 0.f ? (m[h] + log2f(l[h])) * FLASH_LN2 : -INFINITY;
    }
}


// Dynamic shared memory: (16 * WARPS + 4 * FLASH_BC) * FLASH_D * 2 bytes (Q block, 2 K and 2 V stages).
// __launch_bounds__ asks for 16 warps per SM for D <= 64 (at most 128 registers a thread: latency hiding
// needs the warps) and 8 for D = 128 (whose O and Q fragments alone take 96 registers: 128 would spill).
#ifndef FLASH_SM_WARPS
#define FLASH_SM_WARPS (FLASH_D <= 64 ? 16 : 8)
#endif
#define FLASH_FWD_PIPE(NAME, T, WARPS)                                                                       \
    extern "C" __global__ void __launch_bounds__(32 * WARPS, FLASH_SM_WARPS / WARPS)                         \
        NAME(const T* q, const T* k, const T* v, const unsigned char* key_pad, T* out, float* lse, int heads, \
             int n_q, int n_k, float scale, int causal, int has_pad) {                                       \
        flash_fwd_pipe<T, FLASH_D, WARPS>(q, k, v, key_pad, out, lse, heads, n_q, n_k, scale, causal, has_pad); \
    }

FLASH_FWD_PIPE(flash_fwd_pipe_f16_w4, __half, 4)
FLASH_FWD_PIPE(flash_fwd_pipe_f16_w8, __half, 8)
FLASH_FWD_PIPE(flash_fwd_pipe_bf16_w4, __nv_bfloat16, 4)
FLASH_FWD_PIPE(flash_fwd_pipe_bf16_w8, __nv_bfloat16, 8)
