"""``python -m hyperion.physics.validate [--json PATH] [--skip-ceviche]``: every physics check, as a table.

Exits non-zero if any check fails (or could not run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

from hyperion.physics import checks
from hyperion.physics.checks import Check


def all_checks(with_ceviche: bool = True) -> list[tuple[str, Callable[[], list[Check]]]]:
    """The named groups of checks, cheapest first."""
    groups: list[tuple[str, Callable[[], list[Check]]]] = [
        ("stability", checks.courant_stability),
        ("dispersion", checks.dispersion),
        ("cpml 0°", lambda: [checks.cpml_reflection(0)]),
        ("cpml 45°", lambda: [checks.cpml_reflection(45)]),
        ("hankel", checks.line_source_green),
        ("cavity", checks.pec_cavity),
        ("cavity TEz", lambda: checks.pec_cavity_modes((30, 22), "tez", [(1, 0), (0, 1), (1, 1), (2, 0)])),
        ("cavity 3D",
         lambda: checks.pec_cavity_modes((14, 12, 10), "3d", [(1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1)])),
    ]
    if with_ceviche:
        from hyperion.physics import crosscheck

        groups.append(("ceviche", crosscheck.bend_vs_ceviche))
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--skip-ceviche", action="store_true", help="leave out the cross-solver check")
    args = parser.parse_args(argv)
    results: list[Check] = []
    print(f"{'check':66s} {'value':>11s} {'limit':>9s} unit      result")
    for group, run in all_checks(not args.skip_ceviche):
        start = time.perf_counter()
        try:
            found = run()
        except Exception as error:  # a check that cannot run is a failure, reported as such
            found = [Check(f"{group}: could not run ({type(error).__name__}: {error})", float("nan"), 0.0, "")]
        for check in found:
            results.append(check)
            verdict = "pass" if check.passed else "FAIL"
            print(f"{check.name:66s} {check.value:11.4g} {check.limit:9.3g} {check.unit:9s} {verdict}  {check.detail}")
        print(f"{'':66s} ({group}: {time.perf_counter() - start:.1f} s)")
    failed = [c for c in results if not c.passed]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([c.as_dict() for c in results], handle, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
