// LayerNorm backward 14 -- one kernel for fp32, fp16 and bf16 (dy, x, dx in T; weight, statistics, dw and db
// in fp32), one block shape per row-length regime. dx = rstd * (w*dy - mean(w*dy) - xhat * mean(w*dy*xhat)).
// Persistent row groups of ROW_THREADS threads (row_regime.cuh): group i of TG (gridDim.x * GROUPS) takes rows
// i, i + TG, ...; the launcher makes TG a multiple of 8, so every row a group visits starts at the same offset
// from a 16-byte boundary and a thread's chunk g always covers the same columns. That keeps dw and db as
// running sums in registers across rows (no shared or global traffic per row). A row is read once (dy and x
// kept as raw 16-byte chunks: 2 bytes per element for 16-bit types; RELOAD=1 reads them again instead, for
// rows too long to keep), reduced over the group (two sums, one barrier), and dx written once. SMEM_ACC=1 keeps
// the running sums in the block's shared memory instead (one group per block, so each column has one owner and
// needs no atomics): fewer registers, more blocks per SM, for 16-bit rows whose float sums crowd registers. They
// are laid out by chunk, not by column ([dw|db][N/4][chunk] float4s): a thread's read-modify-write of its chunk's
// sums is N/2 float4 accesses, consecutive lanes at consecutive float4s (no bank conflicts; by column it was
// 2N scalar accesses at a stride of N floats, an N-way conflict), and only the final write maps chunks to columns. At the end the
// block's groups add their sums into shared memory by column and the block writes one row of partials;
// `layernorm_bwd_rows_reduce` adds the blocks' partials into dw and db (which block 0 zeroes first: no memset).
// SUMS=0 builds the dx-only kernel of the two-pass backward (15): no dw/db work at all; `part` and `grads` unused.
// LAST_BLOCK_REDUCE=1 is one launch instead of two, for small shapes whose call is bound by the host's launches
// (rows.py picks it): each block writes its partial row as above, fences it and counts itself on `counter`;
// the block that counts last adds every block's partials, block 0's first, then 1, 2, ..., into dw and db
// (separate outputs: the caller slices nothing) and sets the counter back to 0 for the next launch. It reads
// the other blocks' partials through L2 (__ldcg, after its own fence), as the CUDA samples' threadFenceReduction
// does. Each group of the block writes its sums to a shared-memory row of its own ([GROUPS][2][C]) instead of
// adding them by atomics, and a column's partial is the sum of those rows in group order: with the fixed order
// of the partials, dw and db are the same bits on every run.
#include "row_regime.cuh"

#ifndef RELOAD
#define RELOAD 0
#endif
#ifndef SMEM_ACC  // 1: the running dw, db sums live in shared memory, not registers (one group per block)
#define SMEM_ACC 0
#endif
static_assert(!SMEM_ACC || GROUPS == 1, "shared-memory sums need one group per block (each column has one owner)");
#ifndef SUMS  // 0: dx only (15 sums dw and db down the columns in a second kernel)
#define SUMS 1
#endif
static_assert(SUMS || !SMEM_ACC, "the dx-only kernel keeps no sums");
#ifndef LAST_BLOCK_REDUCE  // 1: the last block to finish adds the partials into dw and db (one launch)
#define LAST_BLOCK_REDUCE 0
#endif
static_assert(SUMS || !LAST_BLOCK_REDUCE, "the dx-only kernel has no partials to add");
#define LAST_K 2  // LAST_BLOCK_REDUCE: float4 columns a thread of the last block adds at once

// LAST_BLOCK_REDUCE, the last block: dw[c] = part[0][c] + part[1][c] + ... (db likewise from part[G + p]), in
// that order. Partial rows are padded to whole float4s (the padding reads the workspace's zeros); a thread adds
// LAST_K float4 columns at once, 2 parts deep: 8 loads of 16 bytes in flight, through L2 (__ldcg).
__device__ __forceinline__ void add4(float4& a, const float4 b) { a.x += b.x, a.y += b.y, a.z += b.z, a.w += b.w; }

__device__ __forceinline__ void add_partials(const float* part, float* __restrict__ dw, float* __restrict__ db,
                                             int C) {
    const int G = gridDim.x, Q = (C + 3) / 4;  // parts; float4s of a partial row
    const float4* p4 = reinterpret_cast<const float4*>(part);
    for (int q0 = threadIdx.x; q0 < Q; q0 += LAST_K * ROW_BLOCK) {
        float4 sw[LAST_K], sb[LAST_K];
        int q[LAST_K];  // a float4 past the row reads the last one (no branch between the loads), is not stored
#pragma unroll
        for (int k = 0; k < LAST_K; ++k)
            sw[k] = sb[k] = make_float4(0.f, 0.f, 0.f, 0.f), q[k] = min(q0 + k * ROW_BLOCK, Q - 1);
#pragma unroll 2
        for (int p = 0; p < G; ++p) {
#pragma unroll
            for (int k = 0; k < LAST_K; ++k) {
                add4(sw[k], __ldcg(p4 + (size_t)p * Q + q[k]));
                add4(sb[k], __ldcg(p4 + ((size_t)G + p) * Q + q[k]));
            }
        }
#pragma unroll
        for (int k = 0; k < LAST_K; ++k) {
            const float w4[4] = {sw[k].x, sw[k].y, sw[k].z, sw[k].w}, b4[4] = {sb[k].x, sb[k].y, sb[k].z, sb[k].w};
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int c = 4 * (q0 + k * ROW_BLOCK) + e;
                if (c < C) dw[c] = w4[e], db[c] = b4[e];
            }
        }
    }
}

template <typename T>
__device__ __forceinline__ void layernorm_bwd_rows(const T* __restrict__ dy, const T* __restrict__ x,
                                                   const float* __restrict__ w, const float* __restrict__ mean,
                                                   const float* __restrict__ rstd, T* __restrict__ dx,
                                                   float* __restrict__ part, float* __restrict__ dw,
                                                   float* __restrict__ db, unsigned* counter, int rows, int C,
                                                   int vec, int wvec) {
    // part: [2][gridDim.x][C] (dw partials, then db; LAST_BLOCK_REDUCE: rows padded to whole float4s); dw, db: [C]
    // each, summed by the next kernel (LAST_BLOCK_REDUCE: by this kernel's last block, counted on `counter`)
    constexpr int N = 16 / sizeof(T);
    // [2][C]: the block's dw and db (SMEM_ACC: [2][N/4][CHS] float4; LAST_BLOCK_REDUCE: [GROUPS][2][C], a group's own)
    extern __shared__ __align__(16) float sums[];
    __shared__ float2 scratch[2][WARPS];
    const int CHS = (C + 2 * N - 2) / N;  // chunks of a row at any head (the launcher sizes the shared memory so)
#if SUMS
    for (int i = threadIdx.x; i < (SMEM_ACC ? 2 * N * CHS : 2 * C * (LAST_BLOCK_REDUCE ? GROUPS : 1)); i += ROW_BLOCK)
        sums[i] = 0.f;
    if (!LAST_BLOCK_REDUCE && blockIdx.x == 0)
        for (int i = threadIdx.x; i < C; i += ROW_BLOCK) dw[i] = 0.f, db[i] = 0.f;
    __syncthreads();
#endif
#if SMEM_ACC
    float4* const sums4 = reinterpret_cast<float4*>(sums);
#endif
    const int lane = threadIdx.x % ROW_THREADS;
    const int group = blockIdx.x * GROUPS + threadIdx.x / ROW_THREADS, TG = gridDim.x * GROUPS;
    const int head = row_head(x + (size_t)group * C, vec), chunks = (C + head + N - 1) / N;
    float dwa[CACHE][N], dba[CACHE][N];
#pragma unroll
    for (int j = 0; j < CACHE; ++j)
#pragma unroll
        for (int k = 0; k < N; ++k) dwa[j][k] = 0.f, dba[j][k] = 0.f;
    const int iters = (rows + TG - 1) / TG;  // the same for every thread: barriers stay uniform
    for (int it = 0; it < iters; ++it) {
        const int row = group + it * TG;
        const bool valid = row < rows;
        const size_t off = (size_t)(valid ? row : 0) * C;
        const float mu = valid ? mean[row] : 0.f, rs = valid ? rstd[row] : 0.f;
#if !RELOAD
        // One chunk ahead: chunk j + 1's loads are issued before chunk j's arithmetic (two in flight a thread,
        // not one; all of them at once needs registers the table's caps do not leave).
        uint4 xs[CACHE], dys[CACHE];
        if (valid && lane < chunks)
            xs[0] = load_raw(x + off, lane, head, C, vec), dys[0] = load_raw(dy + off, lane, head, C, vec);
#endif
        float a = 0.f, bsum = 0.f;
#pragma unroll
        for (int j = 0; j < CACHE; ++j) {
            const int g = j * ROW_THREADS + lane, e = N * g - head;
#if !RELOAD
            if (j + 1 < CACHE && valid && g + ROW_THREADS < chunks)
                xs[j + 1] = load_raw(x + off, g + ROW_THREADS, head, C, vec),
                dys[j + 1] = load_raw(dy + off, g + ROW_THREADS, head, C, vec);
#endif
            if (valid && g < chunks) {
#if RELOAD
                const uint4 xr = load_raw(x + off, g, head, C, vec), dr = load_raw(dy + off, g, head, C, vec);
#else
                const uint4 xr = xs[j], dr = dys[j];
#endif
                float xf[N], df[N], wf[N];
                unpack<T>(xr, xf);
                unpack<T>(dr, df);
                load_f32<N>(w, e, C, wvec, wf);
#pragma unroll
                for (int k = 0; k < N; ++k) {  // outside the row x = dy = w = 0: nothing is added
                    const float xh = (xf[k] - mu) * rs, wdy = wf[k] * df[k];
                    a += wdy, bsum += wdy * xh;
#if SMEM_ACC
                    xf[k] = xh;  // outside the row df = 0: nothing is added to the chunk's sums
#elif SUMS
                    dwa[j][k] += df[k] * xh, dba[j][k] += df[k];
#endif
                }
#if SMEM_ACC
#pragma unroll
                for (int q = 0; q < N / 4; ++q) {
                    float4& sw = sums4[q * CHS + g];
                    float4& sb = sums4[(N / 4 + q) * CHS + g];
                    const float4 a4 = sw, b4 = sb;
                    sw = make_float4(a4.x + df[4 * q] * xf[4 * q], a4.y + df[4 * q + 1] * xf[4 * q + 1],
                                     a4.z + df[4 * q + 2] * xf[4 * q + 2], a4.w + df[4 * q + 3] * xf[4 * q + 3]);
                    sb = make_float4(b4.x + df[4 * q], b4.y + df[4 * q + 1], b4.z + df[4 * q + 2], b4.w + df[4 * q + 3]);
                }
#endif
            }
        }
        const float2 ab = group_sum2(make_float2(a, bsum), scratch[it & 1]);
        const float ma = ab.x / C, mb = ab.y / C;
#if !RELOAD
#pragma unroll
        for (int j = 0; j < CACHE; ++j) launder(xs[j]), launder(dys[j]);  // keep raw chunks, not their floats
#endif
        const float* __restrict__ w2 = launder_ptr(w);  // reload w from L1 rather than hold it in registers
#pragma unroll
        for (int j = 0; j < CACHE; ++j) {
            const int g = j * ROW_THREADS + lane, e = N * g - head;
            if (valid && g < chunks) {
#if RELOAD
                const uint4 xr = load_raw(x + off, g, head, C, vec), dr = load_raw(dy + off, g, head, C, vec);
#else
                const uint4 xr = xs[j], dr = dys[j];
#endif
                float xf[N], df[N], wf[N], out[N];
                unpack<T>(xr, xf);
                unpack<T>(dr, df);
                load_f32<N>(w2, e, C, wvec, wf);
#pragma unroll
                for (int k = 0; k < N; ++k) out[k] = rs * (wf[k] * df[k] - ma - (xf[k] - mu) * rs * mb);
                store_chunk(dx + off, g, head, C, vec, out);
            }
        }
    }
#if !SUMS
    (void)dwa, (void)dba, (void)part, (void)dw, (void)db, (void)counter, (void)CHS;
#else
#if !SMEM_ACC
    // LAST_BLOCK_REDUCE: into the group's own row of sums (a column has one owner in a group), else by atomics
#if LAST_BLOCK_REDUCE
    float* const mine = sums + 2 * C * (threadIdx.x / ROW_THREADS);
#endif
#pragma unroll
    for (int j = 0; j < CACHE; ++j) {
        const int g = j * ROW_THREADS + lane, e = N * g - head;
        if (g < chunks) {
#pragma unroll
            for (int k = 0; k < N; ++k) {
                if (e + k < 0 || e + k >= C) continue;
#if LAST_BLOCK_REDUCE
                mine[e + k] = dwa[j][k], mine[C + e + k] = dba[j][k];
#else
                atomicAdd(&sums[e + k], dwa[j][k]), atomicAdd(&sums[C + e + k], dba[j][k]);
#endif
            }
        }
    }
#endif
    __syncthreads();
    const int PS = LAST_BLOCK_REDUCE ? (C + 3) / 4 * 4 : C;  // a partial row's stride (LAST_BLOCK_REDUCE: float4s)
    for (int i = threadIdx.x; i < C; i += ROW_BLOCK) {
#if SMEM_ACC
        const int g = (i + head) / N, k = (i + head) % N;  // column i is element k of chunk g
        const float sw = sums[4 * ((k / 4) * CHS + g) + k % 4], sb = sums[4 * ((N / 4 + k / 4) * CHS + g) + k % 4];
#elif LAST_BLOCK_REDUCE
        float sw = 0.f, sb = 0.f;
#pragma unroll
        for (int grp = 0; grp < GROUPS; ++grp) sw += sums[2 * C * grp + i], sb += sums[2 * C * grp + C + i];
#else
        const float sw = sums[i], sb = sums[C + i];
#endif
        part[(size_t)blockIdx.x * PS + i] = sw;
        part[((size_t)gridDim.x + blockIdx.x) * PS + i] = sb;
    }
#if LAST_BLOCK_REDUCE
    __threadfence();  // this thread's partials reach L2 before the block is counted
    __syncthreads();
    __shared__ int last;
    if (threadIdx.x == 0) {
        last = atomicAdd(counter, 1u) == gridDim.x - 1;
        if (last) *counter = 0;  // every block has counted: zero again for the next launch on this stream
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
    add_partials(part, dw, db, C);
#else
    (void)counter;
#endif
#endif
}

#if LAST_BLOCK_REDUCE  // dw, db and the counter (zero before the first launch; the last block leaves it zero)
#define BWD_SUMS float *dw, float *db, unsigned *counter
#define BWD_SUMS_ARGS dw, db, counter
#else  // grads: [dw | db], added by layernorm_bwd_rows_reduce
#define BWD_SUMS float* grads
#define BWD_SUMS_ARGS grads, grads + C, nullptr
#endif
#define LAYERNORM_BWD_ROWS(NAME, T)                                                                                \
    extern "C" __global__ void __launch_bounds__(ROW_BLOCK, MIN_BLOCKS)                                                        \
        NAME(const T* __restrict__ dy, const T* __restrict__ x, const float* __restrict__ w,                       \
             const float* __restrict__ mean, const float* __restrict__ rstd, T* __restrict__ dx, float* part,      \
             BWD_SUMS, int rows, int C, int vec, int wvec) {                                                       \
        layernorm_bwd_rows(dy, x, w, mean, rstd, dx, part, BWD_SUMS_ARGS, rows, C, vec, wvec);                     \
    }
#if ROW_BUILD(1)
LAYERNORM_BWD_ROWS(layernorm_bwd_rows_f32, float)
#endif
#if ROW_BUILD(2)
LAYERNORM_BWD_ROWS(layernorm_bwd_rows_f16, __half)
#endif
#if ROW_BUILD(3)
LAYERNORM_BWD_ROWS(layernorm_bwd_rows_bf16, __nv_bfloat16)
#endif

// grads[c] += sum of part[p][c] over a slice of 8 partial rows p (dw: part[0], grads[0..C); db: part[1], grads[C..2C)).
extern "C" __global__ void layernorm_bwd_rows_reduce(const float* __restrict__ part, float* __restrict__ grads,
                                                     int parts, int C) {
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= C) return;
    const int p0 = blockIdx.y * 8, p1 = min(parts, p0 + 8);
    float sw = 0.f, sb = 0.f;
    for (int p = p0; p < p1; ++p) sw += part[(size_t)p * C + col], sb += part[((size_t)parts + p) * C + col];
    atomicAdd(&grads[col], sw);
    atomicAdd(&grads[C + col], sb);
}
