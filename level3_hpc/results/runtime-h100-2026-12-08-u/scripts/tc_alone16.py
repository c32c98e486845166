# ruff: noqa
"""14 and 16 in every configuration at the six suite shapes (the padded one through matmul_tc_auto only), by GPU
time alone (CUDA-graph replay, suite.graph_ms) beside cuBLAS bf16 (PyTorch) the same way; two rounds."""
import cupy
import torch

from hyperion.kernels import matmul as mm
from hyperion.kernels.suite import MATMUL_SHAPES, _cp, graph_ms, rel_err

for rnd in (1,):
    for m, k, n in MATMUL_SHAPES:
        gen = torch.Generator(device="cuda").manual_seed(m + n)
        ta = torch.randn(m, k, device="cuda", dtype=torch.bfloat16, generator=gen)
        tb = torch.randn(k, n, device="cuda", dtype=torch.bfloat16, generator=gen)
        a = cupy.ascontiguousarray(_cp(ta.view(torch.int16)).view(cupy.uint16))
        b = cupy.ascontiguousarray(_cp(tb.view(torch.int16)).view(cupy.uint16))
        want = _cp(ta.float() @ tb.float())
        cub = graph_ms(lambda: ta @ tb, True)
        auto = graph_ms(lambda: mm.matmul_tc_auto(a, b), False)
        e = rel_err(mm.matmul_tc_auto(a, b), want)
        print(f"round {rnd} {m}x{k}x{n}: cuBLAS {cub * 1e3:.1f} us, auto {mm.tc_route(m, n, k)} {auto * 1e3:.1f} us "
              f"({cub / auto:.3f}) err {e:.1e}", flush=True)
        if k % 8 or n % 8:
            continue
        for version in mm.TMA_VERSIONS:
            for i, cfg in enumerate(mm.tc_configs(version)):
                fn = (lambda v=version, c=cfg: mm.matmul_tc(a, b, "bf16", config=c, version=v))
                e = rel_err(fn(), want)
                t = graph_ms(fn, False)
                print(f"   {version} {i} {cfg}: {t * 1e3:.1f} us ({cub / t:.3f} x cuBLAS) err {e:.1e}", flush=True)
