"""The Darcy solve's cost per sample, one process: the nested-dissection order against SuperLU's own.

    python -m hyperion.repro.fno.bench_solver --s 421 --samples 3

For each of ``samples`` coefficient fields at ``s x s`` nodes, alternately: (a) what
:func:`hyperion.repro.fno.darcy.solve` does -- the matrix assembled in the cached nested-dissection
order, SuperLU with ``permc_spec="NATURAL"``, diagonal pivots -- and (b) the previous solver: the
row-major matrix, SuperLU ordering it itself by minimum degree on ``A + A^T`` (``MMD_AT_PLUS_A``,
symmetric mode). Prints (and returns) the median seconds of each, their ratio and the largest
relative difference of the two solutions.

    python -m hyperion.repro.fno.bench_solver --s 421 --samples 16 --pcg

``--pcg``: the same fields solved one by one by :func:`~hyperion.repro.fno.darcy.solve` and as one batch
by :func:`~hyperion.repro.fno.darcy.solve_pcg` on numpy (the batch timed before and after the direct
solves), one thread each; seconds per sample of both, the iterations, the largest relative difference.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.sparse.linalg import splu

from hyperion.repro.fno import darcy


def solve_minimum_degree(a: np.ndarray) -> np.ndarray:
    """The interior solution by SuperLU's minimum-degree ordering of the row-major matrix (the old way)."""
    n = a.shape[0]
    factors = splu(darcy.operator(a).tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
    return factors.solve(np.ones((n - 2) ** 2)).reshape(n - 2, n - 2)


def bench(s: int, samples: int, seed: int = 0) -> dict[str, float]:
    fields = darcy.sample_coefficient(samples, s, np.random.default_rng(seed))
    darcy.nested_dissection(s - 2)  # computed once per grid size (cached): not part of a sample's cost
    nested, minimum_degree, difference = [], [], 0.0
    for a in fields:
        start = time.perf_counter()
        u = darcy.solve(a)[1:-1, 1:-1]
        nested.append(time.perf_counter() - start)
        start = time.perf_counter()
        reference = solve_minimum_degree(a)
        minimum_degree.append(time.perf_counter() - start)
        difference = max(difference, float(np.abs(u - reference).max() / np.abs(reference).max()))
    result = {"s": s, "samples": samples, "seconds_nested_dissection": float(np.median(nested)),
              "seconds_minimum_degree": float(np.median(minimum_degree)),
              "speedup": float(np.median(minimum_degree) / np.median(nested)), "max_relative_difference": difference}
    return result


def bench_pcg(s: int, samples: int, seed: int = 0) -> dict[str, object]:
    fields = darcy.sample_coefficient(samples, s, np.random.default_rng(seed))
    darcy.nested_dissection(s - 2)
    batched = []
    start = time.perf_counter()
    solution = darcy.solve_pcg(fields)
    batched.append(time.perf_counter() - start)
    direct, references = [], []
    for a in fields:
        start = time.perf_counter()
        references.append(darcy.solve(a))
        direct.append(time.perf_counter() - start)
    start = time.perf_counter()
    darcy.solve_pcg(fields)
    batched.append(time.perf_counter() - start)
    reference = np.stack(references)
    difference = np.abs(solution.u - reference).max(axis=(1, 2)) / np.abs(reference).max(axis=(1, 2))
    per_sample_pcg = min(batched) / samples
    return {"s": s, "samples": samples, "rtol": darcy.PCG_RTOL,
            "seconds_per_sample_direct": float(np.median(direct)),
            "seconds_per_sample_pcg_batched": per_sample_pcg, "seconds_pcg_batch_runs": batched,
            "ratio_direct_over_pcg": float(np.median(direct) / per_sample_pcg),
            "pcg_iterations": solution.iterations.tolist(),
            "pcg_relative_residual_max": float(solution.relative_residual.max()),
            "max_relative_difference": float(difference.max())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s", type=int, default=421)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--pcg", action="store_true", help="direct against batched PCG instead of the two orderings")
    args = parser.parse_args(argv)
    darcy._single_threaded()  # one BLAS thread: both solvers on one core
    print(json.dumps(bench_pcg(args.s, args.samples) if args.pcg else bench(args.s, args.samples)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
