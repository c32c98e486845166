"""``python -m hyperion.physics.bench_grad3d``: 3D gradient cost against one forward run, side by side.

Scene (the issue's): N³ cells including a 10-cell CPML on every face, one plane source (a soft J_z sheet
at x = N/2 over the interior), fp32 on CUDA; the objective is the DFT of Ez at 4 cells at one frequency.
Times, in one process, one after the other: the plain forward solver (``backends``), the forward run of the
gradient engine (it also samples the monitors), and forward + backward for each gradient method.
Memory on CUDA: CuPy's pool is emptied before each method and its reserved bytes read after the
backward pass (the pool keeps freed blocks, so this is at least the peak in use). Also prints how far
the two methods' gradients are apart. ``--backend numba`` runs the same on the CPU (fp64 by default).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from functools import partial

import numpy as np

from hyperion.physics import engines3d, grad3d
from hyperion.physics.bench import throughput
from hyperion.physics.sources import GaussianPulse


def scene(n: int, steps: int, pml: int = 10) -> grad3d.Problem3D:
    inner = slice(pml, n - pml)
    monitor = tuple((np.array(f) * n).astype(int) for f in ([0.6, 0.7, 0.75, 0.4], [0.5, 0.55, 0.35, 0.45],
                                                             [0.5, 0.35, 0.52, 0.5]))
    return grad3d.Problem3D((n, n, n), pml, (n // 2, inner, inner), GaussianPulse.for_band(0.05, 0.03), steps, monitor,
                            np.array([2 * np.pi * 0.05]))


class Meter:
    """Wall time with the device synchronised, and (CUDA) the pool's reserved bytes."""

    def __init__(self, backend: str) -> None:
        self.cp = None
        if backend == "cuda":
            import cupy

            self.cp = cupy

    def sync(self) -> None:
        if self.cp is not None:
            self.cp.cuda.Device().synchronize()

    def reset(self) -> None:
        gc.collect()
        if self.cp is not None:
            self.cp.get_default_memory_pool().free_all_blocks()

    def reserved(self) -> float:
        return self.cp.get_default_memory_pool().total_bytes() / 1e9 if self.cp is not None else float("nan")

    def time(self, run):
        self.sync()
        start = time.perf_counter()
        out = run()
        self.sync()
        return out, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="cuda", choices=("numpy", "numba", "cuda"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--dtype", default=None, help="float32 / float64 (default: the backend's)")
    parser.add_argument("--kernels", default="3", help="cuda: adjoint3d.cu kernels to time, e.g. 3,1")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    meter = Meter(args.backend)
    problem = scene(args.size, args.steps)
    rng = np.random.default_rng(0)
    eps = 1.0 + rng.random(problem.interior_shape)
    dtype = np.dtype(args.dtype) if args.dtype else None
    kernels = [int(k) for k in args.kernels.split(",")] if args.backend == "cuda" else [0]
    rows, grads = {}, {}
    # warm-up (kernel compilation) on a small scene
    small = scene(48, 20)
    for kernel in kernels:
        engines3d.CudaEngine.kernel = kernel
        for method in grad3d.METHODS:
            grad3d.gradient(small, 1.0 + rng.random(small.interior_shape), np.ones((1, 4)), args.backend, method,
                            dtype=dtype)
    if args.backend != "numpy":
        rate = throughput(args.backend, args.size, args.steps)  # Mcells/s, synchronised inside, set-up excluded
        rows["forward, plain solver"] = {"seconds": args.size**3 * args.steps / (rate * 1e6)}
    meter.reset()
    engine, setup = meter.time(lambda: problem.engine(args.backend, eps, dtype))
    (dft, _), seconds = meter.time(partial(grad3d.run_forward, problem, eps, args.backend, dtype=dtype, engine=engine))
    rows["forward, gradient engine (samples monitors)"] = {"seconds": seconds, "reserved_GB": meter.reserved()}
    del engine
    g = 2 * dft  # L = Σ |Ẽ|²
    for kernel in kernels:
        for method in grad3d.METHODS:
            label = f"{method}, adjoint3d.cu kernel {kernel}" if args.backend == "cuda" else method
            engines3d.CudaEngine.kernel = kernel
            meter.reset()
            engine, setup = meter.time(lambda: problem.engine(args.backend, eps, dtype))
            (_, kept), forward = meter.time(partial(grad3d.run_forward, problem, eps, args.backend, keep=method,
                                                    dtype=dtype, engine=engine))
            grads[label], backward = meter.time(partial(grad3d.gradient, problem, eps, g, args.backend, method, kept))
            rows[f"gradient, {label}"] = {"seconds": forward + backward, "forward_part": forward,
                                           "setup_excluded": setup, "reserved_GB": meter.reserved()}
            del kept, engine
    reference = rows.get("forward, plain solver", rows["forward, gradient engine (samples monitors)"])["seconds"]
    labels = list(grads)
    first = grads[labels[0]]
    apart = {other: {"max_rel": float(np.abs(grads[other] - first).max() / np.abs(first).max()),
                     "l2_rel": float(np.linalg.norm(grads[other] - first) / np.linalg.norm(first))}
             for other in labels[1:]}
    print(f"{args.backend}, {args.size}^3 x {args.steps} steps, CPML 10, dtype {dtype or 'default'}; set-up (ε, "
          "profiles, upload, compile cache) excluded from every row, as from the plain solver's")
    print("| run | seconds | x one forward run | reserved GB |\n|---|---|---|---|")
    for name, row in rows.items():
        reserved = row.get("reserved_GB", float("nan"))
        print(f"| {name} | {row['seconds']:.3f} | {row['seconds'] / reference:.2f} | {reserved:.2f} |")
    for other, d in apart.items():
        print(f"{other} vs {labels[0]}: max |diff| / max |g| = {d['max_rel']:.2e}, relative L2 = {d['l2_rel']:.2e}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"args": vars(args), "rows": rows, "apart": apart, "reference_seconds": reference}, handle,
                      indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
