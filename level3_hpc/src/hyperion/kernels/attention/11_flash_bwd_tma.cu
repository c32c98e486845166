// FlashAttention backward 11 -- 09 (two kernels, every output row with one writer: no atomics, deterministic)
// with 10's way of feeding the tensor cores (FlashAttention-3, Shah et al. 2024, sec. 3.1): a producer warpgroup
// and the copy engine (TMA) instead of cp.async from every thread and a block barrier a tile.
//  * Warpgroup 0 produces. Its thread 0 asks the copy engine for the block's owned rows once (dQ kernel: Q and
//    dO; dK/dV kernel: K and V) and for each streamed tile (K and V; Q and dO) into a ring of FLASH_STAGES
//    stages, both tiles of a stage counted on one "full" mbarrier. The four tensors are 3-D maps with boxes of
//    64 rows (flash_tma.cuh), so one map of each serves both kernels and every tile size.
//  * The dK/dV kernel's streamed tiles need their queries' L and delta too (09 copied them with cp.async). Here
//    the producer's warp 1 reads them from global memory into the stage's slot of a small shared ring (zeros
//    past N_q) and each of its lanes arrives on the stage's "stats" mbarrier; running ahead of the consumers by
//    the ring's depth, it hides the loads' latency.
//  * Warpgroups 1 .. FLASH_WG consume, 64 owned rows each, with 09's arithmetic unchanged (flash_bwd_tiles.cuh:
//    two products, the elementwise step unswitched on the tile's mask, one or two products into the
//    accumulators); a warp releases a stage (one arrive on its "empty" mbarrier) once its products have read
//    it. No block-wide barrier in the loop. setmaxnreg hands the producer's registers to the consumers (10's
//    split, flash_tma.cuh).
//  * delta = rowsum(dO ∘ O) is the dQ kernel's too (09 takes it from level 2's delta kernel, a launch of its
//    own): each consumer warp sums its 16 rows from global memory while the copy engine brings the owned rows,
//    keeps them for its products and writes them out; the dK/dV kernel, launched after it, reads them.
// Masks (causal top-left / bottom-right, padding, edges) and block order are 09's; a consumer whose causal rows
// see none of a tile still waits for it and releases it (the ring's phases count every consumer warp).
#include "attention/flash_bwd_tiles.cuh"
#include "attention/flash_tma.cuh"

#ifndef FLASH_D
#define FLASH_D 64  // head dimension: 64, 80, 96 or 128
#endif
#ifndef FLASH_BT
#define FLASH_BT 64  // rows of a streamed tile (keys for dQ, queries for dK/dV): 64 or 128
#endif
#ifndef FLASH_WG
#define FLASH_WG 2  // consumer warpgroups per block, 64 owned rows each
#endif
#ifndef FLASH_STAGES
#define FLASH_STAGES 2  // streamed tiles in the ring
#endif
#ifndef FLASH_MIN_BLOCKS
#define FLASH_MIN_BLOCKS 1  // blocks an SM: __launch_bounds__ gives each thread 65536 / (threads x this) registers
#endif

constexpr int D = FLASH_D, BT = FLASH_BT, CONSUMERS = FLASH_WG, STAGES = FLASH_STAGES;
constexpr int BR = 64 * CONSUMERS, THREADS = 128 * (CONSUMERS + 1), SLABS = (D + 63) / 64, BOX = 64;
constexpr unsigned OWN_BYTES = SLABS * BR * 128, TILE_BYTES = SLABS * BT * 128;  // multiples of 1024
static_assert(D % 16 == 0 && D >= 64 && D <= 128, "head dimension 64 .. 128, a multiple of 16");
static_assert(BT == 64 || BT == 128, "64 or 128 rows per streamed tile");
static_assert(CONSUMERS >= 1 && CONSUMERS <= 3 && STAGES >= 2, "1-3 consumer warpgroups, 2+ stages");
using Registers = fa::RegisterSplit<THREADS, FLASH_MIN_BLOCKS, CONSUMERS>;  // as 10's

// The ring's barriers: the owned rows' (once), and per stage "full" (the producer's arrive with the tiles'
// bytes), "stats" (warp 1's 32 lanes; the dK/dV kernel only) and "empty" (one arrive per consumer warp).
struct Ring {
    unsigned long long own, full[STAGES], stats[STAGES], empty[STAGES];
};

__device__ __forceinline__ void ring_ready(Ring& ring) {
    if (threadIdx.x == 0) {
        mbar_init(smem_addr(&ring.own), 1);
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(smem_addr(&ring.full[s]), 1);
            mbar_init(smem_addr(&ring.stats[s]), 32);
            mbar_init(smem_addr(&ring.empty[s]), CONSUMERS * 4);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();
}

// Thread 0 of the producer: the owned rows (two operands from row `own_row`) into `own`, then n_tiles streamed
// tiles (two operands from row `first` on, BT apart) through the ring at `tiles` (stage s: 2 s TILE_BYTES).
__device__ __forceinline__ void produce(Ring& ring, unsigned own, const TensorMap* own_a, const TensorMap* own_b,
                                        int own_row, unsigned tiles, const TensorMap* tile_a,
                                        const TensorMap* tile_b, int first, int n_tiles, int bh) {
    mbar_expect_tx(smem_addr(&ring.own), 2 * OWN_BYTES);
    fa::tma_rows<D, BR, BOX>(own, own_a, own_row, bh, smem_addr(&ring.own));
    fa::tma_rows<D, BR, BOX>(own + OWN_BYTES, own_b, own_row, bh, smem_addr(&ring.own));
    for (int t = 0; t < n_tiles; ++t) {
        const int s = t % STAGES;
        if (t >= STAGES) mbar_wait(smem_addr(&ring.empty[s]), ((t / STAGES) - 1) & 1);
        const unsigned dst = tiles + s * 2 * TILE_BYTES, full = smem_addr(&ring.full[s]);
        mbar_expect_tx(full, 2 * TILE_BYTES);
        fa::tma_rows<D, BT, BOX>(dst, tile_a, first + t * BT, bh, full);
        fa::tma_rows<D, BT, BOX>(dst + TILE_BYTES, tile_b, first + t * BT, bh, full);
    }
}

// Two 16-bit values (fp16, or bf16 bits) as floats.
template <bool BF16> __device__ __forceinline__ float2 unpack(unsigned u) {
    if constexpr (BF16) return make_float2(__uint_as_float(u << 16), __uint_as_float(u & 0xffff0000u));
    __half2 h = *reinterpret_cast<__half2*>(&u);
    return __half22float2(h);
}

// delta = rowsum(dO ∘ O) of a warp's 16 rows from warp_row (float32; 0 past n_q): two lanes a row, half a row
// each in 16-byte loads, all issued before the sums. Lane 2r writes row r's to `delta`; row_delta gets this
// thread's accumulator rows (warp_row + lane / 4, and 8 further) by shuffles.
template <bool BF16, int D>
__device__ __forceinline__ void warp_row_delta(float (&row_delta)[2], const unsigned short* __restrict__ dout,
                                               const unsigned short* __restrict__ out, float* __restrict__ delta,
                                               int warp_row, int n_q) {
    constexpr int CHUNKS = D / 16;  // 16-byte chunks in half a row
    const int lane = threadIdx.x % 32, row = warp_row + lane / 2;
    float sum = 0.f;
    if (row < n_q) {
        const size_t at = (size_t)row * D + (lane % 2) * (D / 2);
        const uint4* a = reinterpret_cast<const uint4*>(dout + at);
        const uint4* b = reinterpret_cast<const uint4*>(out + at);
        uint4 x[CHUNKS], y[CHUNKS];
#pragma unroll
        for (int c = 0; c < CHUNKS; ++c) x[c] = a[c], y[c] = b[c];
#pragma unroll
        for (int c = 0; c < CHUNKS; ++c) {
            const unsigned xs[4] = {x[c].x, x[c].y, x[c].z, x[c].w}, ys[4] = {y[c].x, y[c].y, y[c].z, y[c].w};
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const float2 u = unpack<BF16>(xs[i]), w = unpack<BF16>(ys[i]);
                sum = fmaf(u.x, w.x, fmaf(u.y, w.y, sum));
            }
        }
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    if (lane % 2 == 0 && row < n_q) delta[row] = sum;
    const int g = lane / 4;
    row_delta[0] = __shfl_sync(0xffffffffu, sum, 2 * g);
    row_delta[1] = __shfl_sync(0xffffffffu, sum, 2 * g + 16);
}

// A consumer warp is done with tile t's stage.
__device__ __forceinline__ void release(Ring& ring, int t) {
    if (threadIdx.x % 32 == 0) mbar_arrive(smem_addr(&ring.empty[t % STAGES]));
}

template <bool BF16>
__device__ void flash_bwd_dq_tma(const TensorMap* map_q, const TensorMap* map_k, const TensorMap* map_v,
                                 const TensorMap* map_do, const float* __restrict__ lse,
                                 float* __restrict__ delta, const unsigned char* __restrict__ key_pad,
                                 const unsigned short* __restrict__ dout, const unsigned short* __restrict__ out,
                                 unsigned short* __restrict__ dq, int heads, int n_q, int n_k, float scale,
                                 int causal, int has_pad, int group) {
    using namespace fa;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    __shared__ Ring ring;
    const unsigned own = (smem_addr(smem_raw) + 1023) & ~1023u;  // Q | dO | stage s: K, V
    const unsigned tiles = own + 2 * OWN_BYTES;
    const int wg = threadIdx.x / 128;
    int rank, bh;
    block_tile(group, rank, bh);
    const int q0 = (causal ? gridDim.x - 1 - rank : rank) * BR;  // causal: the last query rows see the most keys
    const int diag = causal == 2 ? n_k - n_q : 0;
    const int kv_end = causal ? min(n_k, max(0, q0 + BR + diag)) : n_k;
    const int n_tiles = (kv_end + BT - 1) / BT;
    ring_ready(ring);

    if (wg == 0) {  // producer
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Registers::PRODUCER));
        if (threadIdx.x == 0) produce(ring, own, map_q, map_do, q0, tiles, map_k, map_v, 0, n_tiles, bh);
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Registers::CONSUMER));

    const int cw = wg - 1, warp = (threadIdx.x % 128) / 32, lane = threadIdx.x % 32;
    const int g = lane / 4;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    lse += (size_t)bh * n_q;
    delta += (size_t)bh * n_q;
    const int warp_row = q0 + cw * 64 + warp * 16, rows[2] = {warp_row + g, warp_row + g + 8};
    const int group_last_row = q0 + cw * 64 + 63;
    float lse2[2], row_delta[2];  // a row past N_q or that sees no key: L = +inf, so P = exp2(-inf) = 0
    warp_row_delta<BF16, D>(row_delta, dout + (size_t)bh * n_q * D, out + (size_t)bh * n_q * D, delta, warp_row, n_q);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const float L = rows[h] < n_q ? lse[rows[h]] : -INFINITY;
        lse2[h] = L == -INFINITY ? INFINITY : L * LOG2E;
    }
    float dqa[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) dqa[i] = 0.f;
    const unsigned my_q = own + cw * 64 * 128, my_do = my_q + OWN_BYTES;

    mbar_wait(smem_addr(&ring.own), 0);
    for (int it = 0; it < n_tiles; ++it) {
        const int stage = it % STAGES, j0 = it * BT;
        mbar_wait(smem_addr(&ring.full[stage]), (it / STAGES) & 1);
        const unsigned k_tile = tiles + stage * 2 * TILE_BYTES, v_tile = k_tile + TILE_BYTES;
        if (!(causal && j0 > group_last_row + diag))
            dq_tile<BF16, D, BT>(dqa, my_q, my_do, BR, k_tile, v_tile, j0, rows, warp_row, lse2, row_delta, scale, n_k,
                                 pad_row, has_pad, causal, diag);
        release(ring, it);
    }
    store_rows<BF16, D>(dq + (size_t)bh * n_q * D, dqa, rows, n_q);
}

template <bool BF16>
__device__ void flash_bwd_dkdv_tma(const TensorMap* map_q, const TensorMap* map_k, const TensorMap* map_v,
                                   const TensorMap* map_do, const float* __restrict__ lse,
                                   const float* __restrict__ delta, const unsigned char* __restrict__ key_pad,
                                   unsigned short* __restrict__ dk, unsigned short* __restrict__ dv, int heads,
                                   int n_q, int n_k, float scale, int causal, int has_pad, int group) {
    using namespace fa;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    __shared__ Ring ring;
    const unsigned raw = smem_addr(smem_raw), own = (raw + 1023) & ~1023u;  // K | V | stage s: Q, dO | stats
    const unsigned tiles = own + 2 * OWN_BYTES;
    float* Ls = reinterpret_cast<float*>(smem_raw + (tiles + STAGES * 2 * TILE_BYTES - raw));  // [STAGES][BT]
    float* Ds = Ls + STAGES * BT;                                                                // [STAGES][BT]
    const int wg = threadIdx.x / 128;
    int rank, bh;
    block_tile(group, rank, bh);
    const int j0 = rank * BR;  // causal: the first keys are seen by the most queries
    const int diag = causal == 2 ? n_k - n_q : 0;
    const int i_begin = causal ? (max(0, j0 - diag) / BT) * BT : 0;  // earlier queries see none of these keys
    const int n_tiles = i_begin < n_q ? (n_q - i_begin + BT - 1) / BT : 0;
    ring_ready(ring);

    if (wg == 0) {  // producer: thread 0 the tiles, warp 1 their queries' statistics
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Registers::PRODUCER));
        if (threadIdx.x == 0) {
            produce(ring, own, map_k, map_v, j0, tiles, map_q, map_do, i_begin, n_tiles, bh);
        } else if (threadIdx.x / 32 == 1) {
            const int lane = threadIdx.x % 32;
            lse += (size_t)bh * n_q;
            delta += (size_t)bh * n_q;
            for (int t = 0; t < n_tiles; ++t) {
                const int s = t % STAGES;
                if (t >= STAGES) mbar_wait(smem_addr(&ring.empty[s]), ((t / STAGES) - 1) & 1);
                for (int idx = lane; idx < BT; idx += 32) {  // 0 past n_q (masked: never used)
                    const int i = i_begin + t * BT + idx;
                    Ls[s * BT + idx] = i < n_q ? lse[i] : 0.f;
                    Ds[s * BT + idx] = i < n_q ? delta[i] : 0.f;
                }
                mbar_arrive(smem_addr(&ring.stats[s]));  // release: the stores above are seen by the waiters
            }
        }
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Registers::CONSUMER));

    const int cw = wg - 1, warp = (threadIdx.x % 128) / 32, lane = threadIdx.x % 32;
    const int g = lane / 4;
    const unsigned char* pad_row = key_pad + (size_t)(bh / heads) * n_k;
    const int warp_first_key = j0 + cw * 64 + warp * 16, group_first_key = j0 + cw * 64;
    const int keys[2] = {warp_first_key + g, warp_first_key + g + 8};
    bool key_ok[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) key_ok[h] = keys[h] < n_k && !(has_pad && pad_row[keys[h]]);
    float dka[D / 2], dva[D / 2];
#pragma unroll
    for (int i = 0; i < D / 2; ++i) dka[i] = dva[i] = 0.f;
    const unsigned my_k = own + cw * 64 * 128, my_v = my_k + OWN_BYTES;

    mbar_wait(smem_addr(&ring.own), 0);
    for (int it = 0; it < n_tiles; ++it) {
        const int stage = it % STAGES, i0 = i_begin + it * BT;
        mbar_wait(smem_addr(&ring.full[stage]), (it / STAGES) & 1);
        mbar_wait(smem_addr(&ring.stats[stage]), (it / STAGES) & 1);
        const unsigned q_tile = tiles + stage * 2 * TILE_BYTES, do_tile = q_tile + TILE_BYTES;
        if (!(causal && group_first_key > i0 + BT - 1 + diag))  // else no query of the tile sees these keys
            dkdv_tile<BF16, D, BT>(dka, dva, my_k, my_v, BR, q_tile, do_tile, Ls + stage * BT, Ds + stage * BT, i0,
                                   j0, keys, key_ok, warp_first_key, scale, n_q, n_k, has_pad, causal, diag);
        release(ring, it);
    }
    store_rows<BF16, D>(dk + (size_t)bh * n_k * D, dka, keys, n_k);
    store_rows<BF16, D>(dv + (size_t)bh * n_k * D, dva, keys, n_k);
}

// Dynamic shared memory: 2 OWN_BYTES + 2 STAGES TILE_BYTES + 8 STAGES BT (dK/dV's statistics) + 1024 (alignment).
#define FLASH_BWD_TMA(SUFFIX, BF16)                                                                             \
    extern "C" __global__ void __launch_bounds__(THREADS, FLASH_MIN_BLOCKS)                                     \
        flash_bwd_dq_tma_##SUFFIX(const __grid_constant__ TensorMap map_q, const __grid_constant__ TensorMap map_k, \
                                  const __grid_constant__ TensorMap map_v,                                      \
                                  const __grid_constant__ TensorMap map_do, const float* lse, float* delta,     \
                                  const unsigned char* key_pad, const unsigned short* dout,                     \
                                  const unsigned short* out, unsigned short* dq, int heads, int n_q, int n_k,   \
                                  float scale, int causal, int has_pad, int group) {                            \
        flash_bwd_dq_tma<BF16>(&map_q, &map_k, &map_v, &map_do, lse, delta, key_pad, dout, out, dq, heads, n_q,  \
                               n_k, scale, causal, has_pad, group);                                             \
    }                                                                                                           \
    extern "C" __global__ void __launch_bounds__(THREADS, FLASH_MIN_BLOCKS)                                     \
        flash_bwd_dkdv_tma_##SUFFIX(const __grid_constant__ TensorMap map_q,                                    \
                                    const __grid_constant__ TensorMap map_k,                                    \
                                    const __grid_constant__ TensorMap map_v,                                    \
                                    const __grid_constant__ TensorMap map_do, const float* lse,                 \
                                    const float* delta, const unsigned char* key_pad, unsigned short* dk,       \
                                    unsigned short* dv, int heads, int n_q, int n_k, float scale, int causal,   \
                                    int has_pad, int group) {                                                   \
        flash_bwd_dkdv_tma<BF16>(&map_q, &map_k, &map_v, &map_do, lse, delta, key_pad, dk, dv, heads, n_q, n_k, \
                                 scale, causal, has_pad, group);                                                \
    }

FLASH_BWD_TMA(f16, false)
FLASH_BWD_TMA(bf16, true)
