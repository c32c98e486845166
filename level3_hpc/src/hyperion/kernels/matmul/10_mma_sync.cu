// Matmul 10 -- tensor cores without WMMA: raw `mma.sync.m16n8k16` (bf16/fp16 in, fp32 accumulate) fed
// by `ldmatrix`, the PTX that WMMA hides. ldmatrix.x4 loads four 8x8 tiles of 16-bit values from
// shared memory straight into the register layout mma expects (.trans transposes B on the way, so B
// can stay row-major); the accumulator layout is known, so the epilogue writes C without a trip through
// shared memory. Same cp.async ring of STAGES buffers as 09; rows padded by 8 elements, which makes the
// eight 16-byte row addresses of every ldmatrix land in eight different bank groups.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#ifndef TC_BM
#define TC_BM 128
#endif
#ifndef TC_BN
#define TC_BN 128
#endif
#ifndef TC_BK
#define TC_BK 32
#endif
#ifndef TC_WM
#define TC_WM 64
#endif
#ifndef TC_WN
#define TC_WN 32
#endif
#ifndef TC_STAGES
#define TC_STAGES 3
#endif
#ifndef TC_MINB
#define TC_MINB 1  // blocks per SM the compiler must leave room for (caps registers: more warps in flight)
#endif

constexpr int WARPS_N = TC_BN / TC_WN;
constexpr int NTHREADS = 32 * (TC_BM / TC_WM) * WARPS_N;
constexpr int MI = TC_WM / 16, NI = TC_WN / 8;  // m16 x n8 accumulator tiles per warp
constexpr int A_LD = TC_BK + 8, B_LD = TC_BN + 8;
constexpr int A_STAGE = TC_BM * A_LD, B_STAGE = TC_BK * B_LD;
static_assert(NI % 2 == 0, "B fragments are loaded two n8 tiles at a time");

__device__ __forceinline__ unsigned smem_addr(const void* p) {
    return static_cast<unsigned>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void load_tile(const unsigned short* A, const unsigned short* B, unsigned short* As,
                                          unsigned short* Bs, int rowBase, int colBase, int k0, int M, int N,
                                          int K, int vec) {
    constexpr int A_CHUNKS = TC_BM * TC_BK / 8, B_CHUNKS = TC_BK * TC_BN / 8;
#pragma unroll
    for (int c = threadIdx.x; c < A_CHUNKS; c += NTHREADS) {
        const int r = c / (TC_BK / 8), k = (c % (TC_BK / 8)) * 8;
        const int gr = rowBase + r, gk = k0 + k;
        unsigned short* dst = &As[r * A_LD + k];
        if (vec) {
            const bool ok = gr < M && gk < K;
            cp_async16(dst, ok ? &A[(size_t)gr * K + gk] : A, ok);
        } else {
            for (int j = 0; j < 8; ++j) dst[j] = (gr < M && gk + j < K) ? A[(size_t)gr * K + gk + j] : 0;
        }
    }
#pragma unroll
    for (int c = threadIdx.x; c < B_CHUNKS; c += NTHREADS) {
        const int r = c / (TC_BN / 8), n = (c % (TC_BN / 8)) * 8;
        const int gr = k0 + r, gn = colBase + n;
        unsigned short* dst = &Bs[r * B_LD + n];
        if (vec) {
            const bool ok = gr < K && gn < N;
            cp_async16(dst, ok ? &B[(size_t)gr * N + gn] : B, ok);
        } else {
            for (int j = 0; j < 8; ++j) dst[j] = (gr < K && gn + j < N) ? B[(size_t)gr * N + gn + j] : 0;
        }
    }
}

template <bool BF16>
__device__ __forceinline__ void mma16816(float* d, const unsigned* a, const unsigned* b) {
    if (BF16) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
}

template <bool BF16>
__device__ __forceinline__ void mma_gemm(const unsigned short* A, const unsigned short* B, float* C, int M, int N,
                                         int K, int vec) {
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned short* As = reinterpret_cast<unsigned short*>(smem);
    unsigned short* Bs = As + TC_STAGES * A_STAGE;
    const int rowBase = blockIdx.y * TC_BM, colBase = blockIdx.x * TC_BN;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wm0 = (warp / WARPS_N) * TC_WM, wn0 = (warp % WARPS_N) * TC_WN;

    float acc[MI][NI][4];
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;

    const int tiles = (K + TC_BK - 1) / TC_BK;
#pragma unroll
    for (int s = 0; s < TC_STAGES - 1; ++s) {
        if (s < tiles) load_tile(A, B, As + s * A_STAGE, Bs + s * B_STAGE, rowBase, colBase, s * TC_BK, M, N, K, vec);
        cp_async_commit();
    }
    for (int t = 0; t < tiles; ++t) {
        cp_async_wait<TC_STAGES - 2>();
        __syncthreads();
        const int next = t + TC_STAGES - 1;
        if (next < tiles) {
            const int s = next % TC_STAGES;
            load_tile(A, B, As + s * A_STAGE, Bs + s * B_STAGE, rowBase, colBase, next * TC_BK, M, N, K, vec);
        }
        cp_async_commit();
        const unsigned short* as = As + (t % TC_STAGES) * A_STAGE;
        const unsigned short* bs = Bs + (t % TC_STAGES) * B_STAGE;
#pragma unroll
        for (int kk = 0; kk < TC_BK; kk += 16) {
            unsigned a[MI][4], b[NI][2];
#pragma unroll
            for (int i = 0; i < MI; ++i) {  // lane l points at row (l % 16), column kk + (l / 16) * 8
                const unsigned short* p = as + (wm0 + i * 16 + lane % 16) * A_LD + kk + (lane / 16) * 8;
                asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                             : "=r"(a[i][0]), "=r"(a[i][1]), "=r"(a[i][2]), "=r"(a[i][3])
                             : "r"(smem_addr(p)));
            }
#pragma unroll
            for (int j = 0; j < NI; j += 2) {  // lane l points at k row kk + (l % 16), n column + (l / 16) * 8
                const unsigned short* p = bs + (kk + lane % 16) * B_LD + wn0 + j * 8 + (lane / 16) * 8;
                asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                             : "=r"(b[j][0]), "=r"(b[j][1]), "=r"(b[j + 1][0]), "=r"(b[j + 1][1])
                             : "r"(smem_addr(p)));
            }
#pragma unroll
            for (int i = 0; i < MI; ++i)
#pragma unroll
                for (int j = 0; j < NI; ++j) mma16816<BF16>(acc[i][j], a[i], b[j]);
        }
    }
    cp_async_wait<0>();
    // accumulator layout of m16n8: c0, c1 at row lane / 4, columns 2 (lane % 4) + {0, 1}; c2, c3 eight rows down
    const bool pairs = (N % 2 == 0);
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int r = rowBase + wm0 + i * 16 + lane / 4 + h * 8;
                const int c = colBase + wn0 + j * 8 + (lane % 4) * 2;
                if (r >= M) continue;
                const float v0 = acc[i][j][2 * h], v1 = acc[i][j][2 * h + 1];
                if (pairs && c + 1 < N) {
                    *reinterpret_cast<float2*>(&C[(size_t)r * N + c]) = make_float2(v0, v1);
                } else {
                    if (c < N) C[(size_t)r * N + c] = v0;
                    if (c + 1 < N) C[(size_t)r * N + c + 1] = v1;
                }
            }
}

extern "C" __global__ void __launch_bounds__(NTHREADS, TC_MINB)
    matmul_mma_bf16(const unsigned short* A, const unsigned short* B, float* C, int M, int N, int K, int vec) {
    mma_gemm<true>(A, B, C, M, N, K, vec);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, TC_MINB)
    matmul_mma_f16(const unsigned short* A, const unsigned short* B, float* C, int M, int N, int K, int vec) {
    mma_gemm<false>(A, B, C, M, N, K, vec);
}
