"""Task 3.7: autotuning the warp-tiled matmul's tile sizes (``hyperion.kernels.matmul.autotune``), graded on
a measured threshold.

At 4096 x 4096 x 4096 fp32 the probe asks ``autotune`` for the best of ``WARPTILE_CONFIGS`` (on the H200
the candidates span 22.6 to 34.6 TFLOP/s: the first one is 1.53x slower than the best), then the grader
re-times every candidate and the chosen one itself, interleaved, with CUDA events (not the learner's
timer), and requires: the chosen config is one of the candidates, correct, and within 15% of the fastest
candidate's time. The table must report every candidate."""

from hyperion_grader.cuda import allow_cuda_import, assert_ran_on_gpu
from hyperion_grader.hidden import probe

TASK = "3.7"
TITLE = "Autotune the matmul tile sizes (measured)"
POINTS = 8
TIMEOUT = 420
MEMORY_MB = None
EXCLUSIVE = True
SIZE = 4096
MARGIN = 1.15


@probe(reference=False)
def tuned():
    allow_cuda_import()
    from hyperion.kernels.matmul.autotune import autotune
    from hyperion.runtime.device import gpu_available

    ok, why = gpu_available()
    if not ok:
        return {"gpu": False, "why": why}
    import statistics

    import cupy
    import numpy as np

    from hyperion.kernels.matmul import WARPTILE_CONFIGS, matmul

    chosen, table = autotune(SIZE, SIZE, SIZE, "07_warptile", [dict(c) for c in WARPTILE_CONFIGS])
    a = cupy.random.standard_normal((SIZE, SIZE), dtype=np.float32)
    b = cupy.random.standard_normal((SIZE, SIZE), dtype=np.float32)
    c = cupy.full((SIZE, SIZE), np.nan, np.float32)
    want = cupy.matmul(a, b)
    matmul(a, b, "07_warptile", dict(chosen), out=c)
    err = float(cupy.linalg.norm(c - want) / cupy.linalg.norm(want))
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    candidates = [dict(chosen)] + [dict(cfg) for cfg in WARPTILE_CONFIGS]
    samples = [[] for _ in candidates]
    for cfg in candidates:  # compile + warm up
        matmul(a, b, "07_warptile", cfg, out=c)
    for _ in range(7):  # interleaved rounds: load changes hit every candidate alike
        for k, cfg in enumerate(candidates):
            start.record()
            for _ in range(3):
                matmul(a, b, "07_warptile", cfg, out=c)
            stop.record()
            stop.synchronize()
            samples[k].append(cupy.cuda.get_elapsed_time(start, stop) / 3)
    ms = [statistics.median(s) for s in samples]
    return {
        "gpu": True,
        "chosen": {k: int(v) for k, v in dict(chosen).items()},
        "in_list": any(dict(chosen) == dict(cfg) for cfg in WARPTILE_CONFIGS),
        "table_rows": len(table),
        "rel_err": err,
        "chosen_ms": ms[0],
        "candidate_ms": ms[1:],
    }


def check_tuned(sub, ref):
    from hyperion_grader.hidden import assert_true

    assert_ran_on_gpu(sub)
    assert_true(sub["in_list"], f"autotune returned {sub['chosen']}, which is not one of the candidates")
    assert_true(sub["table_rows"] == 8, f"the table has {sub['table_rows']} rows for 8 candidates")
    assert_true(
        sub["rel_err"] < 1e-4,
        f"the chosen config computes a wrong product (relative error {sub['rel_err']:.1e})",
    )
    best = min(sub["candidate_ms"])
    assert_true(
        sub["chosen_ms"] <= MARGIN * best,
        f"the chosen config runs in {sub['chosen_ms']:.3f} ms, the fastest candidate in {best:.3f} ms "
        f"(allowed: {MARGIN:.2f}x); candidates: {', '.join(f'{t:.3f}' for t in sub['candidate_ms'])} ms",
    )
