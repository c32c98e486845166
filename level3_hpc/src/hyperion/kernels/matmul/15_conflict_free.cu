// Matmul 15 -- conflict-free shared memory: 13's double-buffered, split-K warp tiles with every warp-wide
// shared-memory access one wavefront, and the next fragments loaded while the FMAs of this one run.
//   * Fragments in quads (QUADS). 08 gives a thread TM contiguous rows of its warp sub-tile, so the 8
//     thread-rows of a warp read float4s 32 bytes apart: 256 bytes, two wavefronts per LDS.128. Here a
//     thread's rows come in runs of 4, one run per quad, and the runs of neighbouring threads touch: the
//     8 threads read 128 contiguous bytes (the classic 8x8-as-four-4x4 SGEMM layout). Columns likewise.
//   * Padded transposed stores of A (A_PAD). A tile is stored k-major (As[k][m]); the BK / 4 threads that
//     loaded one row of A (a float4 each) store into rows k of As that are BM floats apart -- the same
//     bank, a 2- or 4-way conflict. Rows of BM + 4 floats put them 16 banks apart: conflict-free at BK 8,
//     2-way at 16, and the quad reads stay aligned and contiguous. (An XOR swizzle, tried first, made the
//     kernel 10 % slower on an H100 at 4096^3 -- likely the XOR on every read's address; SASS not read.)
//   * Interior tiles of ragged matrices: when rows are not a whole number of float4s (vec = 0) a tile that
//     lies inside the matrix loads its floats without the per-element bounds tests of the edge tiles.
//   * Fragment double buffering (FRAG_DB): fragments for step dot + 1 are read before the FMAs of step
//     dot, so shared-memory latency hides behind 64 independent FMAs instead of stalling them.
// K may be cut into gridDim.z slices as in 13 (partials then summed by 13's matmul_split_k_sum); with one
// slice the kernel writes C directly.
#include "common.cuh"

#ifndef BM
#define BM 128
#endif
#ifndef BN
#define BN 128
#endif
#ifndef BK
#define BK 16
#endif
#ifndef WM
#define WM 64
#endif
#ifndef WN
#define WN 32
#endif
#ifndef WNITER
#define WNITER 2
#endif
#ifndef TM
#define TM 8
#endif
#ifndef TN
#define TN 4
#endif
#ifndef NTHREADS
#define NTHREADS 256
#endif
#ifndef QUADS
#define QUADS 1
#endif
#ifndef A_PAD
#define A_PAD 4  // floats after each k-row of the A tile (a multiple of 4 keeps float4 reads aligned)
#endif
#ifndef FRAG_DB
#define FRAG_DB 1
#endif
#ifndef MINB
#define MINB 1  // blocks per SM to fit: 2 caps 256 threads at 128 registers (16 warps an SM instead of 8)
#endif

constexpr int WMITER = (WM * WN) / (32 * TM * TN * WNITER);
constexpr int WSUBM = WM / WMITER;
constexpr int WSUBN = WN / WNITER;
constexpr int TROWS = WSUBM / TM, TCOLS = WSUBN / TN;  // threads along a sub-tile's rows and columns
constexpr int ROW_STRIDE_A = (NTHREADS * 4) / BK;
constexpr int ROW_STRIDE_B = NTHREADS / (BN / 4);
constexpr int A_LOADS = BM / ROW_STRIDE_A, B_LOADS = BK / ROW_STRIDE_B;  // float4s per thread per tile
constexpr int AS_LD = BM + A_PAD;  // the A tile's row length in shared memory
static_assert((BM / WM) * (BN / WN) * 32 == NTHREADS, "one warp per warp tile");
static_assert(WMITER * WSUBM == WM && WNITER * WSUBN == WN, "warp tile splits evenly");
static_assert(TCOLS * TROWS == 32, "a sub-tile is 32 threads of TM x TN");
static_assert(BM % ROW_STRIDE_A == 0 && BK % ROW_STRIDE_B == 0, "loads tile evenly");
static_assert(TM % 4 == 0 && TN % 4 == 0 && BM % 32 == 0, "fragments are float4 quads");
static_assert(A_PAD % 4 == 0, "float4 reads of the A tile stay 16-byte aligned");

// Offset inside the warp sub-tile of a thread's quad q (TROWS or TCOLS threads `lanes` along the side).
__device__ __forceinline__ int quad_offset(int q, int thread, int lanes, int per_thread) {
    return QUADS ? q * lanes * 4 + thread * 4 : thread * per_thread + q * 4;
}

extern "C" __global__ void __launch_bounds__(NTHREADS, MINB)
    matmul_conflict_free(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ P, int M,
                         int N, int K, int kslice, int vec) {
    const int kBegin = blockIdx.z * kslice, kEnd = min(K, kBegin + kslice);
    float* __restrict__ C = P + (size_t)blockIdx.z * M * N;  // this slice's partial product (or C itself)
    __shared__ __align__(16) float As[2][BK * AS_LD];  // transposed: As[buf][k * AS_LD + m]
    __shared__ __align__(16) float Bs[2][BK * BN];
    const int rowBase = blockIdx.y * BM, colBase = blockIdx.x * BN;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int warpRow = warp / (BN / WN), warpCol = warp % (BN / WN);
    const int tRow = lane / TCOLS, tCol = lane % TCOLS;
    const int aRow = threadIdx.x / (BK / 4), aCol = threadIdx.x % (BK / 4);
    const int bRow = threadIdx.x / (BN / 4), bCol = threadIdx.x % (BN / 4);

    float4 pa[A_LOADS], pb[B_LOADS];  // the next tile, in flight in registers
    auto fetch = [&](int k0) {
        if (!vec && rowBase + BM <= M && colBase + BN <= N && k0 + BK <= kEnd) {  // inside: no bounds tests
#pragma unroll
            for (int i = 0; i < A_LOADS; ++i) {
                const float* p = &A[(size_t)(rowBase + aRow + i * ROW_STRIDE_A) * K + k0 + aCol * 4];
                pa[i] = make_float4(p[0], p[1], p[2], p[3]);
            }
#pragma unroll
            for (int i = 0; i < B_LOADS; ++i) {
                const float* p = &B[(size_t)(k0 + bRow + i * ROW_STRIDE_B) * N + colBase + bCol * 4];
                pb[i] = make_float4(p[0], p[1], p[2], p[3]);
            }
            return;
        }
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i)
            pa[i] = load4_until(A, rowBase + aRow + i * ROW_STRIDE_A, k0 + aCol * 4, M, K, kEnd, vec);
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i) pb[i] = load4(B, k0 + bRow + i * ROW_STRIDE_B, colBase + bCol * 4, kEnd, N, vec);
    };
    auto stash = [&](int buf) {
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) {
            const int m = aRow + i * ROW_STRIDE_A, k = aCol * 4;
            As[buf][(k + 0) * AS_LD + m] = pa[i].x;
            As[buf][(k + 1) * AS_LD + m] = pa[i].y;
            As[buf][(k + 2) * AS_LD + m] = pa[i].z;
            As[buf][(k + 3) * AS_LD + m] = pa[i].w;
        }
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i)
            *reinterpret_cast<float4*>(&Bs[buf][(bRow + i * ROW_STRIDE_B) * BN + bCol * 4]) = pb[i];
    };
    // One step's fragments: WMITER * TM values of A's column `dot`, WNITER * TN of B's row `dot`.
    auto fragments = [&](int buf, int dot, float* ra, float* rb) {
#pragma unroll
        for (int wm = 0; wm < WMITER; ++wm)
#pragma unroll
            for (int q = 0; q < TM / 4; ++q) {
                const int m = warpRow * WM + wm * WSUBM + quad_offset(q, tRow, TROWS, TM);
                const float4 v = *reinterpret_cast<const float4*>(&As[buf][dot * AS_LD + m]);
                ra[wm * TM + q * 4 + 0] = v.x, ra[wm * TM + q * 4 + 1] = v.y;
                ra[wm * TM + q * 4 + 2] = v.z, ra[wm * TM + q * 4 + 3] = v.w;
            }
#pragma unroll
        for (int wn = 0; wn < WNITER; ++wn)
#pragma unroll
            for (int q = 0; q < TN / 4; ++q) {
                const int n = warpCol * WN + wn * WSUBN + quad_offset(q, tCol, TCOLS, TN);
                const float4 v = *reinterpret_cast<const float4*>(&Bs[buf][dot * BN + n]);
                rb[wn * TN + q * 4 + 0] = v.x, rb[wn * TN + q * 4 + 1] = v.y;
                rb[wn * TN + q * 4 + 2] = v.z, rb[wn * TN + q * 4 + 3] = v.w;
            }
    };

    float acc[WMITER * TM * WNITER * TN] = {0.f};
    float ra[2][WMITER * TM], rb[2][WNITER * TN];
    const int tiles = (kEnd - kBegin + BK - 1) / BK;
    fetch(kBegin);
    stash(0);
    __syncthreads();
    if (FRAG_DB) fragments(0, 0, ra[0], rb[0]);
    for (int t = 0; t < tiles; ++t) {
        const int cur = t % 2;
        if (t + 1 < tiles) fetch(kBegin + (t + 1) * BK);  // issued now, consumed after the math below
#pragma unroll
        for (int dot = 0; dot < BK; ++dot) {
            const int f = FRAG_DB ? dot % 2 : 0;
            if (!FRAG_DB) fragments(cur, dot, ra[0], rb[0]);
            else if (dot + 1 < BK) fragments(cur, dot + 1, ra[1 - f], rb[1 - f]);  // the next step's, early
#pragma unroll
            for (int i = 0; i < WMITER * TM; ++i)
#pragma unroll
                for (int j = 0; j < WNITER * TN; ++j) acc[i * (WNITER * TN) + j] += ra[f][i] * rb[f][j];
        }
        if (t + 1 < tiles) stash(1 - cur);  // buffer 1 - cur was last read before the previous barrier
        __syncthreads();
        if (FRAG_DB && t + 1 < tiles) fragments(1 - cur, 0, ra[0], rb[0]);
    }
#pragma unroll
    for (int wm = 0; wm < WMITER; ++wm)
#pragma unroll
        for (int qm = 0; qm < TM / 4; ++qm)
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const int row = rowBase + warpRow * WM + wm * WSUBM + quad_offset(qm, tRow, TROWS, TM) + r;
#pragma unroll
                for (int wn = 0; wn < WNITER; ++wn)
#pragma unroll
                    for (int qn = 0; qn < TN / 4; ++qn) {
                        const int col = colBase + warpCol * WN + wn * WSUBN + quad_offset(qn, tCol, TCOLS, TN);
                        const float* v = &acc[(wm * TM + qm * 4 + r) * (WNITER * TN) + wn * TN + qn * 4];
                        store4(C, row, col, M, N, vec, make_float4(v[0], v[1], v[2], v[3]));
                    }
            }
}
