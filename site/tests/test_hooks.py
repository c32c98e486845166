"""The site build's own checks (site/hooks.py), tested without building the site.

    pytest -q site/tests/test_hooks.py        (nox -s docs-check runs it with the browser test)

- a teaching page lacking its objectives box or its 3-6 exercises (one with a folded answer) is refused;
- every teaching page of the docs passes that check as committed;
- a notebook cell that runs past the timeout fails the conversion instead of hanging it;
- Sphinx roles in docstrings become mkdocstrings cross-references (site/griffe_roles.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

SITE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SITE))

import griffe_roles  # noqa: E402
import hooks  # noqa: E402

GOOD = """# A page

!!! abstract "Objectives, prerequisites, time"

    **You will** learn a thing.

    **Before this page:** nothing.

    **Time:** about 5 minutes.

## Body

text

## Exercises

1. One.

    ??? note "Answer"
        Yes.

2. Two.
3. Three.
"""


def test_a_complete_teaching_page_passes() -> None:
    hooks.check_teaching_page("level1/page.md", GOOD)


@pytest.mark.parametrize("broken, why", [
    (GOOD.replace('!!! abstract "Objectives, prerequisites, time"', "!!! note"), "Objectives"),
    (GOOD.replace("**Time:** about 5 minutes.", ""), "Time"),
    (GOOD.replace("## Exercises", "## More"), "no `## Exercises`"),
    (GOOD.replace("3. Three.\n", ""), "2 exercises"),
    (GOOD + "4. a\n5. b\n6. c\n7. d\n", "7 exercises"),
    (GOOD.replace('??? note "Answer"', "Answer:"), "folded"),
])
def test_a_page_missing_a_part_is_refused(broken: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        hooks.check_teaching_page("level2/page.md", broken)


def test_index_task_and_other_pages_are_not_teaching_pages() -> None:
    for uri in ("level1/index.md", "level2/tasks.md", "design.md", "level4/index.md", "level2/problems.md",
                "notebooks.md"):
        hooks.check_teaching_page(uri, "# nothing\n")


def test_every_committed_teaching_page_passes() -> None:
    docs = SITE / "docs"
    pages = sorted([*docs.glob("level*/*.md"), *docs.glob("articles/*.md")])
    checked = 0
    for page in pages:
        uri = page.relative_to(docs).as_posix()
        hooks.check_teaching_page(uri, page.read_text(encoding="utf-8"))
        checked += uri.startswith(hooks.TEACHING_LEVELS) and not uri.endswith(hooks.NOT_TEACHING)
    assert checked >= 40, f"only {checked} teaching pages checked"


def test_a_hanging_notebook_cell_fails_after_the_timeout(tmp_path: Path, monkeypatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbconvert2 = pytest.importorskip("mkdocs_jupyter.nbconvert2")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(600)")])
    path = tmp_path / "hang.ipynb"
    nbformat.write(notebook, path)
    monkeypatch.setattr(hooks, "NOTEBOOK_TIMEOUT", 3)
    monkeypatch.setattr(nbconvert2, "get_nbconvert_app", nbconvert2.get_nbconvert_app)  # restored after
    hooks.on_config({})
    start = time.monotonic()
    with pytest.raises(Exception, match="(?i)timed? ?out|timeout"):
        nbconvert2.nb2html(str(path), execute=True, allow_errors=False)
    assert time.monotonic() - start < 120, "the timeout did not stop the cell"


def test_sphinx_roles_become_crossrefs_or_code() -> None:
    griffe = pytest.importorskip("griffe")
    loader = griffe.GriffeLoader(search_paths=[str(SITE.parent / "level1_tensor" / "src")])
    tensor = loader.load("hyperion.tensor")
    function = tensor["autograd.Function"]
    text = ("See :class:`Function`, :func:`~hyperion.tensor.autograd.toposort`, :mod:`.strides`, "
            ":class:`NotImplementedError` and :func:`_private`.")
    assert griffe_roles.rewrite(text, function, loader.modules_collection) == (
        "See [`Function`][hyperion.tensor.autograd.Function], [`toposort`][hyperion.tensor.autograd.toposort], "
        "[`strides`][hyperion.tensor.strides], `NotImplementedError` and `_private`.")
    assert ":class:" not in griffe_roles.rewrite(text)  # with nothing to resolve against: plain code
