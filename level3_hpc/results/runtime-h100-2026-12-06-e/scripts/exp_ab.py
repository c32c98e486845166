# ruff: noqa  (an as-run device script, kept as it ran)
"""A/B of flash_exp2: exp2f (FLASH_EXACT_EXP2=1) vs ex2.approx.ftz, forward 05 and backward 06, one process."""
import json

import torch

from hyperion.kernels.suite import _cp, kernel_ms, rel_err
from hyperion.transformer.flash import cuda as fc

_kernel = fc.kernel


def use(exact: bool) -> None:
    fc.kernel = (lambda name, function, head_dim, **d: _kernel(name, function, head_dim, FLASH_EXACT_EXP2=1, **d)) \
        if exact else _kernel
    fc._sized.cache_clear()


b, h = 4, 16
for d in (64, 80, 128):
    for n in (1024, 4096):
        for causal in (False, True):
            gen = torch.Generator(device="cuda").manual_seed(n + d)
            q, k, v, do = (torch.randn(b, h, n, d, device="cuda", dtype=torch.float16, generator=gen) for _ in range(4))
            qc, kc, vc, doc = (_cp(t) for t in (q, k, v, do))
            ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
            row = {"d": d, "N": n, "causal": causal}
            for rnd in range(2):
                for exact in (True, False):
                    use(exact)
                    tag = ("exact" if exact else "fast") + str(rnd)
                    fwd = lambda: fc.flash_forward_cuda(qc, kc, vc, causal=causal)
                    out, lse = fwd()
                    row["err_" + tag] = rel_err(out, _cp(ref))
                    bwd = lambda: fc.flash_backward_cuda(qc, kc, vc, out, lse, doc, causal=causal)
                    row["fwd_" + tag] = kernel_ms(fwd)
                    row["bwd_" + tag] = kernel_ms(bwd)
            print(json.dumps(row), flush=True)
use(False)
