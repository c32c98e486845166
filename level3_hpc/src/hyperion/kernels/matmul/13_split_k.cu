// Matmul 13 -- split-K: 08's double-buffered warp tiles, with K cut into SPLITS slices (gridDim.z). At
// 1000^3 08's 64x128 tiles make 128 blocks of 4 warps: one block per SM, too few warps to hide the
// latency of shared memory and FMAs. Block z multiplies A[:, slice z] by B[slice z, :] into its own M x N
// partial product (every slice but the last is a whole number of BK tiles), and `matmul_split_k_sum` adds
// the partials into C (float4 where N % 4 == 0): SPLITS times the blocks for one extra pass over M x N.
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

constexpr int WMITER = (WM * WN) / (32 * TM * TN * WNITER);
constexpr int WSUBM = WM / WMITER;
constexpr int WSUBN = WN / WNITER;
constexpr int ROW_STRIDE_A = (NTHREADS * 4) / BK;
constexpr int ROW_STRIDE_B = NTHREADS / (BN / 4);
constexpr int A_LOADS = BM / ROW_STRIDE_A, B_LOADS = BK / ROW_STRIDE_B;  // float4s per thread per tile
static_assert((BM / WM) * (BN / WN) * 32 == NTHREADS, "one warp per warp tile");
static_assert(WMITER * WSUBM == WM && WNITER * WSUBN == WN, "warp tile splits evenly");
static_assert((WSUBN / TN) * (WSUBM / TM) == 32, "a sub-tile is 32 threads of TM x TN");
static_assert(BM % ROW_STRIDE_A == 0 && BK % ROW_STRIDE_B == 0 && TN % 4 == 0, "loads tile evenly");

// A float4 of row `row` of an (rows x ld) matrix at columns col..col+3, zero at or past column `end`.
__device__ __forceinline__ float4 load4_until(const float* m, int row, int col, int rows, int ld, int end, int vec) {
    if (vec && row < rows && col + 3 < end) return *reinterpret_cast<const float4*>(&m[(size_t)row * ld + col]);
    float4 t = make_float4(0.f, 0.f, 0.f, 0.f);
    if (row < rows) {
        const float* p = &m[(size_t)row * ld];
        if (col + 0 < end) t.x = p[col + 0];
        if (col + 1 < end) t.y = p[col + 1];
        if (col + 2 < end) t.z = p[col + 2];
        if (col + 3 < end) t.w = p[col + 3];
    }
    return t;
}

extern "C" __global__ void __launch_bounds__(NTHREADS)
    matmul_split_k(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ P, int M, int N,
                   int K, int kslice, int vec) {
    const int kBegin = blockIdx.z * kslice, kEnd = min(K, kBegin + kslice);
    float* __restrict__ C = P + (size_t)blockIdx.z * M * N;  // this slice's partial product
    __shared__ __align__(16) float As[2][BK * BM];  // transposed: As[buf][k * BM + m]
    __shared__ __align__(16) float Bs[2][BK * BN];
    const int rowBase = blockIdx.y * BM, colBase = blockIdx.x * BN;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int warpRow = warp / (BN / WN), warpCol = warp % (BN / WN);
    const int tRow = lane / (WSUBN / TN), tCol = lane % (WSUBN / TN);
    const int aRow = threadIdx.x / (BK / 4), aCol = threadIdx.x % (BK / 4);
    const int bRow = threadIdx.x / (BN / 4), bCol = threadIdx.x % (BN / 4);

    float4 pa[A_LOADS], pb[B_LOADS];  // the next tile, in flight in registers
    auto fetch = [&](int k0) {
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) pa[i] = load4_until(A, rowBase + aRow + i * ROW_STRIDE_A, k0 + aCol * 4, M, K, kEnd, vec);
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i) pb[i] = load4(B, k0 + bRow + i * ROW_STRIDE_B, colBase + bCol * 4, kEnd, N, vec);
    };
    auto stash = [&](int buf) {
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) {
            const int m = aRow + i * ROW_STRIDE_A;
            As[buf][(aCol * 4 + 0) * BM + m] = pa[i].x;
            As[buf][(aCol * 4 + 1) * BM + m] = pa[i].y;
            As[buf][(aCol * 4 + 2) * BM + m] = pa[i].z;
            As[buf][(aCol * 4 + 3) * BM + m] = pa[i].w;
        }
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i)
            *reinterpret_cast<float4*>(&Bs[buf][(bRow + i * ROW_STRIDE_B) * BN + bCol * 4]) = pb[i];
    };

    float acc[WMITER * TM * WNITER * TN] = {0.f};
    float regM[WMITER * TM], regN[WNITER * TN];
    const int tiles = (kEnd - kBegin + BK - 1) / BK;
    fetch(kBegin);
    stash(0);
    __syncthreads();
    for (int t = 0; t < tiles; ++t) {
        const int cur = t % 2;
        if (t + 1 < tiles) fetch(kBegin + (t + 1) * BK);  // issued now, consumed after the math below
#pragma unroll
        for (int dot = 0; dot < BK; ++dot) {
#pragma unroll
            for (int wm = 0; wm < WMITER; ++wm)
#pragma unroll
                for (int i = 0; i < TM; ++i)
                    regM[wm * TM + i] = As[cur][dot * BM + warpRow * WM + wm * WSUBM + tRow * TM + i];
#pragma unroll
            for (int wn = 0; wn < WNITER; ++wn)
#pragma unroll
                for (int i = 0; i < TN; ++i)
                    regN[wn * TN + i] = Bs[cur][dot * BN + warpCol * WN + wn * WSUBN + tCol * TN + i];
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
        if (t + 1 < tiles) stash(1 - cur);  // buffer 1 - cur was last read before the previous barrier
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

// C = sum over the splits of P[z] (count = M * N elements; float4 at a time when vec4).
extern "C" __global__ void matmul_split_k_sum(const float* __restrict__ P, float* __restrict__ C, int count, int splits,
                                              int vec4) {
    const size_t stride = (size_t)count;
    if (vec4) {
        const int i = blockIdx.x * blockDim.x + threadIdx.x;
        if (4 * i >= count) return;
        float4 s = reinterpret_cast<const float4*>(P)[i];
        for (int z = 1; z < splits; ++z) {
            const float4 p = reinterpret_cast<const float4*>(P + z * stride)[i];
            s.x += p.x, s.y += p.y, s.z += p.z, s.w += p.w;
        }
        reinterpret_cast<float4*>(C)[i] = s;
        return;
    }
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        float s = P[i];
        for (int z = 1; z < splits; ++z) s += P[z * stride + i];
        C[i] = s;
    }
}
