// Shared by every FlashAttention kernel: element types, conversions, the mask rule, constants.
//
// Layout: q is (B*H, N_q, D), k and v are (B*H, N_k, D), contiguous; key_pad is uint8 (B, N_k),
// 1 = padding. Query `row` may see key `j` when j < N_k, key_pad[b][j] == 0 and, if causal,
// j <= row + diag. `causal` is 0 (none), 1 (top-left: diag 0, as PyTorch's is_causal) or 2
// (bottom-right: diag N_k - N_q, the last query sees the last key, as with a KV cache).
// Softmax runs in base 2: scores are scaled by scale * log2(e) so that exp2 can be used; lse is written in natural log.
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#ifndef INFINITY  // NVRTC has no <math.h>
#define INFINITY __int_as_float(0x7f800000)
#endif
#define FLASH_LOG2E 1.4426950408889634f
#define FLASH_LN2 0.6931471805599453f

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}

// exp2 of the tensor-core kernels' softmax: the special-function unit's ex2.approx.ftz (PTX), what exp2f becomes
// under -use_fast_math, as FlashAttention-2 is built. Plain exp2f compiles to ex2.approx.f32 without .ftz,
// which keeps outputs below 2^-126 as denormals and so costs extra instructions around the same unit (a range
// test and rescaling; the SASS was not inspected here). A weight below 2^-126 beside the row maximum's weight 1
// changes no sum; relative error about 2^-22 either way. Measured on an H100 (2026-12-06): no difference in
// 05's or 06's time beyond noise -- they were not issue-bound on the softmax. FLASH_EXACT_EXP2=1 compiles exp2f
// back in, for that A/B.
#ifndef FLASH_EXACT_EXP2
#define FLASH_EXACT_EXP2 0
#endif
__device__ __forceinline__ float flash_exp2(float x) {
#if FLASH_EXACT_EXP2
    return exp2f(x);
#else
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
#endif
}

__device__ __forceinline__ int causal_diag(int causal, int n_q, int n_k) { return causal == 2 ? n_k - n_q : 0; }

__device__ __forceinline__ bool key_visible(int j, int row, int n_k, const unsigned char* key_pad_row, int causal,
                                            int diag) {
    return j < n_k && key_pad_row[j] == 0 && !(causal && j > row + diag);
}
