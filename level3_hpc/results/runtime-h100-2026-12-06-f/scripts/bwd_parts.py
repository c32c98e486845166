# ruff: noqa
"""09's two kernels timed apart, per tile of BWD_SWEEP, causal and not: does each kernel want its own tile?"""
import json

import cupy
import numpy as np

from hyperion.kernels import attention as fh
from hyperion.kernels.attention import BWD_SOURCE, _grid, _kernel, bwd_shared_bytes
from hyperion.kernels.suite import BWD_SWEEP, kernel_ms
from hyperion.transformer.flash import cuda as level2

if __name__ == "__main__":
    from concurrent.futures import ThreadPoolExecutor

    from hyperion.kernels.matmul.sm90a import build_cubin

    jobs = [(d, tile) for d in (64, 80, 128) for tile in BWD_SWEEP]
    with ThreadPoolExecutor(16) as pool:  # nvcc in parallel (one cubin per tile), before anything is timed
        list(pool.map(lambda j: build_cubin(BWD_SOURCE, FLASH_D=j[0], **j[1]), jobs))
    print("compiled", flush=True)
    for d in (64, 80, 128):
        for n in (4096, 8192):
            rng = cupy.random.default_rng(n + d)
            q, k, v, do = (rng.standard_normal((4, 16, n, d), dtype=np.float32).astype(cupy.float16) for _ in range(4))
            for causal in (False, True):
                out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal)
                delta = level2.row_delta(do, out, "f16", d)
                pad = level2._pad_mask(None, 4, n)
                dq, dk, dv = cupy.empty_like(q), cupy.empty_like(k), cupy.empty_like(v)
                row = {"d": d, "N": n, "causal": causal, "fwd": kernel_ms(lambda: fh.flash_forward_wgmma(q, k, v, causal=causal)),
                       "delta": kernel_ms(lambda: level2.row_delta(do, out, "f16", d))}
                for tile in BWD_SWEEP:
                    name = ",".join(f"{k_[6:]}={v_}" for k_, v_ in tile.items())
                    rows, items, smem = 64 * tile["FLASH_WG"], tuple(sorted(tile.items())), bwd_shared_bytes(d, tile)
                    tail = (np.int32(16), np.int32(n), np.int32(n), np.float32(d ** -0.5), np.int32(int(causal)),
                            np.int32(0), np.int32(fh._group(causal, None)))
                    block = (128 * tile["FLASH_WG"],)
                    kv = _kernel(BWD_SOURCE, "flash_bwd_dkdv_wgmma_f16", d, items, smem)
                    qk = _kernel(BWD_SOURCE, "flash_bwd_dq_wgmma_f16", d, items, smem)
                    g = _grid(n, rows, 64)
                    row[f"dkdv[{name}]"] = kernel_ms(lambda: kv(g, block, (q, k, v, do, lse, delta, pad, dk, dv, *tail), shared_mem=smem))
                    row[f"dq[{name}]"] = kernel_ms(lambda: qk(g, block, (q, k, v, do, lse, delta, pad, dq, *tail), shared_mem=smem))
                print(json.dumps(row), flush=True)
                best_kv = min((v_, k_) for k_, v_ in row.items() if k_.startswith("dkdv["))
                best_q = min((v_, k_) for k_, v_ in row.items() if k_.startswith("dq["))
                table = fh.BWD_TILES[d]
                tname = ",".join(f"{k_[6:]}={v_}" for k_, v_ in table.items())
                print(f"d={d} N={n} causal={causal}: fwd {row['fwd']:.3f} delta {row['delta']:.3f} | table {tname}: "
                      f"dkdv {row[f'dkdv[{tname}]']:.3f} dq {row[f'dq[{tname}]']:.3f} | best dkdv {best_kv[0]:.3f} {best_kv[1]} "
                      f"best dq {best_q[0]:.3f} {best_q[1]}", flush=True)
