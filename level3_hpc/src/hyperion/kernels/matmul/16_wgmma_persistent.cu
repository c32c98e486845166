// Matmul 16 -- 14 made persistent: one block per SM walks C's tiles, and the copy engine loads the next tile
// while the consumers store this one.
// In 14 a block owns one tile: its consumers' epilogue (64 x BN fp32 accumulators a warpgroup, written to C) runs
// after the last k-tile, with the tensor cores idle and nothing in flight, and then the block exits and the
// next block starts from an empty ring. Here the grid is one block per SM (the launcher passes min(tiles, SMs))
// and block b takes tiles b, b + gridDim.x, ... in 14's grouped order (raster_tile_at). The ring, its barriers
// and their phases run on across tiles: k-tile `it` of the block's whole walk uses stage it % STAGES, phase
// (it / STAGES) & 1. So:
//  * the producer never waits at a tile boundary: as soon as the consumers release stages it fills them with
//    the next tile's first k-tiles, while the consumers are still storing this tile (the overlap 14 lacks);
//  * a consumer releases a tile's last stage once its final wgmma group is done (14 never needed to), then
//    stores the tile -- by the time it has stored, the next tile's first stages are full.
// The same configurations as 14 (tma_tiles.cuh: TC_BM 128, two consumer warpgroups and the producer; TC_BN 64 /
// 128 / 256).
// Measured on an H100 (2026-12-08): faster than 14 at 3072x5120x2048 (0.86x cuBLAS against 0.75x, GPU time
// alone), not at 4096^3, 8192^3, 2048^3 or 1000^3; matmul_tc_auto takes it at that one shape.
// K > 0: the launcher fills C with zeros when K = 0 (a tile with no k-tile would release a stage it never used).
// Compile for sm_90a.
#include "tma.cuh"
#include "tma_tiles.cuh"
#include "wgmma.cuh"

template <bool BF16>
__device__ __forceinline__ void persistent_gemm(const TensorMap* map_a, const TensorMap* map_b, float* C, int M,
                                                int N, int K) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    __shared__ __align__(8) unsigned long long full[TC_STAGES], empty[TC_STAGES];
    const unsigned raw = smem_addr(smem_raw), base = (raw + 1023) & ~1023u;
    const unsigned As = base, Bs = base + TC_STAGES * A_BYTES;

    const int tiles = ((M + TC_BM - 1) / TC_BM) * ((N + TC_BN - 1) / TC_BN);
    const int ktiles = (K + TC_BK - 1) / TC_BK, wg = threadIdx.x / 128;

    ring_init(full, empty, CONSUMERS * 4);

    if (wg == 0) {  // producer: every k-tile of every tile of this block, one ring
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
        if (threadIdx.x == 0) {
            int it = 0;
            for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
                const int2 corner = raster_tile_at(tile, M, N, TC_BM, TC_BN, TC_GROUP_M);
                for (int t = 0; t < ktiles; ++t, ++it) {
                    const int s = it % TC_STAGES;
                    if (it >= TC_STAGES) mbar_wait(smem_addr(&empty[s]), ((it / TC_STAGES) - 1) & 1);
                    const unsigned bar = smem_addr(&full[s]);
                    mbar_expect_tx(bar, A_BYTES + B_BYTES);
                    tma_load_2d(As + s * A_BYTES, map_a, t * TC_BK, corner.x, bar);
#pragma unroll
                    for (int p = 0; p < TC_BN / 64; ++p)
                        tma_load_2d(Bs + s * B_BYTES + p * PANEL_BYTES, map_b, corner.y + p * 64, t * TC_BK, bar);
                }
            }
        }
    } else {  // consumers
        asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(CONSUMER_REGS));
        const int cw = wg - 1, lane = threadIdx.x % 32;
        float acc[ACC];
        int it = 0;
        for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
            const int2 corner = raster_tile_at(tile, M, N, TC_BM, TC_BN, TC_GROUP_M);
#pragma unroll
            for (int i = 0; i < ACC; ++i) acc[i] = 0.f;
            for (int t = 0; t < ktiles; ++t, ++it) {
                const int s = it % TC_STAGES;
                mbar_wait(smem_addr(&full[s]), (it / TC_STAGES) & 1);
                fence_acc(acc);
                wgmma_fence();
                wgmma_tile<BF16, TC_BN, TC_BK>(acc, As + s * A_BYTES + cw * 64 * 128, Bs + s * B_BYTES, PANEL_BYTES,
                                               1024);
                wgmma_commit();
                wgmma_wait<1>();  // the previous k-tile's products are done: release its stage
                fence_acc(acc);
                if (t > 0 && lane == 0) mbar_arrive(smem_addr(&empty[(it - 1) % TC_STAGES]));
            }
            wgmma_wait<0>();
            fence_acc(acc);
            if (lane == 0) mbar_arrive(smem_addr(&empty[(it - 1) % TC_STAGES]));  // the tile's last stage
            store_acc<TC_BN>(acc, C, M, N, corner.x + cw * 64, corner.y);
        }
    }
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 1)
    matmul_wgmma_persistent_bf16(const __grid_constant__ TensorMap map_a, const __grid_constant__ TensorMap map_b,
                                 float* C, int M, int N, int K) {
    persistent_gemm<true>(&map_a, &map_b, C, M, N, K);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 1)
    matmul_wgmma_persistent_f16(const __grid_constant__ TensorMap map_a, const __grid_constant__ TensorMap map_b,
                                float* C, int M, int N, int K) {
    persistent_gemm<false>(&map_a, &map_b, C, M, N, K);
}
