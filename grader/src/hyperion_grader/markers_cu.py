"""Find solution regions (``// BEGIN SOLUTION`` / ``// END SOLUTION``) in CUDA/C++ sources.

There is no C++ parser here: a small lexer skips comments, strings and preprocessor lines and tracks
braces. A ``{`` whose preceding text ends in ``name(...)`` opens a function body; any marker must sit
inside one. The task ("Task 3.2") is read from the comments between the previous declaration and the
BEGIN marker: the doc comment above the function or a comment at the top of its body.
"""

from __future__ import annotations

import re

from hyperion_grader.markers import TASK_RE, MarkerError, Region, marker_kind

_NAME_BEFORE_PAREN = re.compile(r"([A-Za-z_]\w*)\s*$")
_TRAILING_QUALIFIERS = re.compile(r"(\s*(const|noexcept|override|final|volatile))*\s*$")


def _function_name(signature: str) -> str | None:
    """``name`` when ``signature`` (text before a ``{``) ends like ``name(args) const``, else None."""
    sig = _TRAILING_QUALIFIERS.sub("", signature).rstrip()
    if not sig.endswith(")") or re.match(r"\s*(struct|class|namespace|enum|union)\b", sig):
        return None
    depth = 0
    for i in range(len(sig) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(sig[i], 0)
        if depth == 0:
            match = _NAME_BEFORE_PAREN.search(sig[:i])
            return match.group(1) if match else None
    return None


class _Scanner:
    """Walk a C-like source once, recording marker comments with their scope."""

    def __init__(self, source: str, path: str) -> None:
        self.src, self.path = source, path
        self.stack: list[str | None] = []  # function name for function bodies, None for other blocks
        self.signature: list[str] = []  # code since the last ';', '{' or '}'
        self.comments: list[str] = []  # comment text since the last declaration boundary
        self.markers: list[tuple[int, str, str, str | None, str]] = []

    def function(self) -> str | None:
        return next((name for name in reversed(self.stack) if name), None)

    def scan(self) -> list[tuple[int, str, str, str | None, str]]:
        src, i, line = self.src, 0, 1
        at_line_start = True
        while i < len(src):
            ch = src[i]
            if ch == "\n":
                line, at_line_start, i = line + 1, True, i + 1
                self.signature.append(ch)
                continue
            if at_line_start and ch == "#":  # preprocessor line (with backslash continuations)
                while i < len(src) and (src[i] != "\n" or src[i - 1] == "\\"):
                    line += src[i] == "\n"
                    i += 1
                continue
            if src.startswith("//", i):
                stop = src.find("\n", i)
                stop = len(src) if stop < 0 else stop
                text = src[i + 2 : stop]
                kind = marker_kind(text)
                if kind:
                    head = src[src.rfind("\n", 0, i) + 1 : i]
                    if head.strip():
                        raise MarkerError(self.path, line, f"{kind} SOLUTION must be alone on its line")
                    self.markers.append((line, kind, head, self.function(), " ".join(self.comments)))
                elif "BEGIN SOLUTION" in text or "END SOLUTION" in text:
                    raise MarkerError(self.path, line, f"malformed marker {text.strip()!r}")
                self.comments.append(text)
                i = stop
                continue
            if src.startswith("/*", i):
                stop = src.find("*/", i + 2)
                stop = len(src) if stop < 0 else stop + 2
                self.comments.append(src[i:stop])
                line += src.count("\n", i, stop)
                i = stop
                continue
            if ch in "\"'":
                j = i + 1
                while j < len(src) and src[j] != ch and src[j] != "\n":
                    j += 2 if src[j] == "\\" else 1
                self.signature.append(src[i : j + 1])
                i = j + 1
                at_line_start = False
                continue
            if not ch.isspace():
                at_line_start = False
            if ch == "{":
                name = None if self.function() else _function_name("".join(self.signature))
                self.stack.append(name)
                self.signature = []
            elif ch == "}":
                if not self.stack:
                    raise MarkerError(self.path, line, "unbalanced '}'")
                closed = self.stack.pop()
                self.signature = []
                if closed or not self.function():
                    self.comments = []
            elif ch == ";":
                self.signature = []
                if not self.function():
                    self.comments = []
            else:
                self.signature.append(ch)
            i += 1
        return self.markers


def find_regions_cu(source: str, path: str = "<source>") -> list[Region]:
    """All solution regions of a CUDA/C++ source, validated; raises :class:`MarkerError`."""
    regions: list[Region] = []
    open_: tuple[int, str, str] | None = None
    for line, kind, indent, func, comments in _Scanner(source, path).scan():
        if kind == "BEGIN":
            if open_ is not None:
                raise MarkerError(path, line, f"nested BEGIN SOLUTION (region opened at line {open_[0]})")
            if func is None:
                raise MarkerError(path, line, "BEGIN SOLUTION outside a function")
            match = TASK_RE.search(comments)
            if match is None:
                raise MarkerError(
                    path, line, f"{func} has a solution region but its doc comment names no task ('Task N.M')"
                )
            open_ = (line, indent, func)
            regions.append(Region(path, line, -1, indent, match.group(1), func))
            continue
        if open_ is None:
            raise MarkerError(path, line, "END SOLUTION without BEGIN SOLUTION")
        if func != open_[2]:
            raise MarkerError(path, line, f"END SOLUTION outside the function opened at line {open_[0]}")
        last = regions.pop()
        regions.append(Region(path, last.begin, line, last.indent, last.task, last.function))
        open_ = None
    if open_ is not None:
        raise MarkerError(path, open_[0], "unclosed BEGIN SOLUTION")
    return regions
