"""mkdocs hooks of the course site.

``<!-- api-modules: hyperion.PKG -->`` expands into one mkdocstrings block per submodule. An API
page shows its package's docstring (``::: hyperion.PKG`` with ``members: false``) and then every
module of the package, found on disk at build time, so a module added to a level shows up in the
reference without editing a page. Documenting the modules, not the package's re-exports, gives
each object one place (``hyperion.tensor.creation.zeros``) instead of two.

Notebook pages get their table of contents re-pointed at the ids their headings really have:
mkdocs-jupyter builds the contents from a markdown rendering that slugs a heading with code in it
(``## The graph is `_ctx.parents` ``) differently from the HTML it renders, which left broken
``#anchors`` in the side bar. Their links to other pages, written as in any page
(``[Floating point](../level0/floating-point.md)``), are rewritten to the built pages' URLs, as
mkdocs does for markdown pages but mkdocs-jupyter does not; a link to no page is a build warning.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mkdocs.structure.toc import AnchorLink

ROOT = Path(__file__).resolve().parent.parent
LOG = logging.getLogger("mkdocs.hooks.hyperion")
HREF = re.compile(r'(<a\s[^>]*?href=")([^"]+)(")')
HEADING_ID = re.compile(r'<h[1-6][^>]*\sid="([^"]+)"')
MARKER = re.compile(r"^<!-- api-modules: (hyperion\.[\w.]+) -->$", re.MULTILINE)


def package_dir(dotted: str) -> Path:
    """The source folder of ``dotted`` in one of the levels' src layouts."""
    parts = dotted.split(".")
    for src in sorted(ROOT.glob("level*_*/src")):
        folder = src.joinpath(*parts)
        if (folder / "__init__.py").is_file():
            return folder
    raise ValueError(f"api-modules: no package {dotted} under level*_*/src (looked in {ROOT})")


def submodules(dotted: str) -> list[tuple[str, bool]]:
    """Public submodules of ``dotted``: (dotted name, is a package), modules first, by name."""
    folder = package_dir(dotted)
    modules = [(f"{dotted}.{p.stem}", False) for p in sorted(folder.glob("*.py"))
               if not p.stem.startswith("_")]
    packages = [(f"{dotted}.{p.name}", True) for p in sorted(folder.iterdir())
                if p.is_dir() and not p.name.startswith("_") and (p / "__init__.py").is_file()]
    return modules + packages


def expand(match: re.Match) -> str:
    blocks = []
    for name, is_package in submodules(match.group(1)):
        options = "show_submodules: true" if is_package else "show_submodules: false"
        blocks.append(f"::: {name}\n    options:\n      {options}\n")
    return "\n".join(blocks) if blocks else f"*{match.group(1)} has no public modules yet.*\n"


def on_page_markdown(markdown: str, **_: object) -> str:
    return MARKER.sub(expand, markdown)


def _flatten(items: list[AnchorLink]) -> list[AnchorLink]:
    return [link for item in items for link in (item, *_flatten(item.children))]


def _is_notebook(page) -> bool:
    return page.file.src_uri.startswith("notebooks/") and page.file.src_uri.endswith(".py")


def _rewrite_link(match: re.Match, page, files) -> str:
    href = match.group(2)
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path or not parts.path.endswith((".md", ".py")):
        return match.group(0)
    target_uri = posixpath.normpath(posixpath.join(posixpath.dirname(page.file.src_uri), unquote(parts.path)))
    target = files.get_file_from_path(target_uri)
    if target is None:
        LOG.warning(f"Notebook '{page.file.src_uri}' links to '{href}', but '{target_uri}' is not a page")
        return match.group(0)
    url = target.url_relative_to(page.file) + (f"#{parts.fragment}" if parts.fragment else "")
    return match.group(1) + url + match.group(3)


def on_page_content(html: str, page, files, **_: object) -> str:
    if not _is_notebook(page):
        return html
    links, ids = _flatten(list(page.toc)), HEADING_ID.findall(html)
    if len(links) != len(ids):
        raise ValueError(f"{page.file.src_uri}: {len(links)} contents entries but {len(ids)} headings")
    for link, heading_id in zip(links, ids):
        link.id = heading_id
    return HREF.sub(lambda m: _rewrite_link(m, page, files), html)
