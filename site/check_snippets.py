"""Run every ```python block of the course pages against the installed reference.

    python site/check_snippets.py [PAGE.md ...]     (no argument: every page under site/docs)
    python site/check_snippets.py --notebooks       also run each notebook as the script it is

The blocks of one page run in order in one fresh interpreter (like a reader pasting them into a
session), so a later block may use names from an earlier one. Shell commands and output belong in
```bash / ```text blocks, which are not run. Exit status 1 names each page whose code failed.

The notebooks (site/docs/notebooks/*.py) are executed by the site build itself (mkdocs-jupyter,
``allow_errors: false``), so they are not run here unless asked: ``--notebooks`` runs them as plain
scripts, a quick check without building the site.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent / "docs"
BLOCK = re.compile(r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```",
                   re.DOTALL | re.MULTILINE)


def blocks(page: Path) -> list[str]:
    out = []
    for match in BLOCK.finditer(page.read_text(encoding="utf-8")):
        indent = len(match.group("indent"))
        out.append("\n".join(line[indent:] for line in match.group("body").splitlines()))
    return out


def run_page(page: Path) -> tuple[bool, str]:
    code = blocks(page)
    if not code:
        return True, "no python blocks"
    script = "\n\n".join(f"# ---- block {i + 1}\n{body}" for i, body in enumerate(code))
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", script], cwd=tmp, capture_output=True, text=True,
                              timeout=600)
    if done.returncode:
        lines = done.stderr.strip().splitlines()
        return False, lines[-1] if lines else f"exit {done.returncode}"
    return True, f"{len(code)} blocks ran"


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if a != "--notebooks"]
    pages = [Path(p) for p in args] or sorted(DOCS.rglob("*.md"))
    failed = 0
    if "--notebooks" in argv:  # each notebook as the script it is
        for notebook in sorted((DOCS / "notebooks").glob("*.py")):
            with tempfile.TemporaryDirectory() as tmp:
                done = subprocess.run([sys.executable, str(notebook)], cwd=tmp, capture_output=True,
                                      text=True, timeout=600)
            failed += done.returncode != 0
            tail = done.stderr.strip().splitlines()[-1:] if done.returncode else ["ran"]
            print(f"{'ok  ' if not done.returncode else 'FAIL'} notebooks/{notebook.name}: {tail[0]}")
    for page in pages:
        ok, message = run_page(page)
        failed += not ok
        name = page.resolve().relative_to(DOCS) if page.resolve().is_relative_to(DOCS) else page
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {message}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
