"""``python -m hyperion.physics.bench_grad3d``: 3D gradient cost against one forward run, side by side.

Scene (the issue's): N³ cells including a 10-cell CPML on every face, one plane source (a soft J_z sheet
at x = N/2 over the interior), fp32 on CUDA; the objective is the DFT of Ez at 4 cells at one frequency.

What is timed (one process): the plain forward solver (``backends``), the forward run of the gradient engine
(it also samples the monitors) and, per method and adjoint kernel, a gradient as its forward part (the run
that records what the method keeps) and its backward part, each timed on its own with the device
synchronised before and after. No method pays another's warm-up:

1. warm-up: every run once at the full size, untimed (compiles every kernel, fills the memory pool with the
   buffers each method needs, the time-reversal record included). Memory is read here: the pool is emptied
   before each method and its reserved bytes read after the backward part (the pool keeps freed blocks, so
   this is at least the peak in use);
2. ``--repeats`` rounds, each running every row once, in a rotated order (round r starts at row r), with
   the pool kept warm; the table gives medians over the rounds, and each part's median on its own.

Set-up (ε, profiles, upload, kernel compilation) is excluded from every row, as from the plain solver's.
Also prints how far the methods' gradients are apart. ``--backend numba`` / ``numpy`` run the same on the
CPU (fp64 by default).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hyperion.physics import engines3d, grad3d
from hyperion.physics.backends import make_solver
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

    def time(self, run: Callable[[], Any]) -> tuple[Any, float]:
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
    parser.add_argument("--kernels", default="4", help="cuda: adjoint3d.cu kernels to time, e.g. 6,4")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds after the warm-up (median reported)")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    meter = Meter(args.backend)
    problem = scene(args.size, args.steps)
    eps = 1.0 + np.random.default_rng(0).random(problem.interior_shape)
    dtype = np.dtype(args.dtype) if args.dtype else None
    kernels = [int(k) for k in args.kernels.split(",")] if args.backend == "cuda" else [0]

    # set-up, untimed: one engine per adjoint kernel (compiles its module), the plain solver
    engines = {}
    for kernel in kernels:
        engines3d.CudaEngine.kernel = kernel
        engines[kernel] = problem.engine(args.backend, eps, dtype)
    first = engines[kernels[0]]
    solver = make_solver(args.backend, problem.shape, pml=problem.pml, dtype=first.dtype)
    solver.add_source(problem.source, problem.waveform)
    g = 2 * grad3d.run_forward(problem, eps, args.backend, dtype=dtype, engine=first)[0]  # L = Σ |Ẽ|²

    def plain() -> dict:
        _, seconds = meter.time(lambda: solver.step(args.steps))
        return {"seconds": seconds}

    def engine_forward() -> dict:
        _, seconds = meter.time(lambda: grad3d.run_forward(problem, eps, args.backend, engine=first))
        return {"seconds": seconds}

    grads: dict[str, np.ndarray] = {}

    def gradient(kernel: int, method: str, label: str) -> Callable[[], dict]:
        def run() -> dict:
            engine = engines[kernel]
            (_, kept), forward = meter.time(lambda: grad3d.run_forward(problem, eps, args.backend, keep=method,
                                                                       engine=engine))
            on_device, backward = meter.time(lambda: grad3d.gradient(problem, eps, g, args.backend, method, kept,
                                                                      to_host=False))
            grads[label], to_host = meter.time(lambda: np.asarray(engine.to_host(on_device), np.float64))
            return {"seconds": forward + backward, "forward_part": forward, "backward_part": backward,
                    "to_host": to_host}
        return run

    runs = {"forward, plain solver": plain, "forward, gradient engine (samples monitors)": engine_forward}
    for kernel in kernels:
        for method in grad3d.METHODS:
            label = f"{method}, adjoint3d.cu kernel {kernel}" if args.backend == "cuda" else method
            runs[f"gradient, {label}"] = gradient(kernel, method, label)

    reserved = {}
    for name, run in runs.items():  # 1. warm-up, untimed; the pool emptied before each run, its peak read after
        meter.reset()
        run()
        reserved[name] = meter.reserved()
    names = list(runs)
    samples: dict[str, list[dict]] = {name: [] for name in names}
    for round_ in range(args.repeats):  # 2. timed rounds, rotated order, the pool kept warm
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            samples[name].append(runs[name]())

    def median(name: str, key: str) -> float:
        values = [s[key] for s in samples[name] if key in s]
        return statistics.median(values) if values else float("nan")

    reference = median("forward, plain solver", "seconds")
    labels = list(grads)
    base = grads[labels[0]]
    apart = {other: {"max_rel": float(np.abs(grads[other] - base).max() / np.abs(base).max()),
                     "l2_rel": float(np.linalg.norm(grads[other] - base) / np.linalg.norm(base))}
             for other in labels[1:]}
    print(f"{args.backend}, {args.size}^3 x {args.steps} steps, CPML {problem.pml}, dtype {first.dtype}; every run "
          f"warmed once untimed, then {args.repeats} interleaved rounds (rotated order); medians. Set-up (ε, "
          "profiles, upload, compilation) excluded from every row; reserved GB from the warm-up, pool emptied first")
    print("A gradient's seconds end with ∂L/∂ε on the device (as a forward run ends with its fields there); the "
          "copy to the host as float64 numpy (what the autograd Function returns) is the last column, apart.")
    print("| run | seconds | x one forward run | forward part | backward part | backward / forward run | "
          "spread (max-min)/median | reserved GB | + ∂L/∂ε to host s |\n|---|---|---|---|---|---|---|---|---|")
    rows = {}
    for name in names:
        total, forward, backward, to_host = (median(name, key) for key in ("seconds", "forward_part",
                                                                           "backward_part", "to_host"))
        spread = (max(s["seconds"] for s in samples[name]) - min(s["seconds"] for s in samples[name])) / total
        rows[name] = {"seconds": total, "forward_part": forward, "backward_part": backward, "to_host": to_host,
                      "reserved_GB": reserved[name], "samples": samples[name]}
        cells = [f"{total:.3f}", f"{total / reference:.2f}", f"{forward:.3f}", f"{backward:.3f}",
                 f"{backward / reference:.2f}", f"{spread:.2f}", f"{reserved[name]:.2f}", f"{to_host:.3f}"]
        print(f"| {name} | " + " | ".join("-" if cell == "nan" else cell for cell in cells) + " |")
    for other, d in apart.items():
        print(f"{other} vs {labels[0]}: max |diff| / max |g| = {d['max_rel']:.2e}, relative L2 = {d['l2_rel']:.2e}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"args": vars(args), "rows": rows, "apart": apart, "reference_seconds": reference}, handle,
                      indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
