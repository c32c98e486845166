# ruff: noqa: B023, E501
"""10_flash_fwd_tma against 08 (its table's tile) and SDPA (flash backend), fp16, B=4 H=16, forward kernel
time (CUDA events, median), two interleaved rounds; worst relative error against SDPA. Writes a table to stdout."""
import sys
import time
from concurrent.futures import ProcessPoolExecutor

TILES = {
    64: [(128, 2, 2, 1), (128, 2, 3, 1), (128, 1, 2, 2), (64, 2, 4, 1)],
    80: [(64, 2, 3, 1), (128, 2, 2, 1), (64, 1, 3, 2)],
    96: [(64, 2, 3, 1), (128, 2, 2, 1), (64, 1, 3, 2)],
    128: [(128, 2, 2, 1), (64, 2, 3, 1), (64, 2, 4, 1), (64, 1, 2, 2)],
}
DIMS = [int(x) for x in sys.argv[1].split(",")] if len(sys.argv) > 1 else [64, 80, 96, 128]
NS = [int(x) for x in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1024, 4096, 8192]


def tile(t):
    return dict(FLASH_BC=t[0], FLASH_WG=t[1], FLASH_STAGES=t[2], FLASH_MIN_BLOCKS=t[3])


def build(job):
    from hyperion.kernels.matmul.sm90a import build_cubin
    d, t = job
    t0 = time.time()
    build_cubin("attention/10_flash_fwd_tma.cu", FLASH_D=d, **tile(t))
    return time.time() - t0


def main():
    jobs = [(d, t) for d in DIMS for t in TILES[d]]
    jobs += [(d, t) for d in (64, 128) for t in ((64, 1, 2, 2), (128, 2, 3, 1), (64, 3, 4, 1))]  # the tests' tiles
    jobs = list(dict.fromkeys(jobs))
    with ProcessPoolExecutor(12) as ex:
        print("built in", [round(x, 1) for x in ex.map(build, jobs)], flush=True)
    import cupy
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from hyperion.kernels import attention as fh
    from hyperion.kernels.attention import fwd_tma
    from hyperion.tensor.cuda_build import time_gpu

    def ms(fn):
        return time_gpu(fn, warmup=2, repeat=10, sample_ms=3.0)["median_ms"]

    print("| d | N | causal | SDPA ms | 08 ms | 08 ratio | best 10 ms | 10 ratio | best 10 tile | 10 tiles (ms) | err 10 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for d in DIMS:
        for n in NS:
            for causal in (False, True):
                g = torch.Generator(device="cuda").manual_seed(n + d)
                q, k, v = (torch.randn(4, 16, n, d, device="cuda", dtype=torch.float16, generator=g) for _ in range(3))
                qc, kc, vc = (cupy.from_dlpack(x) for x in (q, k, v))

                def sdpa():
                    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
                ref = cupy.from_dlpack(sdpa()).astype(cupy.float32)
                fns = {"sdpa": sdpa, "08": lambda: fh.flash_forward_wgmma(qc, kc, vc, causal=causal)}
                err = 0.0
                for t in TILES[d]:
                    fns[t] = (lambda t=t: fwd_tma.flash_forward_tma(qc, kc, vc, causal=causal, tile=tile(t)))
                    try:
                        out = fns[t]()[0].astype(cupy.float32)
                        e = float(cupy.abs(out - ref).max() / cupy.abs(ref).max())
                    except Exception as exc:  # noqa: BLE001
                        print("FAILED", d, n, causal, t, repr(exc)[:300], flush=True)
                        del fns[t]
                        continue
                    err = max(err, e)
                times = {name: [] for name in fns}
                for _ in range(2):
                    for name, fn in fns.items():
                        times[name].append(ms(fn))
                best = {name: min(v) for name, v in times.items()}
                tmas = {n_: t_ for n_, t_ in best.items() if isinstance(n_, tuple)}
                bt = min(tmas, key=tmas.get) if tmas else None
                s = best["sdpa"]
                tiles_s = " ".join(f"{'/'.join(map(str, t))}:{v:.3f}" for t, v in tmas.items())
                print(f"| {d} | {n} | {causal} | {s:.3f} | {best['08']:.3f} | {s / best['08']:.2f} | "
                      f"{tmas.get(bt, float('nan')):.3f} | {s / tmas[bt] if bt else float('nan'):.2f} | {bt} | {tiles_s} | {err:.1e} |",
                      flush=True)


if __name__ == "__main__":
    main()
