// What 10_flash_fwd_tma.cu and 11_flash_bwd_tma.cu share: the producer / consumer register split, and a tile
// of rows moved by the copy engine (TMA) into flash_wgmma.cuh's slab layout.
//
// The tensors are 3-D maps (d inner, N, batch x heads; cuTensorMapEncodeTiled on the host, 128-byte swizzle):
// rows past a head's N arrive as zeros -- never the next head's rows -- and columns past d too (d = 80, 96
// fill their second slab partly; the wgmma products never read past d). A box is 64 columns by BOX rows; the
// swizzle repeats every 8 lines, so a slab of ROWS lines may be filled by ROWS / BOX boxes stacked.
#pragma once
#include "attention/flash_wgmma.cuh"
#include "matmul/tma.cuh"

namespace fa {

// Registers of a block of THREADS threads, MIN_BLOCKS an SM (__launch_bounds__), one producer warpgroup and
// CONSUMERS consumer warpgroups: the launch gives LAUNCH a thread (the __launch_bounds__ cap); setmaxnreg
// leaves the producer PRODUCER and hands the rest to the consumers, at most 240 a thread (one consumer
// warpgroup therefore needs two blocks an SM).
template <int THREADS, int MIN_BLOCKS, int CONSUMERS>
struct RegisterSplit {
    static constexpr int PRODUCER = 24;
    static constexpr int CAP = 65536 / (THREADS * MIN_BLOCKS) / 8 * 8;
    static constexpr int LAUNCH = CAP > 255 ? 248 : CAP;
    static constexpr int SHARE = LAUNCH + (LAUNCH - PRODUCER) / CONSUMERS / 8 * 8;
    static constexpr int CONSUMER = SHARE > 240 ? 240 : SHARE;
    static_assert(CONSUMER > LAUNCH && CONSUMER >= 128, "the consumers must gain registers, to 128+");
};

// ROWS rows of head bh from `row` on into the tile at dst (slab s at dst + s ROWS 128): ceil(D / 64) x
// ROWS / BOX boxes, every byte of them counted on the mbarrier at bar (ceil(D / 64) ROWS 128 bytes).
template <int D, int ROWS, int BOX>
__device__ __forceinline__ void tma_rows(unsigned dst, const TensorMap* map, int row, int bh, unsigned bar) {
    static_assert(ROWS % BOX == 0 && BOX % 8 == 0, "whole boxes of whole swizzle periods");
#pragma unroll
    for (int s = 0; s < (D + 63) / 64; ++s)
#pragma unroll
        for (int r = 0; r < ROWS; r += BOX) tma_load_3d(dst + (s * ROWS + r) * 128, map, s * 64, row + r, bh, bar);
}

}  // namespace fa
