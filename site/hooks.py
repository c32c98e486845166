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

Generated assets: every diagram of ``diagrams.py`` is drawn at build time and served at
``assets/diagrams/NAME.svg``, and ``figure_data.py`` writes the JSON the interactive figures read
(``assets/data/NAME.json``), and ``slides.py`` builds each level's lecture slides from its pages
(``slides/levelN.html``); none of them is committed, so none can drift from the code.

A notebook cell that runs longer than ``HYPERION_NOTEBOOK_TIMEOUT`` seconds (default 300) fails
the build instead of hanging it (nbclient's ``ExecutePreprocessor.timeout``, which mkdocs-jupyter
does not expose).
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mkdocs.structure.files import File
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


# Teaching pages open with their objectives, prerequisites and time, and end with 3-6 exercises, at
# least one with a folded worked answer (pymdownx.details). Checked for every page of every level and
# every article: a page added there fails the build until it has both.
TEACHING_LEVELS = ("level0/", "level1/", "level2/", "level3/", "level4/", "articles/")
NOT_TEACHING = ("index.md", "tasks.md", "problems.md")  # problems.md: a problem set, exercises throughout
OBJECTIVES = '!!! abstract "Objectives, prerequisites, time"'
EXERCISE = re.compile(r"^\d+\. ", re.MULTILINE)


def check_teaching_page(src_uri: str, markdown: str) -> None:
    """Raise ValueError naming what a teaching page lacks."""
    if not src_uri.startswith(TEACHING_LEVELS) or src_uri.endswith(NOT_TEACHING):
        return
    problems = []
    head = markdown.split("\n## ", 1)[0]
    if OBJECTIVES not in head or "**Time:**" not in head or "**Before this page:**" not in head:
        problems.append(f"no `{OBJECTIVES}` box with **Before this page:** and **Time:** before the first section")
    if "\n## Exercises\n" not in markdown:
        problems.append("no `## Exercises` section")
    else:
        exercises = markdown.split("\n## Exercises\n", 1)[1].split("\n## ", 1)[0]
        count = len(EXERCISE.findall(exercises))
        if not 3 <= count <= 6:
            problems.append(f"{count} exercises (3-6 wanted)")
        if "??? " not in exercises:
            problems.append("no folded worked answer (`??? note \"Answer\"`) among the exercises")
    if problems:
        raise ValueError(f"teaching page {src_uri}: " + "; ".join(problems))


def on_page_markdown(markdown: str, page, **_: object) -> str:
    check_teaching_page(page.file.src_uri, markdown)
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


# ---------------------------------------------------------------- generated assets, notebook timeout

NOTEBOOK_TIMEOUT = int(os.environ.get("HYPERION_NOTEBOOK_TIMEOUT", "300"))


def _with_cell_timeout(make_app):
    def make(*args, **kwargs):
        app = make_app(*args, **kwargs)
        app.config["ExecutePreprocessor"]["timeout"] = NOTEBOOK_TIMEOUT  # a plain dict after update()
        return app
    make.hyperion_timeout = True
    return make


def on_config(config, **_: object):
    from mkdocs_jupyter import nbconvert2

    if not getattr(nbconvert2.get_nbconvert_app, "hyperion_timeout", False):
        nbconvert2.get_nbconvert_app = _with_cell_timeout(nbconvert2.get_nbconvert_app)
    return config


def on_files(files, config, **_: object):
    site = str(Path(__file__).resolve().parent)
    if site not in sys.path:
        sys.path.insert(0, site)
    import diagrams
    import figure_data
    import slides

    for name, text in diagrams.render_all().items():
        files.append(File.generated(config, f"assets/diagrams/{name}.svg", content=text))
    for name, text in figure_data.render_all().items():
        files.append(File.generated(config, f"assets/data/{name}.json", content=text))
    for path, text in slides.render_all(config["nav"]).items():
        files.append(File.generated(config, path, content=text))
    return files
