// The sm_80 building blocks of 05_flash_fwd_pipelined.cu, shared with 06_flash_bwd_mma.cu: cp.async,
// ldmatrix, mma.sync m16n8k16 (fp16 / bf16, fp32 accumulate), the XOR swizzle and a tile loader.
// (05 keeps its own copy in namespace pipe, so that it reads top to bottom on its own.)
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>

namespace sm80 {

__device__ __forceinline__ unsigned smem_u32(const void* p) {  // a generic pointer as a shared-window address
    unsigned a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }\n" : "=r"(a) : "l"(p));
    return a;
}

__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {  // zero-fills if !valid
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldsm_x4(unsigned* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm_x4_trans(unsigned* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}

template <typename T> struct Mma;
template <> struct Mma<__half> {
    static __device__ __forceinline__ void run(float* c, const unsigned* a, unsigned b0, unsigned b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    static __device__ __forceinline__ unsigned pack(float lo, float hi) {
        __half2 h = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<unsigned*>(&h);
    }
};
template <> struct Mma<__nv_bfloat16> {
    static __device__ __forceinline__ void run(float* c, const unsigned* a, unsigned b0, unsigned b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    static __device__ __forceinline__ unsigned pack(float lo, float hi) {
        __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<unsigned*>(&h);
    }
};

// Offset (in elements) of element (row, col) of a row-major tile with D columns, col a multiple of 8.
// The 16-byte chunk index has its low 3 bits XORed with the 128-byte line index (D <= 64, several rows
// a line) or with the row (D = 128, two lines a row): 8 consecutive rows, same column, hit 8 bank groups.
template <int D> __device__ __forceinline__ int swizzle(int row, int col) {
    constexpr int LINE_SHIFT = D == 128 ? 4 : 3;
    const int chunk = row * (D / 8) + col / 8;
    return (chunk ^ ((chunk >> LINE_SHIFT) & 7)) * 8;
}

// Copy rows [r0, r0 + ROWS) of a (n, D) matrix into a swizzled tile, zero-filling rows >= n.
template <typename T, int D, int ROWS, int THREADS>
__device__ __forceinline__ void load_tile(T* tile, const T* src, int r0, int n) {
#pragma unroll
    for (int idx = threadIdx.x; idx < ROWS * D / 8; idx += THREADS) {
        const int r = idx / (D / 8), c = (idx % (D / 8)) * 8, row = r0 + r;
        const bool valid = row < n;
        cp_async16(tile + swizzle<D>(r, c), src + (size_t)(valid ? row : 0) * D + c, valid);
    }
}

}  // namespace sm80
