// LayerNorm backward 13 -- 12's one-pass scheme with the register pressure taken out, so that several
// blocks share an SM and one block's loads overlap another block's reduction.
// 12 keeps w and the running dw/db sums of its columns in registers (3 float4 per cached float4 of the
// row) and needs 1024-thread blocks to fill the SM: one block per SM, whose barriers stall DRAM.
// Here the running dw/db sums live in shared memory (2 x C floats per block; every thread owns the same
// columns in every row, so no barrier or atomic is needed for them) and w is re-read through the L1
// cache, so a thread holds only its slice of dy and x: ~40 registers, three to four blocks per SM.
// Per row: read dy and x once (float4), one block reduction of (sum g, sum g*xhat) with g = w*dy, write
//   dx = rstd * (g - mean(g) - xhat * mean(g*xhat)).
// The grid is one wave of resident blocks walking the rows; each block writes its dw/db partial row to a
// (blocks, C) buffer that `layernorm_bwd_reduce` sums (the standard two-stage reduction).
#include "common.cuh"

#ifndef CACHE_VEC
#define CACHE_VEC 1
#endif
#ifndef BWD_BLOCK  // threads per block the kernel is compiled for (the launcher passes the same number)
#define BWD_BLOCK 256
#endif
#ifndef BWD_MINB  // blocks per SM the register allocation must leave room for
#define BWD_MINB 1
#endif

// (sum a, sum b) over the block; every thread gets both.
__device__ __forceinline__ float2 block_sum2(float2 v, float2* scratch /* >= 32 float2 of shared memory */) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = make_float2(warp_sum(v.x), warp_sum(v.y));
    __syncthreads();  // scratch may still be read by the previous row's reduction
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : make_float2(0.f, 0.f);
    return make_float2(warp_sum(v.x), warp_sum(v.y));
}

extern "C" __global__ void __launch_bounds__(BWD_BLOCK, BWD_MINB) layernorm_bwd_smem(const float* __restrict__ dy, const float* __restrict__ x,
                                              const float* __restrict__ w, const float* __restrict__ mean,
                                              const float* __restrict__ rstd, float* __restrict__ dx,
                                              float* __restrict__ dw_part, float* __restrict__ db_part, int rows,
                                              int C, int vec) {
    __shared__ float2 scratch[32];
    extern __shared__ __align__(16) float acc[];  // dw sums [C4 * 4], then db sums [C4 * 4]
    const int C4 = (C + 3) / 4;
    float4* dwa = reinterpret_cast<float4*>(acc);
    float4* dba = dwa + C4;
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int q = j * blockDim.x + threadIdx.x;
        if (q < C4) dwa[q] = dba[q] = make_float4(0.f, 0.f, 0.f, 0.f);
    }
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* dyr = dy + (size_t)r * C;
        const float* xr = x + (size_t)r * C;
        const float mu = mean[r], rs = rstd[r];
        float4 d[CACHE_VEC], xh[CACHE_VEC];
#pragma unroll
        for (int j = 0; j < CACHE_VEC; ++j) {  // every load of the row is issued before any is used
            const int q = j * blockDim.x + threadIdx.x;
            d[j] = row_load4(dyr, q, C, vec);
            xh[j] = row_load4(xr, q, C, vec);
        }
        float sg = 0.f, sgx = 0.f;
#pragma unroll
        for (int j = 0; j < CACHE_VEC; ++j) {
            const int q = j * blockDim.x + threadIdx.x, e = 4 * q;
            // padding past C must not enter the sums: xhat there is 0 (and dy, w read 0)
            xh[j] = make_float4(e < C ? (xh[j].x - mu) * rs : 0.f, e + 1 < C ? (xh[j].y - mu) * rs : 0.f,
                                e + 2 < C ? (xh[j].z - mu) * rs : 0.f, e + 3 < C ? (xh[j].w - mu) * rs : 0.f);
            const float4 wv = row_load4(w, q, C, vec);
            sg += (wv.x * d[j].x + wv.y * d[j].y) + (wv.z * d[j].z + wv.w * d[j].w);
            sgx += (wv.x * d[j].x * xh[j].x + wv.y * d[j].y * xh[j].y) +
                   (wv.z * d[j].z * xh[j].z + wv.w * d[j].w * xh[j].w);
            if (q < C4) {
                float4 a = dwa[q], b = dba[q];
                a.x += d[j].x * xh[j].x, a.y += d[j].y * xh[j].y, a.z += d[j].z * xh[j].z, a.w += d[j].w * xh[j].w;
                b.x += d[j].x, b.y += d[j].y, b.z += d[j].z, b.w += d[j].w;
                dwa[q] = a, dba[q] = b;
            }
        }
        const float2 sums = block_sum2(make_float2(sg, sgx), scratch);
        const float mg = sums.x / C, mgx = sums.y / C;
        float* dxr = dx + (size_t)r * C;
#pragma unroll
        for (int j = 0; j < CACHE_VEC; ++j) {
            const int q = j * blockDim.x + threadIdx.x;
            const float4 wv = row_load4(w, q, C, vec);
            row_store4(dxr, q, C, vec,
                       make_float4(rs * (wv.x * d[j].x - mg - xh[j].x * mgx), rs * (wv.y * d[j].y - mg - xh[j].y * mgx),
                                   rs * (wv.z * d[j].z - mg - xh[j].z * mgx),
                                   rs * (wv.w * d[j].w - mg - xh[j].w * mgx)));
        }
    }
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {  // this thread's own columns: no barrier needed
        const int q = j * blockDim.x + threadIdx.x;
        if (q < C4) {
            row_store4(dw_part + (size_t)blockIdx.x * C, q, C, vec, dwa[q]);
            row_store4(db_part + (size_t)blockIdx.x * C, q, C, vec, dba[q]);
        }
    }
}

// dw[c] += sum of dw_part[p, c] over a slice of PARTS_PER_BLOCK partial rows (and db): blockIdx.x picks
// 256 columns, blockIdx.y the slice; slices meet with atomicAdd on a zeroed dw, db.
#define PARTS_PER_BLOCK 8
extern "C" __global__ void layernorm_bwd_reduce(const float* dw_part, const float* db_part, float* dw, float* db,
                                                int parts, int C) {
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= C) return;
    const int p0 = blockIdx.y * PARTS_PER_BLOCK, p1 = min(parts, p0 + PARTS_PER_BLOCK);
    float sw = 0.f, sb = 0.f;
    for (int p = p0; p < p1; ++p) sw += dw_part[(size_t)p * C + col], sb += db_part[(size_t)p * C + col];
    atomicAdd(&dw[col], sw);
    atomicAdd(&db[col], sb);
}
