// FlashAttention-2 forward, each warp owning two 16-row tiles: half the shared-memory reads of 05 per FLOP.
//
// In 05 a warp owns 16 query rows. For every key tile it loads all of K (for S = Q Kᵀ) and all of V
// (for O += P V) from shared memory with ldmatrix, and uses each fragment for ONE mma: the tensor cores
// wait on shared memory. Here a warp owns MT = 2 row tiles (32 rows; 4 warps make a 128-row block, the
// shape FlashAttention-2 uses): every K or V fragment, once in registers, feeds MT mmas, so shared-memory
// traffic per mma halves. The price is registers: two sets of S, O and softmax state. So Q's A fragments
// stay in registers only while they fit (D <= 64); for larger D they are re-read from the (swizzled,
// resident) Q tile at every key tile, which costs less than the K/V reads it saves.
//
// Everything else is 05's: cp.async double buffering of K/V tiles (zero-filled past N_k), ldmatrix(.trans)
// B fragments, XOR-swizzled tiles, base-2 online softmax on the S registers, P reused from the
// accumulators as the A fragment of P V, masks only on tiles that need them, causal blocks longest-first.
#include "common.cuh"
#include "mma_sm80.cuh"

#ifndef FLASH_D
#define FLASH_D 64  // the head dimension, a multiple of 16; the loader compiles one module per D (16 ... 128)
#endif
#ifndef FLASH_BC
#define FLASH_BC 64  // keys per K/V tile (a multiple of 16)
#endif

template <typename T, int D, int WARPS, int MT>
__device__ void flash_fwd_two_tiles(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                    const unsigned char* __restrict__ key_pad, T* __restrict__ out,
                                    float* __restrict__ lse, int heads, int n_q, int n_k, float scale, int causal,
                                    int has_pad) {
    using namespace sm80;
    constexpr int WR = 16 * MT, BR = WR * WARPS, BC = FLASH_BC, THREADS = 32 * WARPS;
    constexpr bool Q_IN_REGS = D <= 64;
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
    const int w0 = q0 + warp * WR;  // this warp's first row

    load_tile<T, D, BR, THREADS>(Qs, q, q0, n_q);
    if (n_tiles > 0) {
        load_tile<T, D, BC, THREADS>(Ks, k, 0, n_k);
        load_tile<T, D, BC, THREADS>(Vs, v, 0, n_k);
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    const int mi = lane / 8, mr = lane % 8;  // this lane addresses row mr of ldmatrix matrix mi
    unsigned qa[Q_IN_REGS ? MT : 1][Q_IN_REGS ? D / 16 : 1][4];
    if constexpr (Q_IN_REGS) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk)
                ldsm_x4(qa[mt][kk], Qs + swizzle<D>(warp * WR + mt * 16 + (mi & 1) * 8 + mr, kk * 16 + (mi >> 1) * 8));
    }

    float o[MT][D / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int n = 0; n < D / 8; ++n) o[mt][n][0] = o[mt][n][1] = o[mt][n][2] = o[mt][n][3] = 0.f;
    float m[MT][2], l[MT][2];  // rows g and g + 8 of each tile (l: this lane's part)
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.f;
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

        if (!(causal && j0 > w0 + WR - 1 + diag)) {  // else no row of this warp sees any key of the tile
            float s[MT][BC / 8][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int n = 0; n < BC / 8; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.f;
            // S = Q Kᵀ: each K fragment pair (b0, b1 / b2, b3) feeds MT row tiles
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
                unsigned qk[MT][4];
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    if constexpr (Q_IN_REGS) {
#pragma unroll
                        for (int e = 0; e < 4; ++e) qk[mt][e] = qa[mt][kk][e];
                    } else {
                        ldsm_x4(qk[mt], Qs + swizzle<D>(warp * WR + mt * 16 + (mi & 1) * 8 + mr, kk * 16 + (mi >> 1) * 8));
                    }
                }
#pragma unroll
                for (int np = 0; np < BC / 16; ++np) {
                    unsigned b[4];
                    ldsm_x4(b, Kt + swizzle<D>(np * 16 + (mi >> 1) * 8 + mr, kk * 16 + (mi & 1) * 8));
#pragma unroll
                    for (int mt = 0; mt < MT; ++mt) {
                        Mma<T>::run(s[mt][2 * np], qk[mt], b[0], b[1]);
                        Mma<T>::run(s[mt][2 * np + 1], qk[mt], b[2], b[3]);
                    }
                }
            }

            const bool masked = j0 + BC > n_k || has_pad || (causal && j0 + BC - 1 > w0 + diag);
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                const int row0 = w0 + mt * 16 + g;  // rows row0 and row0 + 8 of this lane
#pragma unroll
                for (int n = 0; n < BC / 8; ++n)
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        float x = s[mt][n][e] * scale_log2;
                        if (masked) {
                            const int j = j0 + n * 8 + 2 * t + (e & 1);
                            const bool visible = j < n_k && !(has_pad && pad_row[j]) &&
                                                 !(causal && j > row0 + 8 * (e >> 1) + diag);
                            if (!visible) x = -INFINITY;
                        }
                        s[mt][n][e] = x;
                    }
                float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
                for (int n = 0; n < BC / 8; ++n) {
                    tile_max[0] = fmaxf(tile_max[0], fmaxf(s[mt][n][0], s[mt][n][1]));
                    tile_max[1] = fmaxf(tile_max[1], fmaxf(s[mt][n][2], s[mt][n][3]));
                }
                float alpha[2], base[2];
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 1));
                    tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 2));
                    const float m_new = fmaxf(m[mt][h], tile_max[h]);
                    base[h] = m_new == -INFINITY ? 0.f : m_new;  // a row that has seen no key yet
                    alpha[h] = flash_exp2(m[mt][h] - base[h]);
                    m[mt][h] = m_new;
                    l[mt][h] *= alpha[h];
                }
#pragma unroll
                for (int n = 0; n < BC / 8; ++n)
#pragma unroll
                    for (int e = 0; e < 4; ++e) {
                        s[mt][n][e] = flash_exp2(s[mt][n][e] - base[e >> 1]);
                        l[mt][e >> 1] += s[mt][n][e];
                    }
#pragma unroll
                for (int n = 0; n < D / 8; ++n) {
                    o[mt][n][0] *= alpha[0];
                    o[mt][n][1] *= alpha[0];
                    o[mt][n][2] *= alpha[1];
                    o[mt][n][3] *= alpha[1];
                }
            }

            // O += P V: P's A fragments from the S registers; each V fragment pair feeds MT row tiles
#pragma unroll
            for (int kk = 0; kk < BC / 16; ++kk) {
                unsigned pa[MT][4];
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    pa[mt][0] = Mma<T>::pack(s[mt][2 * kk][0], s[mt][2 * kk][1]);
                    pa[mt][1] = Mma<T>::pack(s[mt][2 * kk][2], s[mt][2 * kk][3]);
                    pa[mt][2] = Mma<T>::pack(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                    pa[mt][3] = Mma<T>::pack(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
                }
#pragma unroll
                for (int np = 0; np < D / 16; ++np) {
                    unsigned b[4];
                    ldsm_x4_trans(b, Vt + swizzle<D>(kk * 16 + (mi & 1) * 8 + mr, np * 16 + (mi >> 1) * 8));
#pragma unroll
                    for (int mt = 0; mt < MT; ++mt) {
                        Mma<T>::run(o[mt][2 * np], pa[mt], b[0], b[1]);
                        Mma<T>::run(o[mt][2 * np + 1], pa[mt], b[2], b[3]);
                    }
                }
            }
        }
        __syncthreads();  // every warp is done with this stage before the next iteration refills it
    }

#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            float sum = l[mt][h];
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            const int row = w0 + mt * 16 + g + 8 * h;
            if (row >= n_q) continue;
            const float inv = sum > 0.f ? 1.f / sum : 0.f;  // a fully masked row: output 0
            T* orow = out + ((size_t)bh * n_q + row) * D;
#pragma unroll
            for (int n = 0; n < D / 8; ++n)
                *reinterpret_cast<unsigned*>(orow + n * 8 + 2 * t) =
                    Mma<T>::pack(o[mt][n][2 * h] * inv, o[mt][n][2 * h + 1] * inv);
            if (t == 0) lse[(size_t)bh * n_q + row] = sum > 0.f ? (m[mt][h] + log2f(sum)) * FLASH_LN2 : -INFINITY;
        }
    }
}

// Dynamic shared memory: (32 * WARPS + 4 * FLASH_BC) * FLASH_D * 2 bytes (Q block, 2 K and 2 V stages).
// 4 warps x 32 rows = 128-row blocks; __launch_bounds__(128, 2): two blocks per SM, up to 255 registers.
#define FLASH_FWD_TWO(NAME, T)                                                                               \
    extern "C" __global__ void __launch_bounds__(128, 2)                                                     \
        NAME(const T* q, const T* k, const T* v, const unsigned char* key_pad, T* out, float* lse, int heads, \
             int n_q, int n_k, float scale, int causal, int has_pad) {                                       \
        flash_fwd_two_tiles<T, FLASH_D, 4, 2>(q, k, v, key_pad, out, lse, heads, n_q, n_k, scale, causal, has_pad); \
    }

FLASH_FWD_TWO(flash_fwd_two_f16, __half)
FLASH_FWD_TWO(flash_fwd_two_bf16, __nv_bfloat16)
