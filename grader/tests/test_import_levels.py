"""Imports point down the levels: level N never imports a package of a level above N.

Every ``.py`` under ``level*/src`` is parsed (no import is executed), and every import counts --
module level, inside functions, under ``try`` -- except those under ``if TYPE_CHECKING:`` (never run).
Each module maps to its level through the packages ``hyperion_grader.levels`` assigns to the level.
The same graph shows ``hyperion.tensor`` free of import cycles, except the one documented pair.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from hyperion_grader.levels import DEFAULT_PACKAGES

ROOT = Path(__file__).resolve().parents[2]
LEVEL_OF_PACKAGE = {
    package: int(folder.split("_")[0].removeprefix("level"))
    for folder, packages in DEFAULT_PACKAGES.items()
    for package in packages
}


def level_of(module: str) -> int | None:
    """The level owning ``module`` (longest package prefix), None for third-party modules."""
    best = None
    for package, level in LEVEL_OF_PACKAGE.items():
        if (module == package or module.startswith(package + ".")) and (
            best is None or len(package) > len(best[0])
        ):
            best = (package, level)
    return None if best is None else best[1]


def imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``source`` that can run (not TYPE_CHECKING-only);
    ``from a import b`` yields ``a.b`` when that could be a module, and ``a`` itself."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                parts = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*parts, base] if base else parts)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def source_modules() -> list[tuple[str, Path, bool]]:
    out = []
    for src in sorted(ROOT.glob("level*/src")):
        for path in sorted(src.rglob("*.py")):
            parts = list(path.relative_to(src).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            out.append((".".join(parts[:-1] if is_package else parts), path, is_package))
    return out


def upward_imports() -> list[str]:
    bad = []
    for module, path, is_package in source_modules():
        mine = level_of(module)
        if mine is None:
            continue
        for line, target in imports(path.read_text(encoding="utf-8"), module, is_package):
            theirs = level_of(target)
            if theirs is not None and theirs > mine:
                bad.append(f"{path.relative_to(ROOT)}:{line}: level {mine} imports {target} (level {theirs})")
    return sorted(set(bad))


def test_every_level_module_is_mapped():
    modules = source_modules()
    assert len(modules) > 100
    unmapped = [m for m, _, _ in modules if level_of(m) is None]
    assert not unmapped, f"modules under level*/src that no level owns: {unmapped}"


def test_no_import_points_up_a_level():
    bad = upward_imports()
    assert not bad, "imports pointing up a level:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "source",
    [
        "import hyperion.transformer.gpt\n",
        "def f():\n    from hyperion.runtime.backend import use_kernels\n",
        "try:\n    from hyperion import kernels\nexcept ImportError:\n    pass\n",
    ],
)
def test_the_check_sees_an_upward_import(source):
    """Module-level, in-function and guarded imports are all found (a level-1 module importing them)."""
    targets = [t for _, t in imports(source, "hyperion.tensor.example")]
    assert any((level_of(t) or 0) > 1 for t in targets), targets


def test_type_checking_imports_do_not_count():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import hyperion.runtime\n"
    assert all(level_of(t) is None for _, t in imports(source, "hyperion.tensor.example"))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_hyperion_tensor_has_no_import_cycle_but_tensor_and_functional():
    """``tensor.py`` imports ``functional`` at its bottom (Tensor methods delegate to it) and
    ``functional`` needs ``Tensor``: that pair is the one allowed cycle. Everything else in
    ``hyperion.tensor`` (autograd, ops, creation, backend) imports strictly downward."""
    modules = {m: (p, pkg) for m, p, pkg in source_modules() if m.startswith("hyperion.tensor.")}
    graph = {m: set() for m in modules}
    for module, (path, is_package) in modules.items():
        for _, target in imports(path.read_text(encoding="utf-8"), module, is_package):
            if target in modules and target != module:
                graph[module].add(target)
    assert _cycles(graph) == [["hyperion.tensor.functional", "hyperion.tensor.tensor"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
