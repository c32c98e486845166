"""Template of the noxfile shipped in the student repository (``LEVELS`` is filled in at release)."""

TEMPLATE = '''"""Hyperion, student edition.

`nox -s grade-level1` runs level 1's public tests and reports them per test file.

The hidden tests your instructor grades with are not here; passing every public test is the way to start.
"""

import collections
import xml.etree.ElementTree as ET
from pathlib import Path

import nox

LEVELS = {levels!r}
nox.options.sessions = []


def _install(session: nox.Session, number: int) -> None:
    args = []
    for n in sorted(LEVELS):
        if n <= number:
            args += ["-e", f"./{{LEVELS[n]}}[test]" if n == number else f"./{{LEVELS[n]}}"]
    session.install(*args)


def _report(session: nox.Session, junit: Path) -> None:
    counts = collections.defaultdict(lambda: [0, 0])
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = (case.get("file") or case.get("classname", "?").replace(".", "/") + ".py").split("/")[-1]
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        counts[name][0] += not failed and not skipped
        counts[name][1] += 1
    width = max((len(n) for n in counts), default=10)
    total = [0, 0]
    for name in sorted(counts):
        ok, n = counts[name]
        total[0] += ok
        total[1] += n
        session.log(f"{{name:<{{width}}}}  {{ok:>4}}/{{n:<4}} {{'PASS' if ok == n else 'FAIL'}}")
    session.log(f"{{'total':<{{width}}}}  {{total[0]:>4}}/{{total[1]:<4}}")


def _grade_session(number: int, folder: str):
    @nox.session(name=f"grade-level{{number}}")
    def grade(session: nox.Session) -> None:
        _install(session, number)
        junit = Path(session.create_tmp()) / "junit.xml"
        session.run("pytest", f"{{folder}}/tests", "-q", "-o", "junit_family=xunit1",
                    f"--junitxml={{junit}}", *session.posargs, success_codes=[0, 1, 5])
        _report(session, junit)

    return grade


for _n, _folder in LEVELS.items():
    globals()[f"grade_level{{_n}}"] = _grade_session(_n, _folder)
'''


def render(levels: dict[int, str]) -> str:
    return TEMPLATE.format(levels=levels)
