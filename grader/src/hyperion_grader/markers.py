"""Find solution regions (``# BEGIN SOLUTION`` / ``# END SOLUTION``) in reference Python sources.

A region is a run of whole statements inside a function body, between two marker comments at the
same indentation. The innermost function around it must name its task ("Task 1.4") in its docstring.
Anything else (unclosed, nested, END without BEGIN, outside a function, no task) is a
:class:`MarkerError` naming ``file:line``. CUDA sources live in :mod:`hyperion_grader.markers_cu`.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
TASK_RE = re.compile(r"\bTask\s+(\d+\.\d+)\b")


class MarkerError(ValueError):
    """A malformed solution marker; the message starts with ``file:line:``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line = path, line


@dataclass(frozen=True)
class Region:
    """One solution region: marker lines (1-based, inclusive), indentation, task and function."""

    path: str
    begin: int
    end: int
    indent: str
    task: str
    function: str


@dataclass(frozen=True)
class _Func:
    qualname: str
    line: int
    col: int
    extent_end: int
    docstring: str
    node: ast.AST


def marker_kind(comment_text: str) -> str | None:
    """``"BEGIN"``/``"END"`` for an exact marker comment body (without ``#``/``//``), else ``None``."""
    text = comment_text.strip()
    return {BEGIN: "BEGIN", END: "END"}.get(text)


def _markers(source: str, path: str) -> list[tuple[int, str, str]]:
    """(line, kind, indent) of every marker comment; a marker sharing its line with code is an error."""
    found = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise MarkerError(path, getattr(exc, "lineno", 1) or 1, f"cannot tokenize: {exc}") from exc
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        kind = marker_kind(tok.string[1:])
        before = tok.line[: tok.start[1]]
        if kind is None:
            if BEGIN in tok.string or END in tok.string:
                raise MarkerError(path, tok.start[0], f"malformed marker {tok.string.strip()!r}")
            continue
        if before.strip():
            raise MarkerError(path, tok.start[0], f"{kind} SOLUTION must be alone on its line")
        found.append((tok.start[0], kind, before))
    return found


def _functions(tree: ast.AST, lines: list[str]) -> list[_Func]:
    """Every function with its qualified name and its extent including trailing indented comments."""
    out: list[_Func] = []

    def extent(node: ast.AST) -> int:
        end = node.end_lineno or node.lineno
        j = end + 1
        while j <= len(lines):
            text = lines[j - 1]
            stripped = text.strip()
            if stripped.startswith("#") and len(text) - len(text.lstrip()) > node.col_offset:
                end = j
            elif stripped:
                break
            j += 1
        return end

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                qual = f"{prefix}{child.name}"
                doc = ast.get_docstring(child) or ""
                out.append(_Func(qual, child.lineno, child.col_offset, extent(child), doc, child))
                visit(child, qual + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def _enclosing(funcs: list[_Func], line: int, col: int) -> _Func | None:
    inside = [f for f in funcs if f.line < line <= f.extent_end and col > f.col]
    return max(inside, key=lambda f: f.line) if inside else None


def _check_statements(func: _Func, begin: int, end: int, indent: int, path: str) -> None:
    """Refuse regions that hold no statement or cut a statement in two."""
    holds = False
    for node in ast.walk(func.node):
        if not isinstance(node, ast.stmt) or node is func.node:
            continue
        first, last = node.lineno, node.end_lineno or node.lineno
        if begin < first < end:
            holds = True
            if last > end:
                raise MarkerError(path, first, "statement starts inside a solution region and ends after it")
        elif first < begin <= last and node.col_offset >= indent:
            raise MarkerError(path, begin, "solution region starts inside a statement")
    if not holds:
        raise MarkerError(path, begin, "empty solution region")


def find_regions(source: str, path: str = "<source>") -> list[Region]:
    """All solution regions of a Python source, validated; raises :class:`MarkerError`."""
    markers = _markers(source, path)
    if not markers:
        return []
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise MarkerError(path, exc.lineno or 1, f"syntax error: {exc.msg}") from exc
    funcs = _functions(tree, source.splitlines())
    regions: list[Region] = []
    open_: tuple[int, str, _Func] | None = None
    for line, kind, indent in markers:
        func = _enclosing(funcs, line, len(indent))
        if kind == "BEGIN":
            if open_ is not None:
                raise MarkerError(path, line, f"nested BEGIN SOLUTION (region opened at line {open_[0]})")
            if func is None:
                raise MarkerError(path, line, "BEGIN SOLUTION outside a function")
            open_ = (line, indent, func)
            continue
        if open_ is None:
            raise MarkerError(path, line, "END SOLUTION without BEGIN SOLUTION")
        begin, begin_indent, begin_func = open_
        if func is not begin_func:
            raise MarkerError(path, line, f"END SOLUTION outside the function opened at line {begin}")
        if indent != begin_indent:
            raise MarkerError(path, line, f"END SOLUTION indented differently from BEGIN at line {begin}")
        match = TASK_RE.search(func.docstring)
        if match is None:
            raise MarkerError(
                path,
                begin,
                f"{func.qualname} has a solution region but its docstring names no task ('Task N.M')",
            )
        _check_statements(func, begin, line, len(indent), path)
        regions.append(Region(path, begin, line, indent, match.group(1), func.qualname))
        open_ = None
    if open_ is not None:
        raise MarkerError(path, open_[0], "unclosed BEGIN SOLUTION")
    return regions
