# ruff: noqa
"""08 forward tiles at short N (d 64/80/128, N 512/1024/2048, causal and not, B4 H16) against SDPA's flash
backend, 3 interleaved rounds, medians. Which tile wins where the table's (swept at N 4096/8192) ties SDPA?"""
import statistics

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from hyperion.kernels import attention as fh
from hyperion.kernels.suite import _cp, kernel_ms

TILES = [dict(FLASH_BC=128, FLASH_WG=3, FLASH_MIN_BLOCKS=1), dict(FLASH_BC=64, FLASH_WG=2, FLASH_MIN_BLOCKS=2),
         dict(FLASH_BC=128, FLASH_WG=2, FLASH_MIN_BLOCKS=1), dict(FLASH_BC=64, FLASH_WG=3, FLASH_MIN_BLOCKS=1),
         dict(FLASH_BC=64, FLASH_WG=2, FLASH_MIN_BLOCKS=1), dict(FLASH_BC=128, FLASH_WG=1, FLASH_MIN_BLOCKS=2)]
for d in (128,):
    for n in (512, 1024, 2048):
        g = torch.Generator(device="cuda").manual_seed(n + d)
        q, k, v = (torch.randn(4, 16, n, d, device="cuda", dtype=torch.float16, generator=g) for _ in range(3))
        qc, kc, vc = (_cp(x) for x in (q, k, v))
        for causal in (False, True):
            def sdpa():
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
            ref = sdpa().float()
            tiles = [t for t in TILES if fh.shared_bytes(d, t) <= 227 * 1024]
            times = {i: [] for i in range(len(tiles))}; ts = []
            for i, t in enumerate(tiles):
                out, _ = fh.flash_forward_wgmma(qc, kc, vc, causal=causal, tile=t)
                err = (torch.from_dlpack(out).float() - ref).abs().max().item()
                assert err < 1e-2, (d, n, causal, t, err)
            for _ in range(3):
                ts.append(kernel_ms(sdpa))
                for i, t in enumerate(tiles):
                    times[i].append(kernel_ms(lambda t=t: fh.flash_forward_wgmma(qc, kc, vc, causal=causal, tile=t)))
            s = statistics.median(ts)
            table = fh.WGMMA_TILES[d]
            cells = "; ".join(f"{'*' if t == table else ''}BC{t['FLASH_BC']} WG{t['FLASH_WG']} MB{t['FLASH_MIN_BLOCKS']} "
                              f"{statistics.median(times[i]):.4f} ({s / statistics.median(times[i]):.3f})"
                              for i, t in enumerate(tiles))
            print(f"d={d} N={n} causal={causal}: SDPA {s:.4f} ms | {cells}", flush=True)
