"""Fail if the built site loads anything from the network.

    python site/check_offline.py [BUILD_DIR]        (default: site/build next to this file)

Scans every HTML page for external assets -- ``<script src>``, ``<link href>`` (stylesheets,
preconnects, icons, fonts), ``<img>/<source>/<iframe>/<video>/<audio>/<embed>/<object>`` sources, and
``url(...)``/``@import`` in inline styles -- and every CSS file for external ``url()``/``@import``.
"External" means ``http:``, ``https:`` or protocol-relative ``//``. Any mention of Google Fonts
anywhere in HTML or CSS also fails. Plain ``<a href>`` hyperlinks in prose are fine: they load
nothing until a reader clicks them. Exit status 1 lists every offending file and asset.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)
GOOGLE_FONTS = re.compile(r"fonts\.(googleapis|gstatic)\.com", re.IGNORECASE)
ASSET_ATTRS = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "track": ("src",),
}


class AssetFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ASSET_ATTRS.get(tag, ()):
            value = values.get(name) or ""
            parts = value.split(",") if name == "srcset" else [value]
            urls = [part.split()[0] if name == "srcset" else part for part in parts if part.strip()]
            for url in urls:
                if EXTERNAL.match(url):
                    self.found.append(f"<{tag} {name}={url!r}>")
        style = values.get("style") or ""
        self.found += [f"style url {u!r}" for u in CSS_URL.findall(style)]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += [f"<style> url {u!r}" for u in CSS_URL.findall(data)]


def check(build: Path) -> list[str]:
    problems: list[str] = []
    pages = sorted(build.rglob("*.html"))
    if not pages:
        return [f"{build}: no HTML pages (build the site first: mkdocs build --strict -f site/mkdocs.yml)"]
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        finder = AssetFinder()
        finder.feed(text)
        problems += [f"{page.relative_to(build)}: external asset {a}" for a in finder.found]
        if GOOGLE_FONTS.search(text):
            problems.append(f"{page.relative_to(build)}: mentions Google Fonts")
    for sheet in sorted(build.rglob("*.css")):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        problems += [f"{sheet.relative_to(build)}: external url {u!r}" for u in CSS_URL.findall(text)]
        if GOOGLE_FONTS.search(text):
            problems.append(f"{sheet.relative_to(build)}: mentions Google Fonts")
    return problems


def main(argv: list[str]) -> int:
    build = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "build"
    problems = check(build)
    for line in problems:
        print(f"check_offline: {line}")
    pages = len(list(build.rglob("*.html")))
    if problems:
        print(f"check_offline: FAIL, {len(problems)} external asset(s) in {build}")
        return 1
    print(f"check_offline: OK, {pages} pages in {build} load nothing from the network")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
