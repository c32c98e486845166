"""Measure ``batch`` on a class of N toy hand-ins against grading each alone, on this machine.

    python grader/bench/batch_class.py --count 100 --workers 2

Hand-ins (level 99 of the grader's toy fixture): the reference, a fresh skeleton, partial
solutions, and hostile ones (an endless loop, an exit, writes next door), cycled to N. Prints: do
the scores equal the single runs' (must), the wall time of ``batch`` against (sum of single
runs) / W, and the share of time outside grading.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from conftest import FIXTURE, make_submission  # noqa: E402
from test_batch import HAND_INS, TASKS  # noqa: E402

from hyperion_grader.batch import run_batch  # noqa: E402
from hyperion_grader.levels import Registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "toyrepo"
        shutil.copytree(FIXTURE, root)
        toy = Registry.discover(root)
        kinds = list(HAND_INS.items())
        for i in range(args.count):
            name, bodies = kinds[i % len(kinds)]
            make_submission(toy, f"{i:03d}-{name}", bodies)
        subs = root.parent / "subs"
        singles, single_scores = 0.0, {}
        for hand_in in sorted(subs.iterdir()):
            out = Path(tmp) / "single" / f"{hand_in.name}.json"
            start = time.monotonic()
            subprocess.run([sys.executable, "-m", "hyperion_grader", "--root", str(root), "grade", "--level", "99",
                            "--submission", str(hand_in), "--json", str(out), *TASKS], capture_output=True)
            singles += time.monotonic() - start
            single_scores[hand_in.name] = {t["number"]: t["score"] for t in json.loads(out.read_text())["tests"]}
        start = time.monotonic()
        outcomes = run_batch(root, 99, subs, Path(tmp) / "batch", args.workers, TASKS)
        wall = time.monotonic() - start
        same = all({t["number"]: t["score"] for t in o.results["tests"]} == single_scores[o.name] for o in outcomes)
        print(f"\n{args.count} hand-ins, {args.workers} workers: scores equal to single runs: {same}")
        print(f"sum of single runs {singles:.1f} s; / W = {singles / args.workers:.1f} s; batch wall {wall:.1f} s "
              f"= {wall / (singles / args.workers):.3f} x (sum / W)")


if __name__ == "__main__":
    main()
