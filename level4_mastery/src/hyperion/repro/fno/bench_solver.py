"""The Darcy solve's cost per sample, one process: the nested-dissection order against SuperLU's own.

    python -m hyperion.repro.fno.bench_solver --s 421 --samples 3

For each of ``samples`` coefficient fields at ``s x s`` nodes, alternately: (a) what
:func:`hyperion.repro.fno.darcy.solve` does -- the matrix assembled in the cached nested-dissection
order, SuperLU with ``permc_spec="NATURAL"``, diagonal pivots -- and (b) the previous solver: the
row-major matrix, SuperLU ordering it itself by minimum degree on ``A + A^T`` (``MMD_AT_PLUS_A``,
symmetric mode). Prints (and returns) the median seconds of each, their ratio and the largest
relative difference of the two solutions.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--s", type=int, default=421)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(bench(args.s, args.samples)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
