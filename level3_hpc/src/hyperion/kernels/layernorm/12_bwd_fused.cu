// LayerNorm backward 12 -- fused: a persistent grid of G blocks walks the rows, two at a time. Each
// row is read once (dy and x into float4 registers), its two row means come from one block reduction,
// dx is written; the thread keeps running dw/db sums for the columns it owns
// in registers and writes one partial row per block; `layernorm_bwd_reduce` sums the G partials.
// Bytes: read dy, x and write dx once (+ G x C partials), against the naive version's 5 passes.
#include "common.cuh"

#ifndef CACHE_VEC
#define CACHE_VEC 1
#endif

// The four row sums of two rows at once (one pair of barriers instead of four).
__device__ __forceinline__ float4 block_sum4(float4 v, float4* scratch /* >= 32 float4 of shared memory */) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    v = make_float4(warp_sum(v.x), warp_sum(v.y), warp_sum(v.z), warp_sum(v.w));
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : make_float4(0.f, 0.f, 0.f, 0.f);
    return make_float4(warp_sum(v.x), warp_sum(v.y), warp_sum(v.z), warp_sum(v.w));
}

// One row's share of this thread: g = w * dy and xhat, their partial sums, and the dw/db running sums.
struct RowPart {
    float4 g[CACHE_VEC], xh[CACHE_VEC];
};

__device__ __forceinline__ void load_row(RowPart& p, float& sg, float& sgx, const float* dyr, const float* xr,
                                         const float4* wr, float4* dwa, float4* dba, float mu, float rs, int C,
                                         int vec, bool live) {
    sg = sgx = 0.f;
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int q = j * blockDim.x + threadIdx.x, e = 4 * q;
        float4 d = make_float4(0.f, 0.f, 0.f, 0.f), xv = d;
        if (live) d = row_load4(dyr, q, C, vec), xv = row_load4(xr, q, C, vec);
        // padding past C must not enter the sums: xhat there is forced to 0 (and dy reads 0)
        p.xh[j] = make_float4(e < C ? (xv.x - mu) * rs : 0.f, e + 1 < C ? (xv.y - mu) * rs : 0.f,
                              e + 2 < C ? (xv.z - mu) * rs : 0.f, e + 3 < C ? (xv.w - mu) * rs : 0.f);
        p.g[j] = make_float4(wr[j].x * d.x, wr[j].y * d.y, wr[j].z * d.z, wr[j].w * d.w);
        sg += (p.g[j].x + p.g[j].y) + (p.g[j].z + p.g[j].w);
        sgx += (p.g[j].x * p.xh[j].x + p.g[j].y * p.xh[j].y) + (p.g[j].z * p.xh[j].z + p.g[j].w * p.xh[j].w);
        dwa[j].x += d.x * p.xh[j].x, dwa[j].y += d.y * p.xh[j].y, dwa[j].z += d.z * p.xh[j].z;
        dwa[j].w += d.w * p.xh[j].w;
        dba[j].x += d.x, dba[j].y += d.y, dba[j].z += d.z, dba[j].w += d.w;
    }
}

__device__ __forceinline__ void store_dx(const RowPart& p, float* dxr, float sg, float sgx, float rs, int C,
                                         int vec) {
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        row_store4(dxr, j * blockDim.x + threadIdx.x, C, vec,
                   make_float4(rs * (p.g[j].x - sg - p.xh[j].x * sgx), rs * (p.g[j].y - sg - p.xh[j].y * sgx),
                               rs * (p.g[j].z - sg - p.xh[j].z * sgx), rs * (p.g[j].w - sg - p.xh[j].w * sgx)));
    }
}

// Rows are taken two at a time (2 * blockIdx.x, then + 2 * gridDim.x): twice the loads in flight per
// block and one reduction for both rows' sums.
extern "C" __global__ void layernorm_bwd_fused(const float* __restrict__ dy, const float* __restrict__ x,
                                               const float* __restrict__ w, const float* __restrict__ mean,
                                               const float* __restrict__ rstd, float* __restrict__ dx,
                                               float* dw_part, float* db_part, int rows, int C, int vec) {
    __shared__ float4 scratch[32];
    float4 wr[CACHE_VEC], dwa[CACHE_VEC], dba[CACHE_VEC];
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        wr[j] = row_load4(w, j * blockDim.x + threadIdx.x, C, vec);
        dwa[j] = dba[j] = make_float4(0.f, 0.f, 0.f, 0.f);
    }
    for (int r0 = 2 * blockIdx.x; r0 < rows; r0 += 2 * gridDim.x) {
        const int r1 = r0 + 1;
        const bool live1 = r1 < rows;
        const float mu0 = mean[r0], rs0 = rstd[r0];
        const float mu1 = live1 ? mean[r1] : 0.f, rs1 = live1 ? rstd[r1] : 0.f;
        RowPart p0, p1;
        float sg0, sgx0, sg1, sgx1;
        load_row(p0, sg0, sgx0, dy + (size_t)r0 * C, x + (size_t)r0 * C, wr, dwa, dba, mu0, rs0, C, vec, true);
        load_row(p1, sg1, sgx1, dy + (size_t)r1 * C, x + (size_t)r1 * C, wr, dwa, dba, mu1, rs1, C, vec, live1);
        const float4 sums = block_sum4(make_float4(sg0, sgx0, sg1, sgx1), scratch);
        store_dx(p0, dx + (size_t)r0 * C, sums.x / C, sums.y / C, rs0, C, vec);
        if (live1) store_dx(p1, dx + (size_t)r1 * C, sums.z / C, sums.w / C, rs1, C, vec);
    }
#pragma unroll
    for (int j = 0; j < CACHE_VEC; ++j) {
        const int q = j * blockDim.x + threadIdx.x;
        row_store4(dw_part + (size_t)blockIdx.x * C, q, C, vec, dwa[j]);
        row_store4(db_part + (size_t)blockIdx.x * C, q, C, vec, dba[j]);
    }
}

// dw[c] += sum of dw_part[p, c] over a slice of PARTS_PER_BLOCK partial rows (and db): blockIdx.x picks
// 256 columns, blockIdx.y the slice, so the reduction runs on many blocks; slices meet with atomicAdd on
// a zeroed dw, db (the order of those few additions varies from run to run, at rounding level).
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
