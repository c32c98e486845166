# ruff: noqa
"""Forward+backward (08 + 09) against SDPA at d in argv (default 64 80 96 128), N 4096/8192, causal and not:
run once per tree (old / unswitched 09) and compare the printed ratios."""
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from hyperion.kernels import attention as fh
from hyperion.kernels.suite import _cp, kernel_ms

if __name__ == "__main__":
    tag = sys.argv[1]
    dims = [int(a) for a in sys.argv[2:]] or [64, 80, 96, 128]
    for d in dims:
        for n in (4096, 8192):
            g = torch.Generator(device="cuda").manual_seed(n + d)
            q, k, v, do = (torch.randn(4, 16, n, d, device="cuda", dtype=torch.float16, generator=g) for _ in range(4))
            qc, kc, vc, doc = (_cp(x) for x in (q, k, v, do))
            qg, kg, vg = (x.clone().requires_grad_() for x in (q, k, v))
            for causal in (False, True):
                def sdpa_fb():
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        out = torch.nn.functional.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
                    return torch.autograd.grad(out, (qg, kg, vg), do)

                out, lse = fh.flash_forward_wgmma(qc, kc, vc, causal=causal)

                def bwd():
                    return fh.flash_backward_wgmma(qc, kc, vc, out, lse, doc, causal=causal)

                def fb():
                    o, l = fh.flash_forward_wgmma(qc, kc, vc, causal=causal)
                    return fh.flash_backward_wgmma(qc, kc, vc, o, l, doc, causal=causal)

                a, b, c = kernel_ms(sdpa_fb), kernel_ms(fb), kernel_ms(bwd)
                print(f"{tag} d={d} N={n} causal={causal}: f+b SDPA {a:.3f} ours {b:.3f} ms ratio {a / b:.3f}; "
                      f"bwd alone {c:.3f} ms", flush=True)
