// Matmul 14 -- 12's tiles and wgmmas, fed by the copy engine (TMA) and a producer warpgroup.
// In 12 every thread issues its share of 16-byte cp.async copies each k-tile, and a block-wide barrier per
// tile orders them before the tensor cores read the stage: the warpgroups that multiply also move the data,
// and all of them stop at every barrier. Here (the structure FlashAttention-3 and CUTLASS's Hopper GEMMs use):
//  * warpgroup 0 is the producer: one thread asks the copy engine (cp.async.bulk.tensor.2d, Hopper's TMA) for
//    each k-tile: A's BM x 64 box and B's BN/64 boxes of 64 x 64, described by two tensor maps made on the
//    host (cuTensorMapEncodeTiled) and passed by value as __grid_constant__ parameters. The copy engine writes
//    the tiles already in the 128-byte-swizzled layout of 12 (16-byte chunk c of 128-byte line r at c ^ (r % 8)
//    inside every 1024 bytes), zero-fills what lies past the matrix edges, and counts the bytes it delivered
//    on the stage's "full" mbarrier;
//  * warpgroups 1.. are consumers, 64 rows of BM each: wait on the stage's full barrier, issue the tile's 4
//    wgmmas, wait for the previous tile's group (wgmma.wait_group 1) and then release that tile's stage: each
//    consumer warp arrives on its "empty" mbarrier, on which the producer waits before refilling it. No
//    block-wide barrier in the main loop; every stage of the ring is in flight or being multiplied;
//  * setmaxnreg moves registers from the producer (40 a thread) to the consumers (up to 232), whose 64 x 256
//    fp32 accumulators take 128 each.
// Tiles of 128 x 256 for large products; 128 x 128 and 128 x 64 (wgmma n64) give small ones more blocks than
// SMs (1000^3: 64 tiles of 128 x 128 on 132 SMs, 128 of 128 x 64).
// Rasterisation and epilogue as in 12. The tensor maps need K and N multiples of 8 (16-byte row strides);
// matmul_tc_auto's padded path gives it those. Compile for sm_90a.
#include "tma.cuh"
#include "tma_tiles.cuh"
#include "wgmma.cuh"

template <bool BF16>
__device__ __forceinline__ void tma_gemm(const TensorMap* map_a, const TensorMap* map_b, float* C, int M, int N,
                                         int K) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    __shared__ __align__(8) unsigned long long full[TC_STAGES], empty[TC_STAGES];
    const unsigned raw = smem_addr(smem_raw), base = (raw + 1023) & ~1023u;  // swizzled tiles: 1024-aligned
    const unsigned As = base, Bs = base + TC_STAGES * A_BYTES;

    const int2 corner = raster_tile(M, N, TC_BM, TC_BN, TC_GROUP_M);
    const int rowBase = corner.x, colBase = corner.y;
    const int wg = threadIdx.x / 128, tiles = (K + TC_BK - 1) / TC_BK;

    ring_init(full, empty, CONSUMERS * 4);

    if (wg == 0) {  // producer
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
        if (threadIdx.x == 0) {
            for (int t = 0; t < tiles; ++t) {
                const int s = t % TC_STAGES;
                if (t >= TC_STAGES) mbar_wait(smem_addr(&empty[s]), ((t / TC_STAGES) - 1) & 1);
                const unsigned bar = smem_addr(&full[s]);
                mbar_expect_tx(bar, A_BYTES + B_BYTES);
                tma_load_2d(As + s * A_BYTES, map_a, t * TC_BK, rowBase, bar);
#pragma unroll
                for (int p = 0; p < TC_BN / 64; ++p)
                    tma_load_2d(Bs + s * B_BYTES + p * PANEL_BYTES, map_b, colBase + p * 64, t * TC_BK, bar);
            }
        }
    } else {  // consumers
        asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(CONSUMER_REGS));
        const int cw = wg - 1, lane = threadIdx.x % 32;
        float acc[ACC];
#pragma unroll
        for (int i = 0; i < ACC; ++i) acc[i] = 0.f;
        for (int t = 0; t < tiles; ++t) {
            const int s = t % TC_STAGES;
            mbar_wait(smem_addr(&full[s]), (t / TC_STAGES) & 1);
            fence_acc(acc);
            wgmma_fence();
            wgmma_tile<BF16, TC_BN, TC_BK>(acc, As + s * A_BYTES + cw * 64 * 128, Bs + s * B_BYTES, PANEL_BYTES, 1024);
            wgmma_commit();
            wgmma_wait<1>();  // tile t - 1's products are done: release its stage
            fence_acc(acc);
            if (t > 0 && lane == 0) mbar_arrive(smem_addr(&empty[(t - 1) % TC_STAGES]));
        }
        wgmma_wait<0>();
        fence_acc(acc);
        store_acc<TC_BN>(acc, C, M, N, rowBase + cw * 64, colBase);
    }
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 1)
    matmul_wgmma_tma_bf16(const __grid_constant__ TensorMap map_a, const __grid_constant__ TensorMap map_b, float* C,
                          int M, int N, int K) {
    tma_gemm<true>(&map_a, &map_b, C, M, N, K);
}

extern "C" __global__ void __launch_bounds__(NTHREADS, 1)
    matmul_wgmma_tma_f16(const __grid_constant__ TensorMap map_a, const __grid_constant__ TensorMap map_b, float* C,
                         int M, int N, int K) {
    tma_gemm<false>(&map_a, &map_b, C, M, N, K);
}
