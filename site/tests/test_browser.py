"""The built course site, checked in a real browser (headless Debian Chromium driven by Playwright).

    nox -s docs-check                          build the site if needed, then this test
    pytest -q site/tests/test_browser.py       against an existing build in site/build

The built site is served on 127.0.0.1 (a free port, http.server in a thread). The test opens the
main pages and asserts: no console error, no page error, no failed or 4xx/5xx request; every link of
every built page resolves to a file of the build and, when it has a #fragment, to an id on that page;
KaTeX typeset the math (``.katex`` elements, no raw ``\\(`` left); notebook figures are images that
decoded (naturalWidth > 0); search answers; the palette toggle switches to the dark scheme.
The interactive figures (figures.js) each load, draw, and answer an input with a new reading; the
generated diagrams decode; no page's table of contents or navigation holds raw TeX.
Screenshots: site/build/screenshots/home.png, notebook.png, figure-NAME.png for each figure and
notebook-NAME-I.png for each notebook figure.

Skips (with the reason) only when /usr/bin/chromium or the playwright package is missing; a missing
build is a failure, not a skip.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# the build to check: site/build, or $HYPERION_SITE_BUILD (a release's site, a copy)
BUILD = Path(os.environ.get("HYPERION_SITE_BUILD") or Path(__file__).resolve().parent.parent / "build")
SCREENSHOTS = BUILD / "screenshots"

# Pages opened in the browser (paths in the build). Levels 0-4, a math page, a notebook, the API.
LEVEL_PAGES = ["level0/", "level1/", "level2/", "level3/", "level4/"]
MATH_PAGE = "level1/softmax/"
NOTEBOOK_PAGE = "notebooks/01_strides/"
API_PAGE = "api/tensor/"
MAIN_PAGES = ["", *LEVEL_PAGES, MATH_PAGE, NOTEBOOK_PAGE, API_PAGE, "design/", "course/"]

if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} not found (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(pip install -r site/requirements.txt)")


# ---------------------------------------------------------------- the build, read as files

class _LinksAndIds(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and values.get("name"):
            self.ids.add(values["name"])
        if tag == "a" and values.get("href") is not None:
            self.hrefs.append(values["href"])


@functools.cache
def parse(page: Path) -> _LinksAndIds:
    parser = _LinksAndIds()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    return parser


def target_file(url_path: str) -> Path | None:
    """The file of the build that serves ``url_path`` (as http.server would), or None."""
    path = BUILD / unquote(url_path).lstrip("/")
    if path.is_dir():
        path = path / "index.html"
    return path if path.is_file() else None


def broken_link(page_url: str, href: str) -> str | None:
    """Why ``href`` on ``page_url`` (both site-relative URLs) does not resolve, or None if it does."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
        return None  # external: prose links load nothing until clicked (check_offline.py checks assets)
    absolute = urlsplit(urljoin("http://site/" + page_url, href))
    target = target_file(absolute.path)
    if target is None:
        return f"{href!r}: no file {absolute.path}"
    if absolute.fragment and target.suffix == ".html":
        if unquote(absolute.fragment) not in parse(target).ids:
            return f"{href!r}: no id {absolute.fragment!r} in {target.relative_to(BUILD)}"
    return None


def page_url_of(path: Path) -> str:
    rel = path.relative_to(BUILD).as_posix()
    return rel[: -len("index.html")] if rel.endswith("index.html") else rel


# ---------------------------------------------------------------- server and browser

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    if not (BUILD / "index.html").is_file():
        pytest.fail(f"no built site in {BUILD}: run nox -s docs (or mkdocs build --strict -f site/mkdocs.yml)")
    handler = functools.partial(_QuietHandler, directory=str(BUILD))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    yield ctx
    ctx.close()


def open_page(context, base_url: str, path: str):
    """Load ``path``; return the page and every problem seen while loading it."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    response = page.goto(base_url + path, wait_until="load")
    assert response is not None and response.ok, f"{path or 'home'}: HTTP {response and response.status}"
    page.wait_for_load_state("networkidle")
    return page, problems


# ---------------------------------------------------------------- tests

def test_every_link_of_the_build_resolves() -> None:
    pages = sorted(p for p in BUILD.rglob("*.html") if "screenshots" not in p.parts)
    assert len(pages) >= 10, f"only {len(pages)} pages in {BUILD}"
    broken = []
    checked = 0
    for page in pages:
        url = page_url_of(page)
        for href in parse(page).hrefs:
            checked += 1
            why = broken_link(url, href)
            if why:
                broken.append(f"{page.relative_to(BUILD)}: {why}")
    assert checked > 100, f"only {checked} links found"
    assert not broken, f"{len(broken)} broken links of {checked}:\n" + "\n".join(broken[:40])


@pytest.mark.parametrize("path", MAIN_PAGES, ids=lambda p: p or "home")
def test_page_loads_cleanly(context, base_url: str, path: str) -> None:
    page, problems = open_page(context, base_url, path)
    try:
        assert page.locator("article h1").count() >= 1 or page.locator("article h2").count() >= 1, \
            f"{path or 'home'}: no heading in the article"
        # links as the browser sees them (after every script ran), resolved against the build
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        broken = [why for href in hrefs if (why := broken_link(path, href))]
        assert not broken, f"{path or 'home'}: broken links\n" + "\n".join(broken)
        if path == "":
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=False)
        assert not problems, f"{path or 'home'}:\n" + "\n".join(problems)
    finally:
        page.close()


def test_math_is_typeset(context, base_url: str) -> None:
    page, problems = open_page(context, base_url, MATH_PAGE)
    try:
        blocks = page.locator(".arithmatex")
        assert blocks.count() > 0, f"{MATH_PAGE}: no math on the page (pick another MATH_PAGE)"
        assert page.locator(".arithmatex .katex").count() > 0, "KaTeX rendered nothing"
        raw = page.eval_on_selector_all(
            ".arithmatex", "els => els.filter(e => !e.querySelector('.katex')).map(e => e.textContent)")
        assert not raw, f"math left as raw TeX: {raw[:5]}"
        errors = page.locator(".katex-error").all_text_contents()
        assert not errors, f"KaTeX errors: {errors[:5]}"
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_notebook_is_executed_with_figures_and_math(context, base_url: str) -> None:
    page, problems = open_page(context, base_url, NOTEBOOK_PAGE)
    try:
        outputs = page.locator(".jupyter-wrapper .jp-OutputArea-output")
        assert outputs.count() >= 3, f"{NOTEBOOK_PAGE}: {outputs.count()} outputs: was it executed?"
        images = page.locator(".jupyter-wrapper .jp-OutputArea-output img")
        assert images.count() >= 1, f"{NOTEBOOK_PAGE}: no figure in the outputs"
        for i in range(images.count()):
            images.nth(i).scroll_into_view_if_needed()
            width = images.nth(i).evaluate("img => img.complete ? img.naturalWidth : 0")
            assert width > 0, f"{NOTEBOOK_PAGE}: figure {i} did not decode"
        assert page.locator(".jupyter-wrapper .jp-RenderedMarkdown .katex").count() > 0, \
            "notebook math not typeset"
        text = page.locator(".jupyter-wrapper").inner_text()
        assert "$$" not in text and "\\(" not in text, "raw TeX left in the notebook"
        assert "Traceback" not in text, "a traceback in the notebook outputs"
        page.locator(".jupyter-wrapper .jp-OutputArea-output img").first.scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "notebook.png"), full_page=False)
        assert not problems, "\n".join(problems)
    finally:
        page.close()


RAW_TEX = """els => els.map(e => {
    const copy = e.cloneNode(true);
    copy.querySelectorAll('.katex, code, pre').forEach(k => k.remove());
    return copy.textContent.match(/\\\\[A-Za-z]+|\\$\\$?[^$\\s][^$]*\\$/g) || [];
}).flat()"""


def test_every_notebook_renders(context, base_url: str) -> None:
    """Each notebook page: executed (outputs, no traceback), figures decode, math typeset, no errors."""
    notebooks = sorted(p.parent for p in (BUILD / "notebooks").glob("*/index.html"))
    assert notebooks, f"no notebook pages under {BUILD / 'notebooks'}"
    failures = []
    for folder in notebooks:
        path = page_url_of(folder / "index.html")
        page, problems = open_page(context, base_url, path)
        try:
            if page.locator(".jupyter-wrapper .jp-OutputArea-output").count() == 0:
                problems.append("no outputs: was it executed?")
            if "Traceback (most recent call last)" in page.locator(".jupyter-wrapper").inner_text():
                problems.append("a traceback in the outputs")
            images = page.locator(".jupyter-wrapper .jp-OutputArea-output img")
            for i in range(images.count()):
                images.nth(i).scroll_into_view_if_needed()
                if not images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"):
                    problems.append(f"figure {i} did not decode")
                else:  # one screenshot per figure, to be looked at
                    SCREENSHOTS.mkdir(exist_ok=True)
                    images.nth(i).screenshot(path=str(SCREENSHOTS / f"notebook-{folder.name}-{i}.png"))
            raw = page.eval_on_selector_all(".jupyter-wrapper .jp-RenderedMarkdown", RAW_TEX)
            if raw:
                problems.append(f"math not typeset (write it as $...$ or $$...$$ in a notebook): {raw[:4]}")
        finally:
            page.close()
        failures += [f"{path}: {p}" for p in problems]
    assert not failures, "\n".join(failures)


def test_search_answers(context, base_url: str) -> None:
    page, problems = open_page(context, base_url, "")
    try:
        search = page.locator("input.md-search__input")  # in the header at desktop width
        search.click()
        page.wait_for_function("!/Initializing/.test("
                               "document.querySelector('.md-search-result__meta').textContent)")
        search.press_sequentially("gradient", delay=20)  # key events, as material listens for
        results = page.locator(".md-search-result__item")
        results.first.wait_for(timeout=15_000)
        assert results.count() > 0
        assert "gradient" in results.first.inner_text().lower()
        assert not problems, "\n".join(problems)
    finally:
        page.close()


def test_dark_scheme_toggle(context, base_url: str) -> None:
    page, problems = open_page(context, base_url, "")
    try:
        scheme = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
        page.locator("form[data-md-component='palette'] label:visible").first.click()
        page.wait_for_function(f"document.body.getAttribute('data-md-color-scheme') !== '{scheme}'")
        assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate"
        assert not problems, "\n".join(problems)
    finally:
        page.evaluate("localStorage.clear()")
        page.close()



# ---------------------------------------------------------------- figures, diagrams, contents

FIGURES_PAGE = "figures/"
# figure -> (control to change, value to set): the readout must change when it does
FIGURE_INPUTS = {
    "strides": ("select[name=view]", "x.T"),
    "attention": ("input[name=temperature]", "0.3"),
    "tiling": ("select[name=tm]", "4"),
    "dynamics": ("input[name=lr]", "0.3"),
}


def test_interactive_figures_respond(context, base_url: str) -> None:
    page, problems = open_page(context, base_url, FIGURES_PAGE)
    try:
        figures = page.locator(".hyp-figure")
        names = figures.evaluate_all("els => els.map(e => e.dataset.figure)")
        assert sorted(names) == sorted(FIGURE_INPUTS), f"figures on {FIGURES_PAGE}: {names}"
        SCREENSHOTS.mkdir(exist_ok=True)
        for name, (selector, value) in FIGURE_INPUTS.items():
            figure = page.locator(f".hyp-figure[data-figure={name}]")
            readout = figure.locator(".hyp-readout")
            figure.locator(selector).wait_for(timeout=15_000)  # the attention figure fetches its JSON first
            before = readout.inner_text()
            assert before and "could not" not in before and "loading" not in before, f"{name}: {before!r}"
            figure.scroll_into_view_if_needed()
            control = figure.locator(selector)
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)
            page.wait_for_function("([el, old]) => el.textContent !== old",
                                   arg=[readout.element_handle(), before], timeout=5_000)
            after = readout.inner_text()
            assert after != before, f"{name}: the readout did not change"
            painted = figure.locator("canvas").evaluate(
                "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                " let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }")
            assert painted > 500, f"{name}: the canvas is (almost) empty ({painted} painted pixels)"
            figure.screenshot(path=str(SCREENSHOTS / f"figure-{name}.png"))
        assert "diverged" in page.locator(".hyp-figure[data-figure=dynamics] .hyp-readout").inner_text(), \
            "peak lr 0.3 with momentum 0.9 on curvature 25 must diverge"
        images = page.locator("article img[src*='assets/diagrams/']")
        assert images.count() >= 10, f"{images.count()} diagrams on {FIGURES_PAGE}"
        for i in range(images.count()):
            images.nth(i).scroll_into_view_if_needed()
            assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), \
                f"diagram {images.nth(i).get_attribute('src')} did not decode"
        page.locator("article img[src*='matmul_tiling']").screenshot(path=str(SCREENSHOTS / "diagram-matmul.png"))
        assert not problems, "\n".join(problems)
    finally:
        page.close()


class _NavText(HTMLParser):
    """The text inside <nav> elements (the site navigation and each page's table of contents)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.depth += tag == "nav"

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag == "nav" and self.depth > 0

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.text.append(data)


RAW_TEX_IN_TEXT = re.compile(r"\\[(\[]|\\[A-Za-z]{2,}|\$[^$\s][^$]*\$")


def test_no_raw_tex_in_navigation_or_contents() -> None:
    """Headings become table-of-contents entries as plain text: math in a heading shows up raw there."""
    found = []
    for page in sorted(BUILD.rglob("*.html")):
        if "screenshots" in page.parts:
            continue
        parser = _NavText()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        hits = RAW_TEX_IN_TEXT.findall(" ".join(parser.text))
        if hits:
            found.append(f"{page.relative_to(BUILD)}: {sorted(set(hits))[:3]}")
    assert not found, "raw TeX in the navigation / table of contents:\n" + "\n".join(found[:20])


def test_teaching_pages_have_objectives_and_exercises() -> None:
    """The built teaching pages (the ones hooks.check_teaching_page covers) show both parts."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import hooks

    missing = []
    def source(page: Path) -> str:
        return f"{page.parent.parent.name}/{page.parent.name}.md"

    pages = [p for p in sorted([*BUILD.glob("level*/*/index.html"), *BUILD.glob("articles/*/index.html")])
             if source(p).startswith(hooks.TEACHING_LEVELS) and not source(p).endswith(hooks.NOT_TEACHING)]
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        ids = parse(page).ids
        if 'class="admonition abstract"' not in text or "Objectives, prerequisites, time" not in text:
            missing.append(f"{page.relative_to(BUILD)}: no objectives box")
        if "exercises" not in ids or "<details" not in text.split('id="exercises"', 1)[-1]:
            missing.append(f"{page.relative_to(BUILD)}: no exercises with a folded answer")
    assert len(pages) >= 40, f"only {len(pages)} teaching pages in the build"
    assert not missing, "\n".join(missing)


def test_slides_navigate_and_typeset(context, base_url: str) -> None:
    page, problems = open_page(context, base_url, "slides/level1.html")
    try:
        total = page.locator("section").count()
        assert total >= 20, f"only {total} slides for level 1"
        assert page.locator("#counter").inner_text() == f"1 / {total}"
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert page.locator("#counter").inner_text() == f"3 / {total}"
        assert page.locator("section .katex").count() > 0, "no math typeset on the slides"
        assert page.locator(".katex-error").count() == 0
        images = page.locator("section img")
        assert images.count() >= 3, "the level-1 diagrams are not on the slides"
        for i in range(images.count()):
            assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), \
                f"slide image {images.nth(i).get_attribute('src')} did not decode"
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "slides-level1.png"))
        assert not problems, "\n".join(problems)
    finally:
        page.close()
