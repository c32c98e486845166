"""A griffe extension for the API reference: Sphinx roles in docstrings become cross-references.

The levels' docstrings name other objects the Sphinx way (``:class:`KernelBackend```,
``:func:`~hyperion.tensor.zeros```, ``:mod:`.naive```), which mkdocstrings would print as raw text.
Once a package is loaded, this extension rewrites each role in every docstring: a name it can find in
the loaded API (absolute; in the object's own scope, as Python would; or, for ``.name``, beside the
object's module, as Sphinx would) that the reference shows (it has a docstring) becomes mkdocstrings'
``[`name`][full.path]`` link; anything else (a built-in, a private helper, a constant with no
docstring) becomes plain ``code``. The source keeps its roles, so ``help()`` shows what it always did.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|obj|exc|const):`(~?)([^`<>]+)`")


def _shown(obj: Any) -> bool:
    """Whether the API reference renders ``obj`` (and so has an anchor for it)."""
    try:
        return bool(obj.docstring) and not obj.name.startswith("_")
    except Exception:  # noqa: BLE001 - an unresolvable alias is simply not a target
        return False


def _find(path: str, collection: Any) -> Any | None:
    try:
        return collection.get_member(path)
    except Exception:  # noqa: BLE001 - KeyError, AliasResolutionError, ...
        return None


def resolve(target: str, obj: Any, collection: Any) -> str | None:
    """The full path of ``target`` as seen from ``obj``, when the reference renders it; else None."""
    candidates = []
    if target.startswith("."):
        module = obj if obj.is_module else obj.module
        base = module.parent.path if module.parent is not None else module.path
        candidates.append(f"{base}{target}")
        candidates.append(f"{module.path}{target}")
    else:
        candidates.append(target)
        scope = obj
        while scope is not None:
            try:
                candidates.append(scope.resolve(target.split(".")[0]) + target[len(target.split(".")[0]):])
                break
            except Exception:  # noqa: BLE001 - NameResolutionError: try the enclosing scope
                scope = scope.parent
    for path in candidates:
        found = _find(path, collection)
        if found is not None and _shown(found):
            return path
    return None


def rewrite(text: str, obj: Any = None, collection: Any = None) -> str:
    def replace(match: re.Match) -> str:
        tilde, target = match.group(1), match.group(2).strip()
        shown = target.rsplit(".", 1)[-1] if tilde else target.lstrip(".")
        path = resolve(target, obj, collection) if obj is not None else None
        return f"[`{shown}`][{path}]" if path else f"`{shown}`"
    return ROLE.sub(replace, text)


def _walk(obj: Any) -> Any:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


class SphinxRolesToCrossrefs(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **_: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = rewrite(obj.docstring.value, obj, loader.modules_collection)
