# ruff: noqa
"""d = 128 forward+backward (08 + 09 with DQ_TILES) against SDPA, N 4096/8192, causal and not."""
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from hyperion.kernels import attention as fh
from hyperion.kernels.suite import _cp, kernel_ms

if __name__ == "__main__":
    for n in (4096, 8192):
        g = torch.Generator(device="cuda").manual_seed(n)
        q, k, v, do = (torch.randn(4, 16, n, 128, device="cuda", dtype=torch.float16, generator=g) for _ in range(4))
        qc, kc, vc, doc = (_cp(x) for x in (q, k, v, do))
        qg, kg, vg = (x.clone().requires_grad_() for x in (q, k, v))
        for causal in (False, True):
            def sdpa_fb():
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    out = torch.nn.functional.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
                return torch.autograd.grad(out, (qg, kg, vg), do)

            def fb():
                out, lse = fh.flash_forward_wgmma(qc, kc, vc, causal=causal)
                return fh.flash_backward_wgmma(qc, kc, vc, out, lse, doc, causal=causal)

            def fb_one_tile():  # both kernels on BWD_TILES[128] (dQ as before this change)
                out, lse = fh.flash_forward_wgmma(qc, kc, vc, causal=causal)
                return fh.flash_backward_wgmma(qc, kc, vc, out, lse, doc, causal=causal, tile=fh.BWD_TILES[128])

            a, b, c = kernel_ms(sdpa_fb), kernel_ms(fb), kernel_ms(fb_one_tile)
            print(f"d=128 N={n} causal={causal}: f+b SDPA {a:.3f} ours {b:.3f} ms ratio {a / b:.3f}; "
                  f"dQ on the dK/dV tile {c:.3f} ms ratio {a / c:.3f}", flush=True)
