"""``python -m hyperion_grader {grade,start,release}``; :func:`main` is also what a noxfile can call."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from hyperion_grader.levels import Registry, find_root
from hyperion_grader.markers import MarkerError

EXIT_OK, EXIT_GRADER_ERROR, EXIT_BELOW_MIN = 0, 2, 1


def _percent(text: str) -> float:
    """``--min-score``: a percentage of the level's points, 0 to 100."""
    value = float(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"--min-score is a percentage from 0 to 100, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hyperion_grader", description=__doc__)
    p.add_argument("--root", type=Path, help="repository root (default: found from the cwd)")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade a level (workspace if present, else the reference)")
    g.add_argument("--level", type=int, required=True)
    which = g.add_mutually_exclusive_group()
    which.add_argument("--submission", type=Path, help="a level folder laid out like the skeleton")
    which.add_argument("--reference", action="store_true", help="grade the reference solution")
    g.add_argument(
        "--use-own-lower-levels",
        action="store_true",
        help="import lower levels from the learner's folders beside the submission",
    )
    g.add_argument("--json", type=Path, help="Gradescope results.json path (default grades/levelN.json)")
    g.add_argument("--min-score", type=_percent, metavar="PERCENT",
                   help="a percentage, 0-100: exit 1 when the score is below this share of the level's points")
    g.add_argument("--jobs", type=int, help="tasks graded in parallel (default: CPU count)")
    g.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every task's timeout")
    g.add_argument("--task", action="append", help="grade only this task (repeatable), e.g. 1.5")
    g.add_argument("--no-cache", action="store_true", help="do not reuse cached reference results")
    g.add_argument(
        "--require-sealed",
        action="store_true",
        help="refuse to grade unless every child runs in the OS sandbox (batch and Gradescope grading)",
    )
    g.add_argument("--time-limit", type=float, default=3600.0, help="seconds for the whole grading")
    s = sub.add_parser("start", help="write the learner's workspace for a level from the generator")
    s.add_argument("--level", type=int, required=True)
    s.add_argument("--force", action="store_true", help="overwrite an existing workspace")
    c = sub.add_parser("selfcheck", help="reference full, skeleton zero, each task alone scores alone")
    c.add_argument("--level", type=int, required=True)
    c.add_argument("--task", action="append", help="tasks to check filled alone (default: all)")
    r = sub.add_parser("release", help="build the student repository of one level")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--level", type=int, required=True,
                   help="the level it grades (a skeleton); the levels below ship as reference wheels")
    r.add_argument("--site", type=Path, help="the built course site to ship (nox -s docs writes site/build)")
    b = sub.add_parser("batch", help="grade every hand-in in a folder, W at a time (resumable)")
    b.add_argument("--level", type=int, required=True)
    b.add_argument("--submissions", type=Path, required=True, help="folder of hand-in folders")
    b.add_argument("--workers", type=int, default=1)
    b.add_argument("--out", type=Path, help="results folder (default grades/batch-levelN)")
    b.add_argument("--allow-practice", action="store_true", help="grade even without the OS sandbox")
    i = sub.add_parser("grade-index", help="grade the hand-in at $JOB_COMPLETION_INDEX (Kubernetes)")
    i.add_argument("--level", type=int, required=True)
    i.add_argument("--submissions", type=Path, required=True)
    i.add_argument("--out", type=Path, required=True)
    i.add_argument("--index", type=int, help="default: $JOB_COMPLETION_INDEX")
    i.add_argument("--allow-practice", action="store_true", help="grade even without the OS sandbox")
    z = sub.add_parser("gradescope-zip", help="the Gradescope autograder zip of a level (0-2)")
    z.add_argument("--level", type=int, required=True)
    z.add_argument("--out", type=Path, help="default grades/autograder-levelN.zip")
    z.add_argument("--no-wheels", action="store_true", help="setup.sh installs from the index instead")
    k = sub.add_parser("k8s-manifest", help="a Kubernetes Indexed Job grading COUNT hand-ins (JSON)")
    k.add_argument("--level", type=int, required=True)
    k.add_argument("--count", type=int, required=True, help="number of hand-ins (completions)")
    k.add_argument("--image", required=True, help="container image with the repository and the grader")
    k.add_argument("--parallelism", type=int, default=10)
    return p


def cmd_grade(args, registry: Registry, console: Console) -> int:
    from hyperion_grader.judge import GradeConfig, grade
    from hyperion_grader.report import gradescope, print_table, unfinished, write_json

    level = registry.get(args.level)
    if args.reference:
        submission = level.path
    elif args.submission:
        submission = args.submission
    else:
        submission = level.workspace if level.workspace.is_dir() else level.path
    if not (submission / "src").is_dir():
        console.print(f"[red]{submission} has no src/ folder[/red]")
        return EXIT_GRADER_ERROR
    from hyperion_grader import box

    if args.require_sealed and box.mode() != "sealed":
        console.print(f"[bold red]error:[/bold red] --require-sealed: no OS sandbox here ({box.why_practice()})")
        return EXIT_GRADER_ERROR
    cache = None if args.no_cache else registry.root / "grader" / ".cache" / f"level{level.number}"
    config = GradeConfig(
        registry,
        level.number,
        submission,
        args.use_own_lower_levels,
        timeout_scale=args.timeout_scale,
        cache_dir=cache,
        only=args.task,
        time_limit=args.time_limit,
    )
    if args.jobs:
        config.jobs = args.jobs
    console.print(f"Grading level {level.number} from {submission}")
    out = args.json or level.grades_file
    write_json(out, unfinished(level.number))  # replaced below; stays if the judge itself is killed
    report = grade(config)
    print_table(report, console)
    write_json(out, gradescope(report))
    console.print(f"Wrote {out}")
    if not report.results:
        console.print(f"[yellow]no hidden tests in {level.hidden_dir}[/yellow]")
    if report.grader_errors:
        return EXIT_GRADER_ERROR
    percent = 100 * report.score / report.max_score if report.max_score else 100.0
    if args.min_score is not None and percent < args.min_score:
        console.print(f"[red]score {report.score:g}/{report.max_score:g} = {percent:.1f}% is below "
                      f"--min-score {args.min_score:g}%[/red]")
        return EXIT_BELOW_MIN
    return EXIT_OK


def cmd_start(args, registry: Registry, console: Console) -> int:
    from hyperion_grader.skeleton import generate_level

    level = registry.get(args.level)
    if level.workspace.exists() and not args.force:
        console.print(f"{level.workspace} already exists: left untouched (use --force to regenerate it)")
        return EXIT_OK
    regions = generate_level(level.path, level.workspace)
    tasks = sorted({r.task for r in regions}, key=lambda t: tuple(map(int, t.split("."))))
    console.print(f"Wrote {level.workspace}: {len(regions)} stubs in tasks {', '.join(tasks)}")
    return EXIT_OK


def cmd_release(args, registry: Registry, console: Console) -> int:
    from hyperion_grader.release import build_release

    site = args.site.resolve() if args.site else None
    folders = build_release(registry, args.out.resolve(), args.level, site)
    console.print(f"Wrote the level-{args.level} student repository {args.out}: {', '.join(folders)}")
    return EXIT_OK


def cmd_selfcheck(args, registry: Registry, console: Console) -> int:
    from hyperion_grader.selfcheck import self_check

    cache = registry.root / "grader" / ".cache" / f"level{args.level}"
    problems = self_check(registry, args.level, args.task, log=console.print, cache_dir=cache)
    for p in problems:
        console.print(f"[red]FAIL[/red] {p}")
    console.print("self-check passed" if not problems else f"{len(problems)} self-check problem(s)")
    return EXIT_GRADER_ERROR if problems else EXIT_OK


def cmd_batch(args, registry: Registry, console: Console) -> int:
    from hyperion_grader.batch import SEALED, run_batch

    registry.get(args.level)
    out = args.out or registry.root / "grades" / f"batch-level{args.level}"
    extra = [] if args.allow_practice else SEALED
    outcomes = run_batch(registry.root, args.level, args.submissions, out, args.workers, extra, console=console)
    return EXIT_GRADER_ERROR if any(o.results is None for o in outcomes) else EXIT_OK


def cmd_grade_index(args, registry: Registry, console: Console) -> int:
    import os

    from hyperion_grader.batch import SEALED, grade_index

    index = args.index if args.index is not None else int(os.environ.get("JOB_COMPLETION_INDEX", "-1"))
    outcome = grade_index(registry.root, args.level, args.submissions, args.out, index,
                          [] if args.allow_practice else SEALED)
    console.print(f"{outcome.name}: {(outcome.results or {}).get('score', 'not graded')} {outcome.error}")
    return EXIT_OK if outcome.results is not None else EXIT_GRADER_ERROR


def cmd_gradescope_zip(args, registry: Registry, console: Console) -> int:
    from hyperion_grader.gradescope import build_zip

    out = args.out or registry.root / "grades" / f"autograder-level{args.level}.zip"
    build_zip(registry, args.level, out, wheels=not args.no_wheels)
    console.print(f"Wrote {out}")
    return EXIT_OK


def cmd_k8s_manifest(args, registry: Registry, console: Console) -> int:
    import json

    from hyperion_grader.k8s import job_manifest

    registry.get(args.level)
    print(json.dumps(job_manifest(args.level, args.count, args.image, args.parallelism), indent=2))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0: the command completed, whatever the score)."""
    args = _parser().parse_args(argv)
    console = Console()
    try:
        registry = Registry.discover(args.root or find_root())
        command = {
            "grade": cmd_grade,
            "start": cmd_start,
            "release": cmd_release,
            "selfcheck": cmd_selfcheck,
            "batch": cmd_batch,
            "grade-index": cmd_grade_index,
            "gradescope-zip": cmd_gradescope_zip,
            "k8s-manifest": cmd_k8s_manifest,
        }[args.command]
        return command(args, registry, console)
    except (MarkerError, FileNotFoundError, KeyError, ValueError, RuntimeError) as exc:
        console.print(f"[bold red]error:[/bold red] {exc}")
        return EXIT_GRADER_ERROR


if __name__ == "__main__":
    sys.exit(main())
