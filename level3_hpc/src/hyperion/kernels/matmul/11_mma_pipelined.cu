// Matmul 11 -- 10's mma.sync kernel, reorganised the way production Ampere/Hopper mma.sync GEMMs are:
//  * XOR-swizzled shared memory instead of padding: 16-byte chunk c of tile row r is stored at chunk
//    c ^ (r % 8), so the eight row addresses of every ldmatrix 8x8 matrix (same logical chunk, eight
//    consecutive rows) fall in eight different bank groups, and every cp.async row of 128 bytes is still
//    written whole -- no wasted padding bytes, tiles of exactly BM x BK and BK x BN;
//  * each thread's cp.async source pointers and swizzled destinations are computed once, before the K
//    loop, and the copy loops have compile-time trip counts (10 recomputes them per tile);
//  * fragments are double-buffered in registers: the ldmatrix of k-step s+1 is issued before the MMAs of
//    step s, so the tensor cores are not waiting on shared-memory latency inside a tile;
//  * a 3-4 stage cp.async ring (BK = 64) keeps STAGES - 1 tiles in flight from global memory.
// bf16/fp16 in (16-bit patterns), fp32 accumulate, fp32 out. Edges: rows/columns/k past the matrix are
// zero-filled by cp.async's src-size operand (or by guarded scalar loads when `vec` is 0: K or N not a
// multiple of 8, or unaligned pointers); the epilogue stores only inside C.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#ifndef TC_BM
#define TC_BM 128
#endif
#ifndef TC_BN
#define TC_BN 128
#endif
#ifndef TC_BK
#define TC_BK 64
#endif
#ifndef TC_WM
#define TC_WM 64
#endif
#ifndef TC_WN
#define TC_WN 64
#endif
#ifndef TC_STAGES
#define TC_STAGES 3
#endif
#ifndef TC_MINB
#define TC_MINB 1
#endif

constexpr int WARPS_N = TC_BN / TC_WN;
constexpr int NTHREADS = 32 * (TC_BM / TC_WM) * WARPS_N;
constexpr int MI = TC_WM / 16, NI = TC_WN / 8;  // m16 x n8 accumulator tiles per warp
constexpr int KSTEPS = TC_BK / 16;
constexpr int A_CPR = TC_BK / 8, B_CPR = TC_BN / 8;  // 16-byte chunks per row of the A and B tiles
constexpr int A_STAGE = TC_BM * TC_BK, B_STAGE = TC_BK * TC_BN;  // elements per stage
constexpr int A_ITERS = TC_BM * A_CPR / NTHREADS, B_ITERS = TC_BK * B_CPR / NTHREADS;
static_assert(A_CPR >= 8 && B_CPR >= 8, "the XOR swizzle needs tile rows of at least 8 chunks (BK, BN >= 64)");
static_assert(A_CPR % 8 == 0 && B_CPR % 8 == 0, "tile rows must be whole multiples of 8 chunks");
static_assert(NTHREADS % A_CPR == 0 && NTHREADS % B_CPR == 0, "each thread copies one fixed chunk column");
static_assert(A_ITERS * NTHREADS == TC_BM * A_CPR && B_ITERS * NTHREADS == TC_BK * B_CPR, "even copy split");
static_assert(NI % 2 == 0, "B fragments are loaded two n8 tiles at a time");

// Element offset of chunk `chunk` of row `row` in a swizzled tile with CPR chunks per row.
template <int CPR>
__device__ __forceinline__ int swizzled(int row, int chunk) {
    return (row * CPR + (chunk ^ (row & 7))) * 8;
}

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

__device__ __forceinline__ void ldmatrix_x4(unsigned* r, const unsigned short* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3,
                                                  const unsigned short* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(smem_addr(p)));
}

template <bool BF16>
__device__ __forceinline__ void mma16816(float* d, const unsigned* a, const unsigned* b) {
    if (BF16) {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
}

// What one thread copies of every tile: rows r0 + i * A_ROWS_PER_PASS of A (chunk column a_k / 8) and
// rows b_row0 + i * B_ROWS_PER_PASS of B (one chunk column). The passes are a multiple of 8 rows apart,
// so the swizzle phase (row % 8) is the same in every pass: one destination offset plus a constant stride.
constexpr int A_ROWS_PER_PASS = NTHREADS / A_CPR, B_ROWS_PER_PASS = NTHREADS / B_CPR;
static_assert(A_ROWS_PER_PASS % 8 == 0 && B_ROWS_PER_PASS % 8 == 0, "passes must keep the swizzle phase");
static_assert(A_ITERS <= 32, "A row-validity bits fit one word");
struct CopyPlan {
    const unsigned short* a_src;  // first row of this thread, its chunk column (k offset added per tile)
    const unsigned short* b_src;  // first k row of this thread within a tile, its chunk column
    int a_dst, b_dst;             // swizzled element offsets inside a stage (first pass)
    unsigned a_rows_ok;           // bit i: row of pass i is inside A
    int a_k, b_row0, b_n;         // k within a tile (A), first k row within a tile (B), global column (B)
    bool b_col_ok;
};

__device__ __forceinline__ CopyPlan make_plan(const unsigned short* A, const unsigned short* B, int rowBase,
                                              int colBase, int M, int N, int K) {
    CopyPlan p;
    const int ac = threadIdx.x % A_CPR, bc = threadIdx.x % B_CPR, ar = threadIdx.x / A_CPR;
    p.a_k = ac * 8;
    p.b_row0 = threadIdx.x / B_CPR;
    p.b_n = colBase + bc * 8;
    p.b_col_ok = p.b_n < N;
    p.a_rows_ok = 0;
#pragma unroll
    for (int i = 0; i < A_ITERS; ++i) p.a_rows_ok |= (rowBase + ar + i * A_ROWS_PER_PASS < M ? 1u : 0u) << i;
    p.a_src = A + (size_t)rowBase * K + (size_t)ar * K + p.a_k;
    p.a_dst = swizzled<A_CPR>(ar, ac);
    p.b_src = B + (size_t)p.b_row0 * N + p.b_n;
    p.b_dst = swizzled<B_CPR>(p.b_row0, bc);
    return p;
}

__device__ __forceinline__ void load_tile(const CopyPlan& p, const unsigned short* A, const unsigned short* B,
                                          unsigned short* as, unsigned short* bs, int k0, int M, int N, int K,
                                          int vec) {
    const int gk = k0 + p.a_k;
#pragma unroll
    for (int i = 0; i < A_ITERS; ++i) {
        const bool row_ok = (p.a_rows_ok >> i) & 1u;
        const unsigned short* src = p.a_src + (size_t)i * A_ROWS_PER_PASS * K + k0;
        unsigned short* dst = as + p.a_dst + i * A_ROWS_PER_PASS * TC_BK;
        if (vec) {
            const bool ok = row_ok && gk < K;
            cp_async16(dst, ok ? src : A, ok);
        } else {
#pragma unroll
            for (int j = 0; j < 8; ++j) dst[j] = (row_ok && gk + j < K) ? src[j] : 0;
        }
    }
#pragma unroll
    for (int i = 0; i < B_ITERS; ++i) {
        const int gr = k0 + p.b_row0 + i * B_ROWS_PER_PASS;
        const unsigned short* src = p.b_src + ((size_t)k0 + i * B_ROWS_PER_PASS) * N;
        unsigned short* dst = bs + p.b_dst + i * B_ROWS_PER_PASS * TC_BN;
        if (vec) {
            const bool ok = p.b_col_ok && gr < K;
            cp_async16(dst, ok ? src : B, ok);
        } else {
#pragma unroll
            for (int j = 0; j < 8; ++j) dst[j] = (gr < K && p.b_n + j < N) ? src[j] : 0;
        }
    }
}

// A fragments (MI tiles of 16x16) and B fragments (NI tiles of 16x8) of k-step `ks` from one stage.
__device__ __forceinline__ void load_fragments(unsigned (&a)[MI][4], unsigned (&b)[NI][2], const unsigned short* as,
                                               const unsigned short* bs, int wm0, int wn0, int lane, int ks) {
#pragma unroll
    for (int i = 0; i < MI; ++i)  // lane l: row (l % 16) of the 16-row tile, k chunk 2 ks + l / 16
        ldmatrix_x4(a[i], as + swizzled<A_CPR>(wm0 + i * 16 + lane % 16, 2 * ks + lane / 16));
#pragma unroll
    for (int j = 0; j < NI; j += 2)  // lane l: k row 16 ks + (l % 16), n chunk of tile j + l / 16
        ldmatrix_x4_trans(b[j][0], b[j][1], b[j + 1][0], b[j + 1][1],
                          bs + swizzled<B_CPR>(16 * ks + lane % 16, (wn0 >> 3) + j + lane / 16));
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
    const CopyPlan plan = make_plan(A, B, rowBase, colBase, M, N, K);

    float acc[MI][NI][4];
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;

    const int tiles = (K + TC_BK - 1) / TC_BK;
#pragma unroll
    for (int s = 0; s < TC_STAGES - 1; ++s) {
        if (s < tiles) load_tile(plan, A, B, As + s * A_STAGE, Bs + s * B_STAGE, s * TC_BK, M, N, K, vec);
        cp_async_commit();
    }
    unsigned a[2][MI][4], b[2][NI][2];
    for (int t = 0; t < tiles; ++t) {
        cp_async_wait<TC_STAGES - 2>();  // tile t has landed (for this thread) ...
        __syncthreads();                 // ... for every thread; and every warp is done with tile t - 1
        const int next = t + TC_STAGES - 1;
        if (next < tiles) {
            const int s = next % TC_STAGES;  // the stage tile t - 1 used: free since the barrier
            load_tile(plan, A, B, As + s * A_STAGE, Bs + s * B_STAGE, next * TC_BK, M, N, K, vec);
        }
        cp_async_commit();
        const unsigned short* as = As + (t % TC_STAGES) * A_STAGE;
        const unsigned short* bs = Bs + (t % TC_STAGES) * B_STAGE;
        load_fragments(a[0], b[0], as, bs, wm0, wn0, lane, 0);
#pragma unroll
        for (int ks = 0; ks < KSTEPS; ++ks) {
            if (ks + 1 < KSTEPS) load_fragments(a[(ks + 1) & 1], b[(ks + 1) & 1], as, bs, wm0, wn0, lane, ks + 1);
#pragma unroll
            for (int i = 0; i < MI; ++i)
#pragma unroll
                for (int j = 0; j < NI; ++j) mma16816<BF16>(acc[i][j], a[ks & 1][i], b[ks & 1][j]);
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
    matmul_mma_pipelined_bf16(const unsigned short* A, const unsigned short* B, float* C, int M, int N, int K,
                              int vec) {
    mma_gemm<true>(A, B, C, M, N, K, vec);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, TC_MINB)
    matmul_mma_pipelined_f16(const unsigned short* A, const unsigned short* B, float* C, int M, int N, int K,
                             int vec) {
    mma_gemm<false>(A, B, C, M, N, K, vec);
}
