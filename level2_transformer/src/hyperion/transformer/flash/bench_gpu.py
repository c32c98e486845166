"""The GPU half of the FlashAttention benchmark (``python -m hyperion.transformer.flash.bench --device cuda``).

Three baselines, measured in the same run as our kernels:

* ``naive`` — :mod:`.naive` on CuPy: the masked reference every variant is tested against (``where``
  for masks, a stable softmax in the input dtype, several N×N temporaries);
* ``cublas`` — naive attention the way a practitioner writes it on CuPy: two batched half-precision
  ``cupy.matmul`` (cuBLAS, tensor cores, fp32 accumulation) and an in-place softmax, causal mask added
  from a precomputed ``-inf`` triangle;
* ``torch`` — PyTorch naive, ``softmax(q @ kᵀ · scale) @ v`` (fp16 softmax computes in fp32 inside);
* ``sdpa`` — ``torch.nn.functional.scaled_dot_product_attention`` restricted to its flash backend.

Times by CUDA events (best of ``repeat``), TFLOP/s from ``4·B·H·N²·d`` (forward; half when causal;
fwd+bwd counts 3.5 times that, and times only the default forward followed by the 02 backward).
Peak memory: the high-water mark of a fresh CuPy pool serving only the measured call (CuPy
variants), ``torch.cuda.max_memory_allocated`` above what was allocated before (PyTorch variants);
inputs are not counted, outputs are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

FLASH_IMPLS = {"wmma": "03 WMMA", "mma": "04 mma.sync", "pipe64": "05 pipelined, 64 rows",
               "pipe": "05 pipelined, 128 rows"}
BASELINES = {"naive": "naive (ours, CuPy)", "cublas": "naive (cuBLAS fp16, CuPy)", "torch": "naive (PyTorch)",
             "sdpa": "PyTorch SDPA flash"}


def _cuda_time(fn: Callable[[], object], repeat: int) -> float:
    import cupy as cp

    fn()
    cp.cuda.Device().synchronize()
    best = float("inf")
    for _ in range(repeat):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        best = min(best, cp.cuda.get_elapsed_time(start, stop) / 1e3)
    return best


def _cupy_peak(fn: Callable[[], object]) -> float:
    """Peak MB allocated during ``fn()``: a fresh CuPy memory pool serves exactly this call; it keeps
    every block it obtains from the device, reusing freed ones, so its final size is its high-water mark."""
    import cupy as cp

    cp.cuda.Device().synchronize()
    pool = cp.cuda.MemoryPool()
    with cp.cuda.using_allocator(pool.malloc):
        result = fn()
        cp.cuda.Device().synchronize()
        peak = pool.total_bytes()
        del result
    pool.free_all_blocks()
    return peak / 2**20


def _torch_peak(fn: Callable[[], object]) -> float:
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    result = fn()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - before
    del result
    return peak / 2**20


def cublas_naive(q, k, v, causal_bias=None):
    """Practitioner's naive attention on CuPy: batched cuBLAS matmuls, softmax in place in the input dtype
    (its sum taken in float32)."""
    import cupy as cp

    s = cp.matmul(q, k.swapaxes(-1, -2))
    s *= s.dtype.type(1 / np.sqrt(q.shape[-1]))
    if causal_bias is not None:
        s += causal_bias
    s -= s.max(axis=-1, keepdims=True)
    cp.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True, dtype=cp.float32).astype(s.dtype)
    return cp.matmul(s, v)


def torch_naive(tq, tk, tv, causal_mask=None):
    import torch

    s = tq @ tk.transpose(-2, -1) * (1 / np.sqrt(tq.shape[-1]))
    if causal_mask is not None:
        s = s.masked_fill(causal_mask, -torch.inf)
    return torch.softmax(s, dim=-1) @ tv


def breakdown(n: int, batch: int, heads: int, d: int, repeat: int) -> str:
    """Where the naive baselines spend their time (fp16, N = n): matmul alone vs the softmax."""
    import cupy as cp

    rng = cp.random.default_rng(0)
    q, k, v = (rng.standard_normal((batch, heads, n, d), dtype=cp.float32).astype(cp.float16) for _ in range(3))
    kt = k.swapaxes(-1, -2)
    s = cp.matmul(q, kt)
    t_mm = _cuda_time(lambda: cp.matmul(q, kt), repeat)
    t_mm2 = _cuda_time(lambda: cp.matmul(s, v), repeat)
    t_max = _cuda_time(lambda: s.max(axis=-1, keepdims=True), repeat)
    t_exp = _cuda_time(lambda: cp.exp(s), repeat)
    t_sum = _cuda_time(lambda: s.sum(axis=-1, keepdims=True, dtype=cp.float32), repeat)
    gemm = 2 * batch * heads * n * n * d
    try:
        from cupy._core import _routines_linalg as linalg

        compute = f"CuPy compute type for float16: {linalg.get_compute_type(np.dtype(np.float16))}"
    except Exception as error:  # pragma: no cover - CuPy internals differ between versions
        compute = f"CuPy compute type: not readable ({type(error).__name__})"
    return (
        f"Naive breakdown, fp16, N={n}: Q Kᵀ matmul {t_mm * 1e3:.2f} ms ({gemm / t_mm / 1e12:.0f} TFLOP/s), "
        f"P V matmul {t_mm2 * 1e3:.2f} ms ({gemm / t_mm2 / 1e12:.0f} TFLOP/s), row max {t_max * 1e3:.2f} ms, "
        f"exp {t_exp * 1e3:.2f} ms, row sum {t_sum * 1e3:.2f} ms. {compute}."
    )


def bench_cuda(sizes, batch, heads, d, repeat, configs) -> list[dict]:
    import cupy as cp
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from hyperion.transformer.flash.cuda import DEFAULT_HALF_IMPL, flash_backward_cuda, flash_forward_cuda
    from hyperion.transformer.flash.naive import naive_attention_backward, naive_attention_forward

    rows = []
    for dtype_name, causal, with_backward in configs:
        dtype = np.float16 if dtype_name == "fp16" else np.float32
        half = dtype == np.float16
        tol = 2e-2 if half else 1e-4
        for n in sizes:
            rng = cp.random.default_rng(0)
            q, k, v, do = (rng.standard_normal((batch, heads, n, d), dtype=cp.float32).astype(dtype) for _ in range(4))
            tq, tk, tv = (torch.as_tensor(x, device="cuda") for x in (q, k, v))
            above = cp.arange(n)[None, :] > cp.arange(n)[:, None]  # key after query
            bias = cp.where(above, dtype(-np.inf), dtype(0)).astype(dtype) if causal else None
            tmask = torch.ones(n, n, dtype=torch.bool, device="cuda").triu(1) if causal else None

            def sdpa():
                with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
                    return torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)

            fns = {
                "naive": lambda: naive_attention_forward(q, k, v, causal=causal),
                "cublas": lambda: cublas_naive(q, k, v, bias),
                "torch": lambda: torch_naive(tq, tk, tv, tmask),
            }
            impls = list(FLASH_IMPLS) if half else ["f32"]
            for impl in impls:
                fns[impl] = (lambda impl=impl: flash_forward_cuda(q, k, v, causal=causal, impl=impl)) if half else (
                    lambda: flash_forward_cuda(q, k, v, causal=causal))
            if half:
                fns["sdpa"] = sdpa
            ref = naive_attention_forward(q.astype(cp.float32), k.astype(cp.float32), v.astype(cp.float32),
                                          causal=causal)[0]
            status = []
            for name, fn in list(fns.items()):
                try:
                    got = fn()
                    got = got[0] if isinstance(got, tuple) else got
                    got = cp.asarray(got) if not isinstance(got, torch.Tensor) else cp.asarray(got.float())
                    err = float(cp.abs(got.astype(cp.float32) - ref).max())
                except Exception as error:  # a kernel that fails to build or run: reported, not timed
                    print(f"FAILED: {name} {dtype_name} causal={causal} N={n}: {type(error).__name__}: {error}")
                    del fns[name]
                    continue
                if err > tol:
                    status.append(f"{name} INVALID ({err:.1e})")
                    print(f"INVALID: {name} {dtype_name} causal={causal} N={n}: differs from fp32 naive by {err:.2e}")
            flops = 4 * batch * heads * n * n * d * (0.5 if causal else 1.0)
            row = {"dtype": dtype_name, "causal": causal, "N": n, "pass": "fwd", "status": ", ".join(status) or "ok"}
            for name, fn in fns.items():
                row[f"{name}_s"] = _cuda_time(fn, repeat)
                row[f"{name}_tflops"] = flops / row[f"{name}_s"] / 1e12
                row[f"{name}_mb"] = (_torch_peak if name in ("torch", "sdpa") else _cupy_peak)(fn)
            rows.append(row)
            print(gpu_line(row), flush=True)
            if with_backward:
                rows.append(_fwd_bwd_row(q, k, v, do, tq, tk, tv, tmask, causal, dtype_name, n, flops, repeat,
                                         flash_forward_cuda, flash_backward_cuda, naive_attention_forward,
                                         naive_attention_backward, [DEFAULT_HALF_IMPL] if half else ["f32"]))
                print(gpu_line(rows[-1]), flush=True)
            del fns
            cp.get_default_memory_pool().free_all_blocks()
            torch.cuda.empty_cache()
    return rows


def _fwd_bwd_row(q, k, v, do, tq, tk, tv, tmask, causal, dtype_name, n, flops, repeat, flash_forward_cuda,
                 flash_backward_cuda, naive_forward, naive_backward, impls) -> dict:
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    tq2, tk2, tv2 = (x.detach().requires_grad_(True) for x in (tq, tk, tv))
    tdo = torch.as_tensor(do, device="cuda")

    def sdpa_fb():
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            o = torch.nn.functional.scaled_dot_product_attention(tq2, tk2, tv2, is_causal=causal)
        return torch.autograd.grad(o, (tq2, tk2, tv2), tdo)

    def torch_fb():
        return torch.autograd.grad(torch_naive(tq2, tk2, tv2, tmask), (tq2, tk2, tv2), tdo)

    def naive_fb():
        naive_forward(q, k, v, causal=causal)
        return naive_backward(q, k, v, do, causal=causal)

    def flash_fb(impl, backward="simt"):
        o, s = flash_forward_cuda(q, k, v, causal=causal, **({} if impl == "f32" else {"impl": impl}))
        return flash_backward_cuda(q, k, v, o, s, do, causal=causal, impl=backward)

    fb = {"naive": naive_fb, "torch": torch_fb, **{impl: (lambda impl=impl: flash_fb(impl)) for impl in impls}}
    if dtype_name == "fp16":
        fb["bwd06"] = lambda: flash_fb(impls[0], backward="mma")  # the 06 tensor-core backward
        fb["sdpa"] = sdpa_fb
    row = {"dtype": dtype_name, "causal": causal, "N": n, "pass": "fwd+bwd", "status": "see fwd"}
    for name, fn in fb.items():
        try:
            row[f"{name}_s"] = _cuda_time(fn, repeat)
        except Exception as error:
            print(f"FAILED: {name} fwd+bwd N={n}: {type(error).__name__}: {error}")
            continue
        row[f"{name}_tflops"] = 3.5 * flops / row[f"{name}_s"] / 1e12
        row[f"{name}_mb"] = (_torch_peak if name in ("torch", "sdpa") else _cupy_peak)(fn)
    return row


GPU_HEADER = (
    "| dtype | causal | pass | N | TFLOP/s: naive (ours) / cuBLAS naive / torch naive | TFLOP/s: flash 01 or "
    "03 / 04 / 05-64 / 05-128 | TFLOP/s: 05 + 06 backward | TFLOP/s: SDPA | best flash vs best naive "
    "| best flash / SDPA | peak MB: naive / cuBLAS / torch | peak MB: best flash | peak MB: SDPA | checked |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def gpu_line(r: dict) -> str:
    def tf(name):
        return f"{r[name + '_tflops']:.1f}" if name + "_tflops" in r else "–"

    def mb(name):
        return f"{r[name + '_mb']:.0f}" if name + "_mb" in r else "–"

    flash = [name for name in ("f32", *FLASH_IMPLS, "bwd06") if name + "_s" in r]
    naive = [name for name in ("naive", "cublas", "torch") if name + "_s" in r]
    best = min(flash, key=lambda name: r[name + "_s"]) if flash else None
    best_naive = min(naive, key=lambda name: r[name + "_s"]) if naive else None
    vs_naive = f"{r[best_naive + '_s'] / r[best + '_s']:.2f}x ({best} vs {best_naive})" if best and best_naive else "–"
    vs_sdpa = f"{r['sdpa_s'] / r[best + '_s']:.2f}x" if best and "sdpa_s" in r else "–"
    first = "f32" if "f32_s" in r else "wmma"
    return (
        f"| {r['dtype']} | {r['causal']} | {r['pass']} | {r['N']} | {tf('naive')} / {tf('cublas')} / {tf('torch')} "
        f"| {tf(first)} / {tf('mma')} / {tf('pipe64')} / {tf('pipe')} | {tf('bwd06')} | {tf('sdpa')} | {vs_naive} "
        f"| {vs_sdpa} "
        f"| {mb('naive')} / {mb('cublas')} / {mb('torch')} | {mb(best) if best else '–'} | {mb('sdpa')} "
        f"| {r['status']} |"
    )
