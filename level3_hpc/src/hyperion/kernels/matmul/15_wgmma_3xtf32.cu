// Matmul 15 -- an fp32 product on the tensor cores, at fp32's accuracy: three TF32 products ("3xTF32").
// The fp32 kernels 01-08 and 13 run on the CUDA cores, which Hopper gives a seventh of the tensor cores' TF32
// rate. A TF32 value keeps fp32's exponent and 10 of its 23 mantissa bits, so one TF32 product alone loses
// accuracy (PyTorch's allow_tf32). Split every value instead, x = hi + lo, hi = x rounded to TF32 and lo the
// rest rounded to TF32 (hi + lo holds about 22 of x's 24 significant bits), and
//     a b = a_hi b_hi + a_hi b_lo + a_lo b_hi (+ a_lo b_lo, below fp32's rounding: dropped)
// -- three tensor-core products, each exact in the tensor core, summed into fp32 accumulators.
//  * split_3xtf32 (one launch for both operands) writes hi and lo of A as one (2M x KP) matrix (hi rows, then
//    lo rows) and of B transposed as one (2N x KP) matrix: TF32 wgmma reads both operands K-major only (it has
//    no transpose flag), and KP (K rounded up to 4, zero-filled) gives 16-byte rows for the copy engine. That
//    copy is also what makes ragged edges cheap: the product itself sees aligned operands at every shape.
//  * matmul_wgmma_3xtf32 is 14_wgmma_tma with 32-value k-tiles (one 128-byte swizzled line of fp32): the
//    producer warpgroup's copy engine loads each stage's four boxes (A hi, A lo, B hi, B lo) on one mbarrier;
//    each consumer warpgroup issues 4 k-steps x 3 wgmmas (m64n128k8, tf32) a stage. A hi box of the last row
//    block reads rows past M -- lo rows -- which only reach rows of C past M, never stored (the same for B).
//  * The tensor cores round their sums toward zero, not to nearest: accumulated over all of K inside them, the
//    error grew with K to 6-8x cuBLAS's (first H100 run; Ootomo and Yokota, 2022, report the same for 3xTF32 on
//    the A100). So each stage's products go into a partial sum that starts from zero, and the CUDA cores add
//    it to the fp32 sum, rounding to nearest -- two partial sums, two stages a loop iteration, so that one
//    stage's wgmmas run while the previous stage's sum is added.
// Compile for sm_90a.
#include "tma.cuh"
#include "wgmma.cuh"

#ifndef TC_BM
#define TC_BM 128
#endif
#ifndef TC_BN
#define TC_BN 128
#endif
#ifndef TC_STAGES
#define TC_STAGES 3
#endif
#ifndef TC_GROUP_M
#define TC_GROUP_M 8
#endif

constexpr int TF_BK = 32;  // fp32 values of K a stage: one 128-byte swizzle line a row
constexpr int CONSUMERS = TC_BM / 64;
constexpr int NTHREADS = 128 * (CONSUMERS + 1);
constexpr unsigned A_BYTES = TC_BM * 128, B_BYTES = TC_BN * 128;  // one half (hi or lo) of a stage
constexpr unsigned STAGE_BYTES = 2 * (A_BYTES + B_BYTES);         // [A hi | A lo | B hi | B lo]
constexpr int ACC = TC_BN / 2;
static_assert(TC_BM % 64 == 0 && TC_BN == 128, "64-row warpgroups; BN = 128: three sets of 64 accumulators a thread "
                                               "(the sum, two partial sums) fit, three of 128 would not");
static_assert(TC_STAGES >= 2, "a ring of at least two stages");
static_assert(CONSUMERS == 2, "the register split is worked out for two consumer warpgroups (BM = 128)");
constexpr int LAUNCH_REGS = (65536 / NTHREADS) / 8 * 8 > 255 ? 248 : (65536 / NTHREADS) / 8 * 8;
constexpr int CONSUMER_REGS = LAUNCH_REGS + (LAUNCH_REGS - 40) / CONSUMERS / 8 * 8;

// x = hi + lo, both TF32 (low 13 mantissa bits zero). Infinities and NaNs go whole into hi; a finite x that
// rounds up to infinity is truncated instead.
__device__ __forceinline__ void split_tf32(float x, float& hi, float& lo) {
    unsigned bits;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(bits) : "f"(x));
    hi = __uint_as_float(bits);
    if (!isfinite(x)) {
        hi = x, lo = 0.f;
        return;
    }
    if (!isfinite(hi)) hi = __uint_as_float(__float_as_uint(x) & 0xffffe000u);
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(bits) : "f"(x - hi));
    lo = __uint_as_float(bits);
}

// One 32 x 32 tile of an operand's (hi | lo) matrix a block: blocks [0, tiles_a) split A (M x K) into as
// (2M x KP), the rest split B (K x N) transposed into bs (2N x KP), through shared memory so that both the
// reads of B's rows and the writes of its columns are coalesced. 32 x 8 threads; zeros past K.
extern "C" __global__ void __launch_bounds__(256) split_3xtf32(const float* __restrict__ a, float* __restrict__ as,
                                                               const float* __restrict__ b, float* __restrict__ bs,
                                                               int M, int N, int K, int KP, int tiles_a) {
    __shared__ float tile[32][33];
    const int tx = threadIdx.x, ty = threadIdx.y, kt = (KP + 31) / 32;
    const bool is_a = blockIdx.x < tiles_a;
    const int t = is_a ? blockIdx.x : blockIdx.x - tiles_a;
    const int r0 = (t / kt) * 32, k0 = (t % kt) * 32, R = is_a ? M : N;
    float* out = is_a ? as : bs;
    if (!is_a) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {  // B's rows k0.., columns r0.. (coalesced along a row of B)
            const int k = k0 + ty + 8 * i, n = r0 + tx;
            tile[ty + 8 * i][tx] = (k < K && n < N) ? b[(size_t)k * N + n] : 0.f;
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int r = r0 + ty + 8 * i, k = k0 + tx;
        if (r >= R || k >= KP) continue;
        const float x = is_a ? (k < K ? a[(size_t)r * K + k] : 0.f) : tile[tx][ty + 8 * i];
        float hi, lo;
        split_tf32(x, hi, lo);
        out[(size_t)r * KP + k] = hi;
        out[((size_t)R + r) * KP + k] = lo;
    }
}

// map_a: the (2M x KP) split of A, read in (32, TC_BM) boxes; map_b: the (2N x KP) split of B^T, in (32, TC_BN)
// boxes; both 128-byte swizzled, zeros past the edges. C (M x N) = A B.
extern "C" __global__ void __launch_bounds__(NTHREADS, 1)
    matmul_wgmma_3xtf32(const __grid_constant__ TensorMap map_a, const __grid_constant__ TensorMap map_b, float* C,
                        int M, int N, int KP) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    __shared__ __align__(8) unsigned long long full[TC_STAGES], empty[TC_STAGES];
    const unsigned raw = smem_addr(smem_raw), base = (raw + 1023) & ~1023u;  // swizzled tiles: 1024-aligned

    const int2 corner = raster_tile(M, N, TC_BM, TC_BN, TC_GROUP_M);
    const int rowBase = corner.x, colBase = corner.y;
    const int wg = threadIdx.x / 128, tiles = (KP + TF_BK - 1) / TF_BK;

    ring_init(full, empty, CONSUMERS * 4);

    if (wg == 0) {  // producer
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
        if (threadIdx.x == 0) {
            for (int t = 0; t < tiles; ++t) {
                const int s = t % TC_STAGES;
                if (t >= TC_STAGES) mbar_wait(smem_addr(&empty[s]), ((t / TC_STAGES) - 1) & 1);
                const unsigned bar = smem_addr(&full[s]), stage = base + s * STAGE_BYTES;
                mbar_expect_tx(bar, STAGE_BYTES);
                tma_load_2d(stage, &map_a, t * TF_BK, rowBase, bar);                                // A hi
                tma_load_2d(stage + A_BYTES, &map_a, t * TF_BK, M + rowBase, bar);                  // A lo
                tma_load_2d(stage + 2 * A_BYTES, &map_b, t * TF_BK, colBase, bar);                  // B hi
                tma_load_2d(stage + 2 * A_BYTES + B_BYTES, &map_b, t * TF_BK, N + colBase, bar);  // B lo
            }
        }
    } else {  // consumers
        asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(CONSUMER_REGS));
        const int cw = wg - 1, lane = threadIdx.x % 32;
        float acc[ACC], p0[ACC], p1[ACC];  // the sum (CUDA cores) and two stages' partial sums (tensor cores)
#pragma unroll
        for (int i = 0; i < ACC; ++i) acc[i] = 0.f;
        // Stage t's 12 wgmmas into a partial sum that starts from zero (scale-d 0 on the first)
        auto issue = [&](int t, float(&part)[ACC]) {
            const int s = t % TC_STAGES;
            const unsigned stage = base + s * STAGE_BYTES;
            const unsigned a_hi = stage + cw * 64 * 128, a_lo = a_hi + A_BYTES;
            const unsigned b_hi = stage + 2 * A_BYTES, b_lo = b_hi + B_BYTES;
            mbar_wait(smem_addr(&full[s]), (t / TC_STAGES) & 1);
            fence_acc(part);
            wgmma_fence();
#pragma unroll
            for (int ks = 0; ks < TF_BK / 8; ++ks) {  // 8 values of K (32 bytes) a step
                const unsigned long long ah = descriptor(a_hi + ks * 32, 16, 1024), al = descriptor(a_lo + ks * 32, 16, 1024);
                const unsigned long long bh = descriptor(b_hi + ks * 32, 16, 1024), bl = descriptor(b_lo + ks * 32, 16, 1024);
                wgmma_k8_tf32(part, al, bh, ks > 0);  // the small terms first
                wgmma_k8_tf32(part, ah, bl, 1);
                wgmma_k8_tf32(part, ah, bh, 1);
            }
            wgmma_commit();
        };
        // Once stage t's products are done: add them with fp32's rounding to nearest, and release the stage to
        // the producer.
        auto retire = [&](int t, float(&part)[ACC]) {
            fence_acc(part);
#pragma unroll
            for (int i = 0; i < ACC; ++i) acc[i] += part[i];
            if (lane == 0) mbar_arrive(smem_addr(&empty[t % TC_STAGES]));
        };
        // Two stages an iteration: stage t+1's products run while stage t's partial sum is added, and nothing is
        // in flight across the loop's back edge. (Unrolled by two with one stage always in flight -- issue t,
        // wait_group 1, add t-1 -- ptxas serialized every wgmma, warning C7514: it does not follow wait_group
        // across a back edge. This form built without the warning and ran 4096^3 in 1.13 ms, not 1.24: H200.)
        int t = 0;
        for (; t + 1 < tiles; t += 2) {
            issue(t, p0);
            issue(t + 1, p1);
            wgmma_wait<1>();
            retire(t, p0);
            wgmma_wait<0>();
            retire(t + 1, p1);
        }
        if (t < tiles) {
            issue(t, p0);
            wgmma_wait<0>();
            retire(t, p0);
        }
        store_acc<TC_BN>(acc, C, M, N, rowBase + cw * 64, colBase);
    }
}
