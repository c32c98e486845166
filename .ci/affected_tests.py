"""Which test files a change can break: the tests whose imports reach a changed file, kernels included.

    python3 .ci/affected_tests.py --since REV [--gpu] [--why] [--max-depth N]   # files changed since REV
    python3 .ci/affected_tests.py PATH... [--gpu] [--why] [--max-depth N]       # these files

CI has no GPU, so a GPU test broken by a change stays green there; run what this prints on a GPU before
calling a kernel change done (a planned-path test stayed broken for a session that way). The graph:

* a ``.py`` file depends on every project module it imports, at any depth of the file (lazy imports inside
  functions count), and on each package ``__init__`` on the way;
* a ``.py`` file depends on a ``.cu``/``.cuh`` file whose name appears in its text (the loaders name their
  sources), and a ``.cu``/``.cuh`` file on every file it ``#include``s by a name we have;
* a test file depends the same way on helper modules beside it (``level3_gpu``, another test file).

``--gpu`` keeps the test files that touch CUDA (their text names ``cupy``, ``cuda`` or ``skip_without_gpu``).
The graph is import-level, so it over-approximates (a matmul test imports ``attention`` for
``hopper_available`` and so reaches every flash kernel): the nearest tests come first, ``--why`` shows each
one's shortest chain, ``--max-depth`` cuts the far ones.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("*.py", "*.cu", "*.cuh")
INCLUDE = re.compile(r'#include\s+"([^"]+)"')


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part == "__pycache__" for part in relative.parts)


def _project_files() -> list[Path]:
    """The ``.py``, ``.cu`` and ``.cuh`` files under the ``src`` and ``tests`` folders of the top-level folders
    (hidden ones, such as nox's virtual environments in ``.nox``, left out)."""
    files = []
    for top in sorted(p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for sub in ("src", "tests"):
            if (top / sub).is_dir():
                for pattern in SOURCES:
                    files += [p for p in sorted((top / sub).rglob(pattern)) if not _hidden(p.relative_to(ROOT))]
    return files


def _module_names(files: list[Path]) -> dict[str, Path]:
    """Dotted module name → file, for the packages under each ``src`` and the helper modules of each ``tests``."""
    names = {}
    for path in files:
        if path.suffix != ".py":
            continue
        base = next(parent for parent in path.parents if parent.name in ("src", "tests"))
        parts = path.relative_to(base).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            names.setdefault(".".join(parts), path)
    return names


def _imports(path: Path, names: dict[str, Path]) -> set[Path]:
    """The project files one ``.py`` file imports (each package ``__init__`` on the way included)."""
    try:
        tree = ast.parse(path.read_text(), str(path))
    except SyntaxError:
        return set()
    wanted = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            wanted |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            wanted.add(node.module)
            wanted |= {f"{node.module}.{alias.name}" for alias in node.names}
    found = set()
    for name in wanted:
        parts = name.split(".")
        found |= {names[".".join(parts[:i])] for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in names}
    return found


def dependencies(files: list[Path]) -> dict[Path, set[Path]]:
    """file → the project files it depends on directly."""
    names = _module_names(files)
    kernels = defaultdict(list)  # a .cu/.cuh file's name → its paths
    for path in files:
        if path.suffix in (".cu", ".cuh"):
            kernels[path.name].append(path)
    deps: dict[Path, set[Path]] = {}
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".py":
            deps[path] = _imports(path, names)
            deps[path] |= {k for name, paths in kernels.items() if name in text for k in paths}
        else:
            deps[path] = {k for inc in INCLUDE.findall(text) for k in kernels.get(Path(inc).name, [])}
    return deps


def affected_tests(changed: list[Path], gpu_only: bool = False) -> dict[Path, list[Path]]:
    """Each test file (``test_*.py``) that reaches any of ``changed`` through :func:`dependencies`, with the
    shortest chain from the changed file to it; the nearest first."""
    files = _project_files()
    users = defaultdict(set)
    for path, deps in dependencies(files).items():
        for dep in deps:
            users[dep].add(path)
    chains = {p.resolve(): [p.resolve()] for p in changed}
    frontier = sorted(chains)
    while frontier:  # breadth first: the first chain to reach a file is a shortest one
        following = []
        for path in frontier:
            for user in sorted(users.get(path, ())):
                if user not in chains:
                    chains[user] = chains[path] + [user]
                    following.append(user)
        frontier = following
    tests = {p: chain for p, chain in chains.items() if p.name.startswith("test_") and p.suffix == ".py" and p.exists()}
    if gpu_only:
        tests = {p: chain for p, chain in tests.items() if re.search(r"cupy|cuda|skip_without_gpu", p.read_text())}
    return dict(sorted(tests.items(), key=lambda item: (len(item[1]), item[0])))


def changed_since(rev: str) -> list[Path]:
    out = subprocess.run(["git", "diff", "--name-only", rev], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in out.stdout.split()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--since", help="a git revision: the files changed since it, committed or not")
    parser.add_argument("--gpu", action="store_true", help="only the test files that touch CUDA")
    parser.add_argument("--max-depth", type=int, help="only tests at most this many links from a changed file")
    parser.add_argument("--why", action="store_true", help="print each test's link count and shortest chain")
    args = parser.parse_args(argv)
    if not args.paths and not args.since:
        parser.error("name changed files or --since REV")
    changed = [p if p.is_absolute() else Path.cwd() / p for p in args.paths]
    missing = [str(p) for p in changed if not p.exists()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    if args.since:
        changed += changed_since(args.since)
    for path, chain in affected_tests(changed, args.gpu).items():
        if args.max_depth is None or len(chain) - 1 <= args.max_depth:
            via = " <- ".join(f"{p.parent.name}/{p.name}" for p in reversed(chain[:-1]))
            why = f"{len(chain) - 1}: {via}" if via else "changed itself"
            print(f"{path.relative_to(ROOT)}  ({why})" if args.why else path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
