// FlashAttention-2 forward in fp16 / bf16 with mma.sync (m16n8k16, fp32 accumulate), all in registers.
//
// What 03 round-trips through shared memory, this version keeps in registers, as FlashAttention-2
// does. It relies on the fragment layouts that the PTX ISA documents for mma.m16n8k16 (lane = 4g + t,
// g = lane / 4 in 0..7, t = lane % 4):
//   A (16 x 16, row-major): a0 = A[g][2t, 2t+1], a1 = A[g+8][2t, 2t+1], a2 = A[g][2t+8, 2t+9], a3 = A[g+8][2t+8, 2t+9]
//   B (16 x 8, "col"):      b0 = B[2t, 2t+1][g],  b1 = B[2t+8, 2t+9][g]
//   C (16 x 8, fp32):       c0, c1 = C[g][2t, 2t+1],  c2, c3 = C[g+8][2t, 2t+1]
// Consequences: (1) a thread holds, for rows g and g+8, 2 of every 8 columns of S, so a row's max and
// sum need only two shuffles inside the group of 4 lanes; (2) the C fragments of S for keys 16k..16k+15,
// rounded to half, *are* the A fragments of P for the P V product: P never leaves the registers;
// (3) the output accumulator is C fragments too, so the online-softmax rescale by alpha is a multiply
// on registers. The per-thread partial row sum l is reduced across the 4 lanes only at the end.
//
// Block partitioning as in 03: grid = (ceil(N_q / 64), B*H), 4 warps, 16 query rows per warp, key
// tiles of 64 rows. Shared memory holds the K and V tiles row-major, padded by 8 halves per row: a B
// fragment of Kᵀ is then two contiguous pairs (32-bit loads), one of V two pairs of halves from
// consecutive rows (16-bit loads); both patterns are free of bank conflicts with that padding.
// Causal: tiles right of the block's last row are skipped.
#include "common.cuh"

template <typename T> struct Mma;
template <> struct Mma<__half> {
    static __device__ __forceinline__ void run(float* c, const unsigned* a, const unsigned* b) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
    static __device__ __forceinline__ unsigned pack(float lo, float hi) {
        __half2 h = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<unsigned*>(&h);
    }
};
template <> struct Mma<__nv_bfloat16> {
    static __device__ __forceinline__ void run(float* c, const unsigned* a, const unsigned* b) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
    static __device__ __forceinline__ unsigned pack(float lo, float hi) {
        __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<unsigned*>(&h);
    }
};

template <typename T>
__device__ __forceinline__ unsigned pair_at(const T* p) {  // two consecutive halves as one 32-bit register
    return *reinterpret_cast<const unsigned*>(p);
}

template <typename T>
__device__ __forceinline__ unsigned pair_of(const T* lo, const T* hi) {  // two halves from anywhere
    return (unsigned)*reinterpret_cast<const unsigned short*>(lo) |
           ((unsigned)*reinterpret_cast<const unsigned short*>(hi) << 16);
}

template <typename T, int D>
__device__ void flash_fwd_mma(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                              const unsigned char* __restrict__ key_pad, T* __restrict__ out,
                              float* __restrict__ lse, int heads, int n_q, int n_k, float scale, int causal) {
    constexpr int WARPS = 4, BR = 16 * WARPS, BC = 64, VEC = 8;
    constexpr int LDK = D + 8;  // Ks[BC][LDK] (also stages Q[BR][LDK]) and Vs[BC][LDK]
    __shared__ __align__(16) T Ks[BC * LDK];
    __shared__ __align__(16) T Vs[BC * LDK];

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int bh = blockIdx.y, q0 = blockIdx.x * BR;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    q += (size_t)bh * n_q * D;
    k += (size_t)bh * n_k * D;
    v += (size_t)bh * n_k * D;
    const uint4 zero = make_uint4(0, 0, 0, 0);

    // Q rows of this block -> shared (zero past N_q) -> A fragments of this warp's 16 rows, kept.
    for (int idx = threadIdx.x; idx < BR * D / VEC; idx += 32 * WARPS) {
        const int r = idx / (D / VEC), c = (idx % (D / VEC)) * VEC, i = q0 + r;
        *reinterpret_cast<uint4*>(Ks + r * LDK + c) =
            i < n_q ? *reinterpret_cast<const uint4*>(q + (size_t)i * D + c) : zero;
    }
    __syncthreads();
    unsigned qa[D / 16][4];
    const T* qw = Ks + warp * 16 * LDK;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
        qa[kk][0] = pair_at(qw + g * LDK + kk * 16 + 2 * t);
        qa[kk][1] = pair_at(qw + (g + 8) * LDK + kk * 16 + 2 * t);
        qa[kk][2] = pair_at(qw + g * LDK + kk * 16 + 8 + 2 * t);
        qa[kk][3] = pair_at(qw + (g + 8) * LDK + kk * 16 + 8 + 2 * t);
    }

    float o[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};  // rows g and g + 8 (l: this lane's part)
    const int rows[2] = {q0 + warp * 16 + g, q0 + warp * 16 + g + 8};
    const float scale_log2 = scale * FLASH_LOG2E;
    const int diag = causal_diag(causal, n_q, n_k);
    const int kv_end = causal ? min(n_k, max(0, q0 + BR + diag)) : n_k;

    for (int j0 = 0; j0 < kv_end; j0 += BC) {
        __syncthreads();  // Q staging / the previous tile are no longer read
        for (int idx = threadIdx.x; idx < BC * D / VEC; idx += 32 * WARPS) {
            const int c = idx / (D / VEC), d0 = (idx % (D / VEC)) * VEC, j = j0 + c;
            const bool in = j < n_k;
            *reinterpret_cast<uint4*>(Ks + c * LDK + d0) =
                in ? *reinterpret_cast<const uint4*>(k + (size_t)j * D + d0) : zero;
            *reinterpret_cast<uint4*>(Vs + c * LDK + d0) =
                in ? *reinterpret_cast<const uint4*>(v + (size_t)j * D + d0) : zero;
        }
        __syncthreads();

        // S = Q Kᵀ: BC / 8 fragments of 16 x 8
        float s[BC / 8][4];
#pragma unroll
        for (int n = 0; n < BC / 8; ++n) {
            s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
                unsigned b[2];
                b[0] = pair_at(Ks + (n * 8 + g) * LDK + kk * 16 + 2 * t);
                b[1] = pair_at(Ks + (n * 8 + g) * LDK + kk * 16 + 8 + 2 * t);
                Mma<T>::run(s[n], qa[kk], b);
            }
        }

        // online softmax on the registers: element e of fragment n is row rows[e / 2], key n*8 + 2t + e%2
        float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
        for (int n = 0; n < BC / 8; ++n) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int j = j0 + n * 8 + 2 * t + (e & 1);
                const float x = key_visible(j, rows[e >> 1], n_k, pad_row, causal, diag) ? s[n][e] * scale_log2 : -INFINITY;
                s[n][e] = x;
                tile_max[e >> 1] = fmaxf(tile_max[e >> 1], x);
            }
        }
        float alpha[2], shift[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 1));
            tile_max[h] = fmaxf(tile_max[h], __shfl_xor_sync(0xffffffffu, tile_max[h], 2));
            const float m_new = fmaxf(m[h], tile_max[h]);
            shift[h] = m_new == -INFINITY ? 0.f : m_new;
            alpha[h] = flash_exp2(m[h] - shift[h]);
            m[h] = m_new;
            l[h] *= alpha[h];
        }
#pragma unroll
        for (int n = 0; n < BC / 8; ++n) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                s[n][e] = flash_exp2(s[n][e] - shift[e >> 1]);
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

        // O += P V: the S fragments for keys 16kk..16kk+15, packed to half, are P's A fragments.
#pragma unroll
        for (int kk = 0; kk < BC / 16; ++kk) {
            unsigned pa[4];
            pa[0] = Mma<T>::pack(s[2 * kk][0], s[2 * kk][1]);
            pa[1] = Mma<T>::pack(s[2 * kk][2], s[2 * kk][3]);
            pa[2] = Mma<T>::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            pa[3] = Mma<T>::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
            for (int n = 0; n < D / 8; ++n) {
                unsigned b[2];
                const T* col = Vs + (kk * 16 + 2 * t) * LDK + n * 8 + g;  // B[2t][g] = V[key 2t][dim g]
                b[0] = pair_of(col, col + LDK);
                b[1] = pair_of(col + 8 * LDK, col + 9 * LDK);
                Mma<T>::run(o[n], pa, b);
            }
        }
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
        for (int n = 0; n < D / 8; ++n) {
            const unsigned packed = Mma<T>::pack(o[n][2 * h] * inv, o[n][2 * h + 1] * inv);
            *reinterpret_cast<unsigned*>(orow + n * 8 + 2 * t) = packed;
        }
        if (t == 0) lse[(size_t)bh * n_q + row] = l[h] > 0.f ? (m[h] + log2f(l[h])) * FLASH_LN2 : -INFINITY;
    }
}

#ifndef FLASH_D
#define FLASH_D 64  // the head dimension; the loader compiles one module per D (16, 32, 64 or 128)
#endif

#define FLASH_FWD_MMA(NAME, T)                                                                               \
    extern "C" __global__ void __launch_bounds__(128)                                                        \
        NAME(const T* q, const T* k, const T* v, const unsigned char* key_pad, T* out, float* lse, int heads, \
             int n_q, int n_k, float scale, int causal) {                                                    \
        flash_fwd_mma<T, FLASH_D>(q, k, v, key_pad, out, lse, heads, n_q, n_k, scale, causal);              \
    }

FLASH_FWD_MMA(flash_fwd_mma_f16, __half)
FLASH_FWD_MMA(flash_fwd_mma_bf16, __nv_bfloat16)
