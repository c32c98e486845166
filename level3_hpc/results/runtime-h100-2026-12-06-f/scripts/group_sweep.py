# ruff: noqa
"""Causal block order (08/09's `group`): forward and forward+backward times per heads-per-group, against SDPA."""
import json

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from hyperion.kernels import attention as fh
from hyperion.kernels.suite import _cp, kernel_ms

GROUPS = (1, 2, 4, 8, 16, 64)
if __name__ == "__main__":
    for d in (64, 80, 128):
        for n in (1024, 4096, 8192):
            g = torch.Generator(device="cuda").manual_seed(n + d)
            q, k, v, do = (torch.randn(4, 16, n, d, device="cuda", dtype=torch.float16, generator=g) for _ in range(4))
            qc, kc, vc, doc = (_cp(x) for x in (q, k, v, do))
            qg, kg, vg = (x.clone().requires_grad_() for x in (q, k, v))

            def sdpa():
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)

            def sdpa_fb():
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    out = torch.nn.functional.scaled_dot_product_attention(qg, kg, vg, is_causal=True)
                return torch.autograd.grad(out, (qg, kg, vg), do)

            row = {"d": d, "N": n, "sdpa_fwd": kernel_ms(sdpa), "sdpa_fb": kernel_ms(sdpa_fb)}
            for group in GROUPS:
                fwd = lambda group=group: fh.flash_forward_wgmma(qc, kc, vc, causal=True, group=group)

                def fb(group=group):
                    out, lse = fh.flash_forward_wgmma(qc, kc, vc, causal=True, group=group)
                    return fh.flash_backward_wgmma(qc, kc, vc, out, lse, doc, causal=True, group=group)

                row[f"fwd[{group}]"], row[f"fb[{group}]"] = kernel_ms(fwd), kernel_ms(fb)
            print(json.dumps(row), flush=True)
            print(f"d={d} N={n} causal: fwd " + " ".join(f"g{gr}={row['sdpa_fwd'] / row[f'fwd[{gr}]']:.3f}" for gr in GROUPS)
                  + " | f+b " + " ".join(f"g{gr}={row['sdpa_fb'] / row[f'fb[{gr}]']:.3f}" for gr in GROUPS), flush=True)
