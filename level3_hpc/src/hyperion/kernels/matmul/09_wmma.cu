// Matmul 09 -- tensor cores through WMMA: bf16 or fp16 inputs, fp32 accumulation and output, C = A @ B.
// WMMA 16x16x16 fragments; a block of (BM/WM) x (BN/WN) warps computes a BM x BN tile, each warp a
// WM x WN tile of (WM/16) x (WN/16) accumulator fragments. Tiles of A and B stream through a STAGES-deep
// ring of shared-memory buffers filled with cp.async (16-byte copies that bypass registers), so loads of
// tile k+2 overlap the MMAs on tile k. Rows are padded by 8 elements (16 bytes) against bank conflicts.
// When K or N is not a multiple of 8 (`vec` = 0), loads fall back to guarded 2-byte copies.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>
using namespace nvcuda;

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

constexpr int WARPS_N = TC_BN / TC_WN;
constexpr int NTHREADS = 32 * (TC_BM / TC_WM) * WARPS_N;
constexpr int FM = TC_WM / 16, FN = TC_WN / 16;
constexpr int A_LD = TC_BK + 8, B_LD = TC_BN + 8;  // padded leading dimensions (elements)
constexpr int A_STAGE = TC_BM * A_LD, B_STAGE = TC_BK * B_LD;

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
    const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    const int bytes = valid ? 16 : 0;  // 0: nothing is read, the 16 bytes are zero-filled
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// Copy the k-tile starting at column k0 of A (BM x BK) and row k0 of B (BK x BN) into one stage.
__device__ __forceinline__ void load_tile(const unsigned short* A, const unsigned short* B, unsigned short* As,
                                          unsigned short* Bs, int rowBase, int colBase, int k0, int M, int N,
                                          int K, int vec) {
    constexpr int A_CHUNKS = TC_BM * TC_BK / 8, B_CHUNKS = TC_BK * TC_BN / 8;
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

template <typename T>
__device__ __forceinline__ void tc_gemm(const unsigned short* A, const unsigned short* B, float* C, int M, int N,
                                        int K, int vec) {
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned short* As = reinterpret_cast<unsigned short*>(smem);
    unsigned short* Bs = As + TC_STAGES * A_STAGE;
    const int rowBase = blockIdx.y * TC_BM, colBase = blockIdx.x * TC_BN;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int warpRow = warp / WARPS_N, warpCol = warp % WARPS_N;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[FM][FN];
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
        for (int j = 0; j < FN; ++j) wmma::fill_fragment(acc[i][j], 0.f);

    const int tiles = (K + TC_BK - 1) / TC_BK;
#pragma unroll
    for (int s = 0; s < TC_STAGES - 1; ++s) {
        if (s < tiles) load_tile(A, B, As + s * A_STAGE, Bs + s * B_STAGE, rowBase, colBase, s * TC_BK, M, N, K, vec);
        cp_async_commit();
    }
    for (int t = 0; t < tiles; ++t) {
        cp_async_wait<TC_STAGES - 2>();  // tile t has landed (for this thread) ...
        __syncthreads();                 // ... for every thread; and stage (t-1) is free again
        const int next = t + TC_STAGES - 1;
        if (next < tiles) {
            const int s = next % TC_STAGES;
            load_tile(A, B, As + s * A_STAGE, Bs + s * B_STAGE, rowBase, colBase, next * TC_BK, M, N, K, vec);
        }
        cp_async_commit();
        const T* as = reinterpret_cast<const T*>(As + (t % TC_STAGES) * A_STAGE);
        const T* bs = reinterpret_cast<const T*>(Bs + (t % TC_STAGES) * B_STAGE);
#pragma unroll
        for (int kk = 0; kk < TC_BK; kk += 16) {
            // Task 3.5: tc_gemm. One 16-deep step of the warp's WM x WN tile on tensor cores: load the FM
            // A fragments (rows warpRow*WM + i*16 of stage `as`, columns kk.., leading dimension A_LD) and
            // the FN B fragments (rows kk.., columns warpCol*WN + j*16 of `bs`, leading dimension B_LD)
            // with wmma::load_matrix_sync, then acc[i][j] += a[i] * b[j] with wmma::mma_sync for every
            // (i, j). Each fragment is reused FN (or FM) times: that reuse is what the warp tile buys.
            // BEGIN SOLUTION
            wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a[FM];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> b[FN];
#pragma unroll
            for (int i = 0; i < FM; ++i) wmma::load_matrix_sync(a[i], as + (warpRow * TC_WM + i * 16) * A_LD + kk, A_LD);
#pragma unroll
            for (int j = 0; j < FN; ++j) wmma::load_matrix_sync(b[j], bs + kk * B_LD + warpCol * TC_WN + j * 16, B_LD);
#pragma unroll
            for (int i = 0; i < FM; ++i)
#pragma unroll
                for (int j = 0; j < FN; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
            // END SOLUTION
        }
    }
    cp_async_wait<0>();
    __syncthreads();  // the pipeline's buffers are reused as per-warp scratch below
    float* scratch = reinterpret_cast<float*>(smem) + warp * 256;
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
        for (int j = 0; j < FN; ++j) {
            const int r0 = rowBase + warpRow * TC_WM + i * 16, c0 = colBase + warpCol * TC_WN + j * 16;
            if (r0 + 16 <= M && c0 + 16 <= N && N % 8 == 0) {
                wmma::store_matrix_sync(C + (size_t)r0 * N + c0, acc[i][j], N, wmma::mem_row_major);
            } else if (r0 < M && c0 < N) {  // edge tile: stage through shared memory, store what is inside
                wmma::store_matrix_sync(scratch, acc[i][j], 16, wmma::mem_row_major);
                __syncwarp();
                for (int e = lane; e < 256; e += 32) {
                    const int r = r0 + e / 16, c = c0 + e % 16;
                    if (r < M && c < N) C[(size_t)r * N + c] = scratch[e];
                }
                __syncwarp();
            }
        }
}

// A, B hold the raw 16-bit patterns (bf16 or fp16), row-major; C is fp32.
extern "C" __global__ void __launch_bounds__(NTHREADS)
    matmul_tc_bf16(const unsigned short* A, const unsigned short* B, float* C, int M, int N, int K, int vec) {
    tc_gemm<__nv_bfloat16>(A, B, C, M, N, K, vec);
}

extern "C" __global__ void __launch_bounds__(NTHREADS)
    matmul_tc_f16(const unsigned short* A, const unsigned short* B, float* C, int M, int N, int K, int vec) {
    tc_gemm<__half>(A, B, C, M, N, K, vec);
}
