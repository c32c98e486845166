"""Static scan of a submission, in the judge, for text that only a cheat would write: paths of the
reference, the grader, its hidden tests or the grades; findings are mapped to the task whose function
contains them (or to the whole submission when outside every task function)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    pattern: str
    function: str | None  # qualified name of the enclosing function, if any


def _functions(tree: ast.AST) -> list[tuple[str, int, int]]:
    out = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                out.append((prefix + child.name, child.lineno, child.end_lineno or child.lineno))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def scan_source(source: str, path: str, patterns: list[str]) -> list[Finding]:
    try:
        funcs = _functions(ast.parse(source))
    except SyntaxError:
        funcs = []
    found = []
    for lineno, line in enumerate(source.splitlines(), 1):
        for pat in patterns:
            if pat and pat in line:
                inside = [f for f in funcs if f[1] <= lineno <= f[2]]
                name = max(inside, key=lambda f: f[1])[0] if inside else None
                found.append(Finding(path, lineno, pat, name))
    return found


def scan_tree(src: Path, patterns: list[str]) -> list[Finding]:
    """Findings in every ``.py`` file under ``src`` (paths reported relative to ``src``)."""
    found = []
    for path in sorted(src.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += scan_source(text, str(path.relative_to(src)), patterns)
    return found
