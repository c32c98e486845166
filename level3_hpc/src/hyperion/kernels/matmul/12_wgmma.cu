// Matmul 12 -- Hopper's own tensor-core path: warpgroup MMA (wgmma.mma_async, sm_90a).
// 10 and 11 issue mma.sync: every warp loads its fragments from shared memory into registers (ldmatrix)
// and the SASS shows HMMA. On Hopper the fast path is wgmma (HGMMA in SASS): a warpgroup of 4 warps
// (128 threads) issues one asynchronous 64 x N x 16 product whose A and B operands the tensor cores read
// straight from shared memory, described by 64-bit matrix descriptors; only the accumulators live in
// registers. So the kernel's job is to keep shared memory full and correctly laid out:
//  * block tile BM x BN x 64 (BM = 64 per warpgroup), a ring of TC_STAGES stages filled with 16-byte
//    cp.async (zero-filled past the matrix edges, as in 11);
//  * the layout is the tensor cores' "128-byte swizzle": each 128-byte line (64 bf16) of a tile is eight
//    16-byte chunks, and chunk c of line r is stored at chunk c ^ (r % 8) -- the same XOR as 11. A (M x K,
//    K contiguous) is "K-major": line r = row r of the 64-wide k slice, 8-line groups 1024 bytes apart.
//    B (K x N, N contiguous) is "N-major": stored as BN/64 panels of 64 columns, line r = k row r of a
//    panel, so 8-k-row groups are 1024 bytes apart and panels BK * 128 bytes apart;
//  * per k-tile each warpgroup issues 4 wgmmas (k = 16 each: the descriptors' start address moves 32
//    bytes along a K-major line for A, 16 lines = 2048 bytes for B), commits them as one group, and waits
//    only for the previous tile's group (wait_group 1): the tensor cores always have the next tile queued.
//    So a stage is refilled two tiles after it was read: the ring keeps STAGES - 2 tiles in flight;
//  * cp.async writes shared memory through the ordinary ("generic") proxy and wgmma reads through the
//    async proxy: each thread's fence.proxy.async after its copies landed, then the barrier, orders them;
//  * grouped rasterisation: consecutive blocks walk TC_GROUP_M block rows before moving right, so the
//    blocks running at one time share A and B tiles in L2.
// Accumulator layout of wgmma m64nN (fp32): warp w of the warpgroup owns rows 16 w .. 16 w + 15; within
// it, register 4 j + 2 h + e is row lane / 4 + 8 h, column 8 j + 2 (lane % 4) + e (m16n8's C layout
// repeated along N). bf16/fp16 in (16-bit patterns), fp32 accumulate, fp32 out. Compile for sm_90a.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "wgmma.cuh"

#ifndef TC_BM
#define TC_BM 128
#endif
#ifndef TC_BN
#define TC_BN 256
#endif
#ifndef TC_STAGES
#define TC_STAGES 4
#endif
#ifndef TC_GROUP_M
#define TC_GROUP_M 8
#endif
#ifndef TC_B_LBO  // byte stride between 64-column panels of B (the descriptor's leading byte offset)
#define TC_B_LBO (TC_BK * 128)
#endif
#ifndef TC_B_SBO  // byte stride between groups of 8 k rows of B (the stride byte offset)
#define TC_B_SBO 1024
#endif

constexpr int TC_BK = 64;  // one 128-byte swizzle line of A per row
constexpr int WARPGROUPS = TC_BM / 64;
constexpr int NTHREADS = 128 * WARPGROUPS;
constexpr int A_STAGE = TC_BM * TC_BK, B_STAGE = TC_BK * TC_BN;  // elements per stage
constexpr int B_CPR = TC_BN / 8;                                 // 16-byte chunks per k row of B
constexpr int A_PASS = NTHREADS / 8, B_PASS = NTHREADS / B_CPR;  // rows copied per pass
constexpr int A_ITERS = (TC_BM + A_PASS - 1) / A_PASS, B_ITERS = (TC_BK + B_PASS - 1) / B_PASS;
constexpr int ACC = TC_BN / 2;  // fp32 accumulators per thread
static_assert(TC_BM % 64 == 0 && TC_BN % 64 == 0, "tiles are whole 64-row warpgroups and 64-column panels");
static_assert(TC_BN == 128 || TC_BN == 256, "wgmma m64n128k16 or m64n256k16");
constexpr bool B_EVEN = B_ITERS * B_PASS == TC_BK;  // else (3 warpgroups) the last pass is partial
static_assert(A_ITERS * A_PASS == TC_BM, "even copy split of A");
static_assert(NTHREADS % B_CPR == 0, "each thread copies one fixed chunk column of B");
static_assert(TC_STAGES >= 3, "a stage is refilled two tiles after use: at least 3 stages");

__device__ __forceinline__ void cp_async16(unsigned dst, const void* gmem, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// One k-tile into one stage. Thread t copies chunk t % 8 of A rows t / 8 + i * A_PASS, and chunk t % B_CPR
// of B k rows t / B_CPR + i * B_PASS (panel chunk / 8, chunk chunk % 8 inside the panel's line).
__device__ __forceinline__ void load_tile(const unsigned short* A, const unsigned short* B, unsigned as,
                                          unsigned bs, unsigned short* as_ptr, unsigned short* bs_ptr,
                                          int rowBase, int colBase, int k0, int M, int N, int K, int vec) {
    const int ac = threadIdx.x % 8, ar = threadIdx.x / 8;
    const int gk = k0 + ac * 8;
#pragma unroll
    for (int i = 0; i < A_ITERS; ++i) {
        const int r = ar + i * A_PASS, gr = rowBase + r;
        const unsigned off = swizzled(r, ac);
        const unsigned short* src = A + (size_t)gr * K + gk;
        if (vec) {
            const bool ok = gr < M && gk < K;
            cp_async16(as + off, ok ? src : A, ok);
        } else {
#pragma unroll
            for (int j = 0; j < 8; ++j) as_ptr[off / 2 + j] = (gr < M && gk + j < K) ? src[j] : 0;
        }
    }
    const int bq = threadIdx.x % B_CPR, br = threadIdx.x / B_CPR;
    const int gn = colBase + bq * 8;
#pragma unroll
    for (int i = 0; i < B_ITERS; ++i) {
        const int r = br + i * B_PASS, gr = k0 + r;
        if (!B_EVEN && r >= TC_BK) break;
        const unsigned off = (bq / 8) * (TC_BK * 128) + swizzled(r, bq % 8);
        const unsigned short* src = B + (size_t)gr * N + gn;
        if (vec) {
            const bool ok = gr < K && gn < N;
            cp_async16(bs + off, ok ? src : B, ok);
        } else {
#pragma unroll
            for (int j = 0; j < 8; ++j) bs_ptr[off / 2 + j] = (gr < K && gn + j < N) ? src[j] : 0;
        }
    }
}

template <bool BF16>
__device__ __forceinline__ void wgmma_gemm(const unsigned short* A, const unsigned short* B, float* C, int M,
                                           int N, int K, int vec) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    // the swizzle is a function of address bits 4-9: every tile must start on a 1024-byte boundary
    const unsigned raw = smem_addr(smem_raw), base = (raw + 1023) & ~1023u;
    unsigned short* smem = reinterpret_cast<unsigned short*>(smem_raw + (base - raw));
    const unsigned As = base, Bs = base + TC_STAGES * A_STAGE * 2;
    unsigned short* As_ptr = smem;
    unsigned short* Bs_ptr = smem + TC_STAGES * A_STAGE;

    // grouped rasterisation of a 1-D grid
    const int2 corner = raster_tile(M, N, TC_BM, TC_BN, TC_GROUP_M);
    const int rowBase = corner.x, colBase = corner.y;
    const int wg = threadIdx.x / 128;

    float acc[ACC];
#pragma unroll
    for (int i = 0; i < ACC; ++i) acc[i] = 0.f;

    const int tiles = (K + TC_BK - 1) / TC_BK;
    constexpr int AHEAD = TC_STAGES - 2;  // tiles in flight from global memory
#pragma unroll
    for (int s = 0; s < AHEAD; ++s) {
        if (s < tiles)
            load_tile(A, B, As + s * A_STAGE * 2, Bs + s * B_STAGE * 2, As_ptr + s * A_STAGE, Bs_ptr + s * B_STAGE,
                      rowBase, colBase, s * TC_BK, M, N, K, vec);
        cp_async_commit();
    }
    for (int t = 0; t < tiles; ++t) {
        cp_async_wait<AHEAD - 1>();  // tile t has landed (this thread's copies) ...
        fence_proxy_async();         // ... visible to the async proxy ...
        __syncthreads();             // ... for every thread; every warpgroup has finished tile t - 2
        const int next = t + AHEAD;
        if (next < tiles) {
            const int s = next % TC_STAGES;  // the stage of tile t - 2
            load_tile(A, B, As + s * A_STAGE * 2, Bs + s * B_STAGE * 2, As_ptr + s * A_STAGE, Bs_ptr + s * B_STAGE,
                      rowBase, colBase, next * TC_BK, M, N, K, vec);
        }
        cp_async_commit();
        const int s = t % TC_STAGES;
        fence_acc(acc);
        wgmma_fence();
        wgmma_tile<BF16, TC_BN, TC_BK>(acc, As + s * A_STAGE * 2 + wg * 64 * 128, Bs + s * B_STAGE * 2, TC_B_LBO,
                                        TC_B_SBO);
        wgmma_commit();
        wgmma_wait<1>();  // tile t - 1's products are done: its stage may be refilled after the next barrier
        fence_acc(acc);
    }
    wgmma_wait<0>();
    fence_acc(acc);
    cp_async_wait<0>();

    store_acc<TC_BN>(acc, C, M, N, rowBase + wg * 64, colBase);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 1)
    matmul_wgmma_bf16(const unsigned short* A, const unsigned short* B, float* C, int M, int N, int K, int vec) {
    wgmma_gemm<true>(A, B, C, M, N, K, vec);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 1)
    matmul_wgmma_f16(const unsigned short* A, const unsigned short* B, float* C, int M, int N, int K, int vec) {
    wgmma_gemm<false>(A, B, C, M, N, K, vec);
}
