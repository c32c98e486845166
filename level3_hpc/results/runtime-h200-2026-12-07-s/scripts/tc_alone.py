# ruff: noqa
"""Every tensor-core candidate (11, 12, 14 and their tile configurations) at the small suite shapes, by GPU time
alone (CUDA-graph replay, suite.graph_ms), beside cuBLAS bf16 (PyTorch) the same way: does any beat the table's
pick at 1000^3 (0.73x cuBLAS GPU alone on the H200, 2026-12-07 call 1)?"""
import cupy
import torch

from hyperion.kernels import matmul as mm
from hyperion.kernels.suite import _cp, graph_ms, rel_err

for m, k, n in ((1000, 1000, 1000), (2048, 2048, 2048), (3072, 5120, 2048)):
    gen = torch.Generator(device="cuda").manual_seed(m + n)
    ta = torch.randn(m, k, device="cuda", dtype=torch.bfloat16, generator=gen)
    tb = torch.randn(k, n, device="cuda", dtype=torch.bfloat16, generator=gen)
    a = cupy.ascontiguousarray(_cp(ta.view(torch.int16)).view(cupy.uint16))
    b = cupy.ascontiguousarray(_cp(tb.view(torch.int16)).view(cupy.uint16))
    want = _cp(ta.float() @ tb.float())
    cub = graph_ms(lambda: ta @ tb, True)
    auto = graph_ms(lambda: mm.matmul_tc_auto(a, b), False)
    print(f"{m}x{k}x{n}: cuBLAS {cub * 1e3:.1f} us, auto {mm.tc_route(m, n, k)} {auto * 1e3:.1f} us "
          f"({cub / auto:.2f})", flush=True)
    for version in ("11_mma_pipelined", "12_wgmma", "14_wgmma_tma"):
        for i, cfg in enumerate(mm.tc_configs(version)):
            fn = (lambda v=version, c=cfg: mm.matmul_tc(a, b, "bf16", config=c, version=v))
            try:
                e = rel_err(fn(), want)
                t = graph_ms(fn, False)
                print(f"   {version} {i} {cfg}: {t * 1e3:.1f} us ({cub / t:.2f} x cuBLAS) err {e:.1e}", flush=True)
            except Exception as error:
                print(f"   {version} {i}: failed {str(error).splitlines()[0][:90]}", flush=True)
