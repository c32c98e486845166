// The copy engine (TMA) and its barriers, shared by 14_wgmma_tma.cu, 15_wgmma_3xtf32.cu and the attention
// kernels 10 and 11: the tensor map a kernel takes by value, the mbarrier calls of a producer/consumer ring,
// and one 2-D or 3-D box load.
#pragma once

struct __align__(64) TensorMap {  // CUtensorMap: 128 opaque bytes, filled by cuTensorMapEncodeTiled
    unsigned long long opaque[16];
};

__device__ __forceinline__ void mbar_init(unsigned bar, unsigned count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(unsigned bar, unsigned bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(unsigned bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Returns once the barrier's phase of this parity has completed.
__device__ __forceinline__ void mbar_wait(unsigned bar, unsigned parity) {
    unsigned done = 0;
    while (!done)
        asm volatile(
            "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
            : "=r"(done)
            : "r"(bar), "r"(parity)
            : "memory");
}
// One 2-D box of the tensor map at (c0: inner coordinate, c1: outer) into shared memory at dst; the bytes
// are counted on the mbarrier at bar.
__device__ __forceinline__ void tma_load_2d(unsigned dst, const TensorMap* map, int c0, int c1, unsigned bar) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(
            dst),
        "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(bar)
        : "memory");
}

// One box of a 3-D tensor map at (c0: inner, c1: middle, c2: outer) into shared memory at dst, counted on bar.
__device__ __forceinline__ void tma_load_3d(unsigned dst, const TensorMap* map, int c0, int c1, int c2,
                                            unsigned bar) {
    asm volatile(
        "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], "
        "[%5];\n" ::"r"(dst),
        "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
        : "memory");
}

// Thread 0 readies a producer/consumer ring: each stage's "full" barrier completes on the producer's one arrive
// (with the byte count), its "empty" barrier on one arrive per consumer warp; then the block syncs.
template <int STAGES>
__device__ __forceinline__ void ring_init(unsigned long long (&full)[STAGES], unsigned long long (&empty)[STAGES],
                                          unsigned consumer_warps) {
    if (threadIdx.x == 0) {
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(static_cast<unsigned>(__cvta_generic_to_shared(&full[s])), 1);
            mbar_init(static_cast<unsigned>(__cvta_generic_to_shared(&empty[s])), consumer_warps);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();
}
