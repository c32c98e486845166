"""Measure ``batch`` on a class of N toy hand-ins against grading each alone, on this machine.

    python grader/bench/batch_class.py --count 100 --workers 2 [--json PATH]

Hand-ins (level 99 of the grader's toy fixture): the reference, a fresh skeleton, partial
solutions, and hostile ones (an endless loop, an exit, writes next door), cycled to N. Prints: do
the scores equal the single runs' (must), the wall time of ``batch`` against (sum of single
runs) / W, and where the batch's time went: each worker's busy and idle time, the time every
worker waited at the end for the last one, and each kind of hand-in's mean time alone and in the
batch, and (a check on the load) the first hand-in of each kind graded alone once more. Writes the
figures and the per-hand-in timeline as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Nothing heavy at the top: each forked grading re-runs this file's top level (multiprocessing's rule);
# the grader's tests (and pytest) are imported in main().


def kind(name: str) -> str:
    return name.split("-", 1)[1]


def where_time_went(outcomes: list, began: float, wall: float, workers: int) -> dict:
    """Per worker: busy seconds (its gradings), idle seconds (the rest of the wall time) and of those,
    the idle seconds after its last grading ended (waiting for the others to finish)."""
    busy: dict[int, float] = defaultdict(float)
    last_end: dict[int, float] = defaultdict(float)
    for o in outcomes:
        busy[o.worker] += o.seconds
        last_end[o.worker] = max(last_end[o.worker], o.started - began + o.seconds)
    per_worker = {str(w): {"busy_s": round(busy[w], 2), "idle_s": round(wall - busy[w], 2),
                      "idle_at_end_s": round(wall - last_end[w], 2)} for w in sorted(busy)}
    return {"per_worker": per_worker, "idle_s": round(workers * wall - sum(busy.values()), 2)}


def greedy_wall(durations: list[float], workers: int) -> float:
    """The wall time of a queue of hand-ins with these durations, each taken by the first free worker."""
    free = [0.0] * workers
    for d in durations:
        i = free.index(min(free))
        free[i] += d
    return max(free)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, default=HERE / "batch_class.json", help="where to write the figures")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent / "tests"))
    from conftest import FIXTURE, make_submission
    from test_batch import HAND_INS, TASKS

    from hyperion_grader.batch import run_batch
    from hyperion_grader.levels import Registry

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "toyrepo"
        shutil.copytree(FIXTURE, root)
        toy = Registry.discover(root)
        kinds = list(HAND_INS.items())
        for i in range(args.count):
            name, bodies = kinds[i % len(kinds)]
            make_submission(toy, f"{i:03d}-{name}", bodies)
        subs = root.parent / "subs"
        single_s, single_scores = {}, {}
        load_before = os.getloadavg()

        def single(hand_in: Path) -> tuple[float, dict]:
            out = Path(tmp) / "single" / f"{hand_in.name}.json"
            start = time.monotonic()
            subprocess.run([sys.executable, "-m", "hyperion_grader", "--root", str(root), "grade", "--level", "99",
                            "--submission", str(hand_in), "--json", str(out), *TASKS], capture_output=True)
            return time.monotonic() - start, {t["number"]: t["score"] for t in json.loads(out.read_text())["tests"]}

        for hand_in in sorted(subs.iterdir()):
            single_s[hand_in.name], single_scores[hand_in.name] = single(hand_in)
        singles = sum(single_s.values())
        began = time.monotonic()
        outcomes = run_batch(root, 99, subs, Path(tmp) / "batch", args.workers, TASKS)
        wall = time.monotonic() - began
        load_after = os.getloadavg()
        # the first of each kind once more, alone: did the machine's load change between the two phases?
        again = sorted(subs.iterdir())[: len(kinds)]
        drift = sum(single(h)[0] for h in again) / sum(single_s[h.name] for h in again)
    same = all({t["number"]: t["score"] for t in o.results["tests"]} == single_scores[o.name] for o in outcomes)
    ratio = wall / (singles / args.workers)
    print(f"\n{args.count} hand-ins, {args.workers} workers: scores equal to single runs: {same}")
    print(f"sum of single runs {singles:.1f} s; / W = {singles / args.workers:.1f} s; batch wall {wall:.1f} s "
          f"= {ratio:.3f} x (sum / W)")
    spent = where_time_went(outcomes, began, wall, args.workers)
    for w, figures in spent["per_worker"].items():
        print(f"  worker {w}: busy {figures['busy_s']:.1f} s, idle {figures['idle_s']:.1f} s "
              f"(of which at the end {figures['idle_at_end_s']:.1f} s)")
    in_order = [o.seconds for o in sorted(outcomes, key=lambda o: o.name)]
    model = {"same_order_s": round(greedy_wall(in_order, args.workers), 2),
             "reversed_s": round(greedy_wall(in_order[::-1], args.workers), 2),
             "sum_over_w_s": round(sum(in_order) / args.workers, 2)}
    print(f"  model, the batch's own durations, the first free worker takes the next: {model['same_order_s']:.1f} s "
          f"in this order, {model['reversed_s']:.1f} s reversed; perfectly balanced {model['sum_over_w_s']:.1f} s")
    by_kind: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"single": [], "batch": []})
    for o in outcomes:
        by_kind[kind(o.name)]["batch"].append(o.seconds)
        by_kind[kind(o.name)]["single"].append(single_s[o.name])
    means = {}
    for k, times in by_kind.items():
        n = len(times["single"])
        means[k] = {"count": n, "single_mean_s": round(sum(times["single"]) / n, 3),
                    "batch_mean_s": round(sum(times["batch"]) / n, 3)}
        print(f"  {k:18s} x{n:3d}: alone {means[k]['single_mean_s']:6.2f} s, in the batch "
              f"{means[k]['batch_mean_s']:6.2f} s (mean)")
    print(f"  load average (1 min) before the single runs {load_before[0]:.2f}, after the batch {load_after[0]:.2f}; "
          f"the first {len(again)} hand-ins alone again after the batch took {drift:.3f} x their first time")
    report = {
        "command": f"python grader/bench/batch_class.py --count {args.count} --workers {args.workers}",
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "machine": platform.node(),
        "cpus": os.cpu_count(), "load_1min_before_after": [load_before[0], load_after[0]],
        "singles_again_after_batch_over_before": round(drift, 4),
        "count": args.count, "workers": args.workers, "scores_equal_single_runs": same,
        "sum_single_s": round(singles, 2), "batch_wall_s": round(wall, 2), "ratio_to_sum_over_w": round(ratio, 4),
        **spent, "schedule_model": model, "by_kind": means,
        "timeline": [{"name": o.name, "worker": o.worker, "start_s": round(o.started - began, 3),
                      "seconds": round(o.seconds, 3), "single_s": round(single_s[o.name], 3)}
                     for o in sorted(outcomes, key=lambda o: o.started)],
    }
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
