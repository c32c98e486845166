// Matmul 07 -- warp tiling: the block tile (BM x BN) is split into warp tiles (WM x WN), each warp
// tile into WMITER x WNITER sub-tiles that a warp computes as 32 threads x (TM x TN) registers. A warp
// then reads a compact region of shared memory (fewer bank conflicts, better register reuse) and the
// schedule maps onto the SM's four warp schedulers. Tile sizes are compile-time defines so that the
// launcher can autotune them (-DBM=128 -DBN=128 ...); the defaults below are one good point.
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
#define WN 64
#endif
#ifndef WNITER
#define WNITER 4
#endif
#ifndef TM
#define TM 8
#endif
#ifndef TN
#define TN 4
#endif
#ifndef NTHREADS
#define NTHREADS 128
#endif

constexpr int WMITER = (WM * WN) / (32 * TM * TN * WNITER);
constexpr int WSUBM = WM / WMITER;
constexpr int WSUBN = WN / WNITER;
constexpr int ROW_STRIDE_A = (NTHREADS * 4) / BK;
constexpr int ROW_STRIDE_B = NTHREADS / (BN / 4);
static_assert((BM / WM) * (BN / WN) * 32 == NTHREADS, "one warp per warp tile");
static_assert(WMITER * WSUBM == WM && WNITER * WSUBN == WN, "warp tile splits evenly");
static_assert((WSUBN / TN) * (WSUBM / TM) == 32, "a sub-tile is 32 threads of TM x TN");
static_assert(BM % ROW_STRIDE_A == 0 && BK % ROW_STRIDE_B == 0 && TN % 4 == 0, "loads tile evenly");

extern "C" __global__ void __launch_bounds__(NTHREADS)
    matmul_warptile(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, int M,
                    int N, int K, int vec) {
    __shared__ __align__(16) float As[BK * BM];  // transposed: As[k * BM + m]
    __shared__ __align__(16) float Bs[BK * BN];
    const int rowBase = blockIdx.y * BM, colBase = blockIdx.x * BN;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int warpRow = warp / (BN / WN), warpCol = warp % (BN / WN);
    const int tRow = lane / (WSUBN / TN), tCol = lane % (WSUBN / TN);
    const int aRow = threadIdx.x / (BK / 4), aCol = threadIdx.x % (BK / 4);
    const int bRow = threadIdx.x / (BN / 4), bCol = threadIdx.x % (BN / 4);

    float acc[WMITER * TM * WNITER * TN] = {0.f};
    float regM[WMITER * TM], regN[WNITER * TN];
    for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
        for (int off = 0; off < BM; off += ROW_STRIDE_A) {
            const float4 a = load4(A, rowBase + aRow + off, k0 + aCol * 4, M, K, vec);
            As[(aCol * 4 + 0) * BM + aRow + off] = a.x;
            As[(aCol * 4 + 1) * BM + aRow + off] = a.y;
            As[(aCol * 4 + 2) * BM + aRow + off] = a.z;
            As[(aCol * 4 + 3) * BM + aRow + off] = a.w;
        }
#pragma unroll
        for (int off = 0; off < BK; off += ROW_STRIDE_B) {
            const float4 b = load4(B, k0 + bRow + off, colBase + bCol * 4, K, N, vec);
            *reinterpret_cast<float4*>(&Bs[(bRow + off) * BN + bCol * 4]) = b;
        }
        __syncthreads();
#pragma unroll
        for (int dot = 0; dot < BK; ++dot) {
#pragma unroll
            for (int wm = 0; wm < WMITER; ++wm)
#pragma unroll
                for (int i = 0; i < TM; ++i)
                    regM[wm * TM + i] = As[dot * BM + warpRow * WM + wm * WSUBM + tRow * TM + i];
#pragma unroll
            for (int wn = 0; wn < WNITER; ++wn)
#pragma unroll
                for (int i = 0; i < TN; ++i)
                    regN[wn * TN + i] = Bs[dot * BN + warpCol * WN + wn * WSUBN + tCol * TN + i];
#pragma unroll
            for (int wm = 0; wm < WMITER; ++wm)
#pragma unroll
                for (int wn = 0; wn < WNITER; ++wn)
#pragma unroll
                    for (int m = 0; m < TM; ++m)
#pragma unroll
                        for (int n = 0; n < TN; ++n)
                            acc[(wm * TM + m) * (WNITER * TN) + wn * TN + n] +=
                                regM[wm * TM + m] * regN[wn * TN + n];
        }
        __syncthreads();
    }
#pragma unroll
    for (int wm = 0; wm < WMITER; ++wm)
#pragma unroll
        for (int wn = 0; wn < WNITER; ++wn)
#pragma unroll
            for (int m = 0; m < TM; ++m) {
                const int row = rowBase + warpRow * WM + wm * WSUBM + tRow * TM + m;
#pragma unroll
                for (int n = 0; n < TN; n += 4) {
                    const int col = colBase + warpCol * WN + wn * WSUBN + tCol * TN + n;
                    const float* v = &acc[(wm * TM + m) * (WNITER * TN) + wn * TN + n];
                    store4(C, row, col, M, N, vec, make_float4(v[0], v[1], v[2], v[3]));
                }
            }
}
