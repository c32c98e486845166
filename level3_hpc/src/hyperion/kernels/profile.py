"""Launch every kernel once, for Nsight Compute and compute-sanitizer to watch.

    ncu --clock-control none --metrics ... python -m hyperion.kernels.profile            # medium sizes
    compute-sanitizer --tool memcheck python -m hyperion.kernels.profile --small         # odd tiny sizes

Each version is launched once (compiled on its first call, which is no launch), so a profiler
filtered on our kernel names sees one launch per version; on a Hopper GPU the FlashAttention kernels 08-11
too. ``--small`` uses sizes that are not
multiples of any tile and turns CuPy's memory pool off, so that every array is its own cudaMalloc
and memcheck sees an access one element past an array (inside a pool it would not).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

# kernel-name regex for ncu's --kernel-name (everything this package launches, nothing of cuBLAS/CuPy)
KERNEL_REGEX = (
    "regex:^("
    + "|".join(
        [
            "matmul_",
            "softmax_",
            "layernorm_",
            "add_bias",
            "gelu",
            "bias_gelu",
            "scale_",
            "causal_mask",
            "residual_",
            "attention_qk",
            "flash_",
            "demo_",
            "split_3xtf32",
        ]
    )
    + ")"
)


def run(small: bool) -> list[str]:
    import cupy

    from hyperion.kernels import demo, fused, layernorm, matmul, softmax

    if small:
        cupy.cuda.set_allocator(None)  # plain cudaMalloc per array: out-of-bounds is visible to memcheck
    rnd = cupy.random.standard_normal
    launched = []
    M, K, N = (67, 45, 33) if small else (2048, 2048, 2048)
    a, b = rnd((M, K), dtype=np.float32), rnd((K, N), dtype=np.float32)
    for v in matmul.VERSIONS:
        matmul.matmul(a, b, v)
        launched.append(f"matmul {v}")
    for dtype in ("bf16", "f16"):
        conv = matmul.to_bf16_bits if dtype == "bf16" else (lambda x: x.astype(np.float16))
        x, y = conv(a), conv(b)
        for version in matmul.TC_VERSIONS:
            matmul.matmul_tc(x, y, dtype, version=version)
            launched.append(f"matmul {version} {dtype}" + (" (unaligned K)" if small else ""))
            if small:  # the cp.async path needs K, N multiples of 8
                x8, y8 = conv(rnd((70, 48), dtype=np.float32)), conv(rnd((48, 40), dtype=np.float32))
                matmul.matmul_tc(x8, y8, dtype, version=version)
                launched.append(f"matmul {version} {dtype} (cp.async)")
    rows, C = (37, 1003) if small else (4096, 4096)
    x = rnd((rows, C), dtype=np.float32)
    for v in softmax.VERSIONS:
        softmax.softmax(x, v)
        launched.append(f"softmax {v}")
    w, bias = rnd(C, dtype=np.float32), rnd(C, dtype=np.float32)
    for v in layernorm.FORWARD_VERSIONS:
        _, mean, rstd = layernorm.layernorm_forward(x, w, bias, version=v)
        launched.append(f"layernorm {v}")
    dy = rnd((rows, C), dtype=np.float32)
    for v in layernorm.BACKWARD_VERSIONS:
        layernorm.layernorm_backward(dy, x, w, mean, rstd, version=v)
        launched.append(f"layernorm {v}")
    for dtype in ("f16", "bf16"):  # 16 bits in memory (05_half, 04_half_fwd); odd C: unaligned rows too
        xh = x.astype(np.float16) if dtype == "f16" else matmul.to_bf16_bits(x)
        softmax.softmax_half(xh, dtype)
        layernorm.layernorm_half(xh, w, bias, dtype=dtype)
        launched.append(f"softmax 05_half {dtype}, layernorm 04_half_fwd {dtype}")
    fused.bias_gelu(x, bias), fused.bias_gelu_unfused(x, bias), fused.bias_gelu_backward(dy, x, bias)
    fused.residual_layernorm(x, dy, w, bias), fused.residual_layernorm_unfused(x, dy, w, bias)
    BH, T, D = (3, 70, 24) if small else (16, 1024, 64)
    s = rnd((BH, T, T), dtype=np.float32)
    fused.scale_mask_softmax(s, 0.125), fused.scale_mask_softmax_unfused(s, 0.125)
    q, k = rnd((BH, T, D), dtype=np.float32), rnd((BH, T, D), dtype=np.float32)
    fused.attention_scores(q, k, 1 / math.sqrt(D)), fused.attention_scores_unfused(q, k, 1 / math.sqrt(D))
    launched.append(
        "fused: bias_gelu (+unfused, +bwd), residual_layernorm (+unfused), scale_mask_softmax (+unfused), "
        "attention_qk (+unfused)"
    )
    launched += _row_kernels(small)
    launched += _hopper_matmuls(small)
    launched += _hopper_flash(small)
    n = 4099 if small else 1 << 24
    yv = cupy.random.random(n, dtype=np.float32)
    demo.branch(yv, False, 8), demo.branch(yv, True, 8)
    xv = cupy.random.random(n, dtype=np.float32)
    demo.gather(xv, 1), demo.gather(xv, 32)
    m = cupy.random.random((96, 96) if small else (4096, 4096), dtype=np.float32)
    demo.transpose(m, False), demo.transpose(m, True)
    launched.append("demo: divergent/uniform branch, gather stride 1/32, transpose conflicts/padded")
    cupy.cuda.Device().synchronize()
    return launched


def _row_kernels(small: bool) -> list[str]:
    """The row kernels of :mod:`hyperion.kernels.rows` (softmax 06, LayerNorm 05, LayerNorm 14's backward and
    15's column sums), fp32 and bf16: rows of a few chunks (several rows a warp), odd and long rows, arrays
    that start at an allocation and one element past one (the shifted loads); the backward as :func:`rows.choose`
    picks it (one launch where its partial sums are few) and as the re-reading, shared-sum and two-pass kernels."""
    import cupy

    from hyperion.kernels import rows as rk
    from hyperion.tensor.cuda_build import to_bf16_bits

    shapes = [(37, 37), (37, 1003), (9, 4097)] if small else [(4096, 1000), (1024, 4097)]
    launched = []
    for dtype in ("f32", "bf16"):
        for r, C in shapes:
            variants = [None] + [next((c for c in rk.candidates("ln_bwd", dtype, C) if pick(c)), None)
                                 for pick in (lambda c: c.reload, lambda c: c.smem_acc, lambda c: c.two_pass)]
            w, b = (cupy.random.standard_normal(C, dtype=np.float32) for _ in range(2))
            for offset in (0, 1):  # elements past the allocation's start
                x, dy, y = (cupy.random.standard_normal(r * C + offset, dtype=np.float32) for _ in range(3))
                if dtype == "bf16":
                    x, dy, y = to_bf16_bits(x), to_bf16_bits(dy), to_bf16_bits(y)
                x, dy, y = (t[offset:].reshape(r, C) for t in (x, dy, y))
                rk.rows_softmax(x, dtype)
                rk.rows_softmax(x, dtype, out=y)  # output as misaligned as the input: the vector path from `offset`
                _, mean, rstd = rk.rows_layernorm(x, w, b, dtype=dtype)
                for config in dict.fromkeys(variants):
                    rk.rows_layernorm_backward(dy, x, w, mean, rstd, dtype, config=config)
            launched.append(f"rows {dtype} {r}x{C}: softmax 06, layernorm 05, layernorm 14 backward "
                            f"({sum(v is not None for v in variants)} variants beside the rule's)")
    return launched


def _hopper_matmuls(small: bool) -> list[str]:
    """The Hopper matmuls :func:`matmul.matmul_auto` and :func:`matmul.matmul_tc_auto` take: 14_wgmma_tma on
    aligned operands and on zero-padded copies (K and N not multiples of 8), 15_wgmma_3xtf32 (fp32 as three
    TF32 products); and 16_wgmma_persistent, two blocks for many tiles; nothing off Hopper."""
    import cupy

    from hyperion.kernels import matmul
    from hyperion.kernels.attention import hopper_available
    from hyperion.kernels.matmul.tf32x3 import matmul_3xtf32
    from hyperion.kernels.matmul.tma import TMA_CONFIGS, matmul_tma
    from hyperion.tensor.cuda_build import to_bf16_bits

    if not hopper_available():
        return []
    rnd = cupy.random.standard_normal
    shapes = [(67, 48, 40), (67, 45, 33)] if small else [(2048, 2048, 2048), (1001, 999, 1003)]
    for m, k, n in shapes:
        a, b = rnd((m, k), dtype=np.float32), rnd((k, n), dtype=np.float32)
        matmul.matmul_tc_auto(to_bf16_bits(a), to_bf16_bits(b))
        matmul_3xtf32(a, b)
        if k % 8 == 0 and n % 8 == 0:  # 16: two blocks walk every tile of the 128 x 64 configuration
            matmul_tma(to_bf16_bits(a), to_bf16_bits(b), "bf16", TMA_CONFIGS[3], version="16_wgmma_persistent",
                       blocks=2)
    return [f"matmul 14_wgmma_tma (aligned and padded), 15_wgmma_3xtf32, 16_wgmma_persistent at {shapes}"]


def _hopper_flash(small: bool) -> list[str]:
    """The Hopper FlashAttention kernels (08, 09, 10, 11; level 2's delta kernel with 09), forward and
    backward, causal with a padding mask; nothing off Hopper. ``small``: lengths that are not multiples of any
    tile, two heads a batch element, d = 80 (a part-filled second slab)."""
    import cupy

    from hyperion.kernels import attention as fh
    from hyperion.kernels.attention import bwd_tma, fwd_tma

    if not fh.hopper_available():
        return []
    B, H, n_q, n_k, d = (2, 2, 70, 45, 80) if small else (2, 8, 1024, 1024, 64)
    q = cupy.random.standard_normal((B, H, n_q, d), dtype=np.float32).astype(np.float16)
    k, v = (cupy.random.standard_normal((B, H, n_k, d), dtype=np.float32).astype(np.float16) for _ in range(2))
    pad = cupy.zeros((B, n_k), bool)
    pad[-1, n_k // 2:] = True
    launched = []
    for name, forward in (("08", fh.flash_forward_wgmma), ("10", fwd_tma.flash_forward_tma)):
        out, lse = forward(q, k, v, causal=True, key_padding_mask=pad)
        launched.append(f"flash {name} forward")
    for name, backward in (("09", fh.flash_backward_wgmma), ("11", bwd_tma.flash_backward_tma)):
        backward(q, k, v, out, lse, q, causal=True, key_padding_mask=pad)
        launched.append(f"flash {name} backward")
    return launched


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hyperion.kernels.profile", description=__doc__)
    p.add_argument(
        "--small", action="store_true", help="tiny odd sizes, no memory pool (for compute-sanitizer)"
    )
    args = p.parse_args(argv)
    for line in run(args.small):
        print("launched", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
