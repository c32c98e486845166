"""``python -m hyperion.physics.bench``: 3D forward throughput of every backend, side by side in one run.

The scene follows the issue's anchors: N³ cells including a 10-cell CPML on every face, one plane
source (a soft Jz sheet), no monitors, fp32. Reported in Mcells/s (cells × steps / second, after a
warm-up). ``--gpu`` adds the CUDA backend at 256³ and 384³ and a plain CuPy slicing update without
PML (the issue's 7.0 Gcells/s anchor, measured here in the same run). Writes markdown to stdout and,
with ``--json``, the numbers to a file.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from hyperion.physics.backends import cuda_available, make_solver
from hyperion.physics.sources import GaussianPulse

# the issue's measurements (2026-12-04), printed beside ours and labelled as theirs
ISSUE_ANCHORS = {
    "fdtdx 0.6.3 H200 256^3": 17.3e3, "fdtdx 0.6.3 H200 384^3": 18.4e3, "flaport/fdtd torch.cuda H200 256^3": 1.70e3,
    "plain CuPy slicing, no PML, H200 384^3": 7.0e3, "fdtdx XLA CPU 2-core 100^3": 104.0,
    "Meep 1.25 2-core 100^3": 55.0, "flaport numpy 2-core 100^3": 10.6,
}


def throughput(backend: str, n: int, steps: int, warmup: int = 3) -> float:
    """Mcells/s of ``backend`` on the benchmark scene at n³."""
    solver = make_solver(backend, (n, n, n), pml=10)
    solver.add_source((n // 2, slice(None), slice(None)), GaussianPulse.for_band(0.05, 0.03))
    solver.step(warmup)
    sync = getattr(solver, "synchronize", lambda: None)
    sync()
    start = time.perf_counter()
    solver.step(steps)
    sync()
    return n**3 * steps / (time.perf_counter() - start) / 1e6


def cupy_slicing(n: int, steps: int) -> float:
    """Mcells/s of the plain CuPy slicing Yee update (no PML, vacuum): the issue's 7.0 Gcells/s scene."""
    import cupy as cp

    e = [cp.zeros((n, n, n), cp.float32) for _ in range(3)]
    h = [cp.zeros((n, n, n), cp.float32) for _ in range(3)]
    s = np.float32(0.99 / np.sqrt(3))

    def one() -> None:
        h[0][:, :-1, :-1] -= s * ((e[2][:, 1:, :-1] - e[2][:, :-1, :-1]) - (e[1][:, :-1, 1:] - e[1][:, :-1, :-1]))
        h[1][:-1, :, :-1] -= s * ((e[0][:-1, :, 1:] - e[0][:-1, :, :-1]) - (e[2][1:, :, :-1] - e[2][:-1, :, :-1]))
        h[2][:-1, :-1, :] -= s * ((e[1][1:, :-1, :] - e[1][:-1, :-1, :]) - (e[0][:-1, 1:, :] - e[0][:-1, :-1, :]))
        e[0][:, 1:, 1:] += s * ((h[2][:, 1:, 1:] - h[2][:, :-1, 1:]) - (h[1][:, 1:, 1:] - h[1][:, 1:, :-1]))
        e[1][1:, :, 1:] += s * ((h[0][1:, :, 1:] - h[0][1:, :, :-1]) - (h[2][1:, :, 1:] - h[2][:-1, :, 1:]))
        e[2][1:, 1:, :] += s * ((h[1][1:, 1:, :] - h[1][:-1, 1:, :]) - (h[0][1:, 1:, :] - h[0][1:, :-1, :]))
        e[2][n // 2] += np.float32(1e-3)

    for _ in range(3):
        one()
    cp.cuda.Device().synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        one()
    cp.cuda.Device().synchronize()
    return n**3 * steps / (time.perf_counter() - start) / 1e6


def gradient_costs() -> list[tuple[str, float, float]]:
    """2D TMz on the lightweight bend (108², 2000 steps): seconds and peak numpy memory per gradient method.

    Measured one after the other in this process (tracemalloc counts numpy's allocations); the
    ratio to the forward run is the figure to read.
    """
    import tracemalloc

    from hyperion.physics import adjoint, bend

    simulator = bend.BendSimulator()
    problem = simulator.problem
    eps = bend.permittivity(simulator.spec, np.full(simulator.spec.design_shape, 0.5))
    dft, _ = adjoint.run_forward(problem, eps)
    g = 2 * dft
    runs = {
        "forward": lambda: adjoint.run_forward(problem, eps),
        "store (every Ez^n)": lambda: adjoint.gradient(problem, eps, g, "store"),
        "checkpoint (every ~sqrt(T))": lambda: adjoint.gradient(problem, eps, g, "checkpoint"),
        "time reversal (CPML band recorded)": lambda: adjoint.gradient(problem, eps, g, "reverse"),
        "frequency-domain adjoint (2 runs)": lambda: adjoint.gradient_frequency_domain(problem, eps, g, 2000, 800),
    }
    rows = []
    for name, run in runs.items():
        tracemalloc.start()
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rows.append((name, seconds, peak))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gpu", action="store_true", help="also the CUDA backend (256^3, 384^3)")
    parser.add_argument("--cpu-size", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20, help="CPU steps per measurement")
    parser.add_argument("--gpu-steps", type=int, default=1000)
    parser.add_argument("--skip-cpu", action="store_true", help="leave out the CPU backends")
    parser.add_argument("--gradients", action="store_true", help="also the 2D gradient methods' cost vs forward")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows: list[tuple[str, str, float]] = []
    n = args.cpu_size
    if not args.skip_cpu:
        rows.append(("numpy (teaching, fp32)", f"{n}^3", throughput("numpy", n, max(2, args.steps // 10))))
        rows.append(("numba CPU (fused, parallel, fp32)", f"{n}^3", throughput("numba", n, args.steps)))
    if args.gpu:
        if not cuda_available():
            raise SystemExit("--gpu: no CUDA device visible to CuPy")
        for size in (256, 384):
            rows.append(("CUDA fused E/H + CPML (fp32)", f"{size}^3", throughput("cuda", size, args.gpu_steps)))
        rows.append(("plain CuPy slicing, no PML (fp32)", "384^3", cupy_slicing(384, 200)))
    print(f"machine: {platform.node()} ({platform.processor() or platform.machine()})")
    print("| backend | size | Mcells/s (measured here) |\n|---|---|---|")
    for name, size, rate in rows:
        print(f"| {name} | {size} | {rate:,.1f} |")
    print("\nThe issue's anchors (their measurements, not run here):\n| system | Mcells/s |\n|---|---|")
    for name, rate in ISSUE_ANCHORS.items():
        print(f"| {name} | {rate:,.1f} |")
    grads = gradient_costs() if args.gradients else []
    if grads:
        forward = grads[0][1]
        print("\n2D TMz gradients on the lightweight bend (108², 2000 steps), one process:")
        print("| method | seconds | × forward | peak numpy memory (MiB) |\n|---|---|---|---|")
        for name, seconds, peak in grads:
            print(f"| {name} | {seconds:.2f} | {seconds / forward:.2f} | {peak:.1f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"rows": rows, "gradients": grads, "issue_anchors": ISSUE_ANCHORS}, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
