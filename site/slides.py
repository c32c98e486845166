"""Lecture slides per level, built from the course pages themselves at every site build.

    python site/slides.py OUT_DIR        writes OUT_DIR/slides/levelN.html (a quick look)

``hooks.py`` serves them at ``slides/levelN.html``. Each deck follows the level's pages in navigation
order: a title slide from the level's index page, then for every teaching page one slide with its
objectives, prerequisites and time, one slide per section (its heading, its first paragraphs, and the
section's diagram when it has one), and one slide with its exercises. Nothing is written twice: edit a
page and its slides change at the next build. Plain HTML with the site's bundled KaTeX and a few lines
of JavaScript (arrow keys, space, click); nothing loads from the web.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import markdown

DOCS = Path(__file__).resolve().parent / "docs"
FENCE = re.compile(r"^```.*?^```\s*$", re.DOTALL | re.MULTILINE)
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]+)\)")
LINK = re.compile(r"(?<!!)\[([^\]]+)\]\([^)]+\)")
MAX_CHARS = 700
MAX_CODE_LINES = 12


def _md(text: str) -> str:
    text = LINK.sub(r"\1", text)  # links point into the site; on a slide the words are enough
    return markdown.markdown(text, extensions=["tables", "fenced_code", "pymdownx.arithmatex"],
                             extension_configs={"pymdownx.arithmatex": {"generic": True}})


def _paragraphs(body: str) -> str:
    """The opening of a section: its first prose paragraphs (up to MAX_CHARS) and code blocks (up to
    MAX_CODE_LINES lines each, cut with an ellipsis); no tables, no HTML, no admonitions."""
    fences: list[str] = []

    def stash(match: re.Match) -> str:
        lines = match.group(0).strip().splitlines()
        if len(lines) - 2 > MAX_CODE_LINES:
            lines = [*lines[: MAX_CODE_LINES + 1], "...", lines[-1]]
        fences.append("\n".join(lines))
        return f"\n\nFENCE{len(fences) - 1}\n\n"

    body = FENCE.sub(stash, body)
    kept, size = [], 0
    for block in re.split(r"\n\s*\n", body):
        block = block.strip()
        if re.fullmatch(r"FENCE\d+", block):
            if kept:  # code that illustrates the prose just kept
                kept.append(fences[int(block[5:])])
            continue
        if (not block or block.startswith(("|", "<", "!!!", "???", "#", "    ", "!["))
                or size + len(block) > MAX_CHARS and kept):
            continue
        if size > MAX_CHARS:
            break
        kept.append(block)
        size += len(block)
    return "\n\n".join(kept)


def page_slides(page: Path, asset_prefix: str) -> list[str]:
    text = page.read_text(encoding="utf-8")
    title = text.splitlines()[0].lstrip("# ").strip()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    head, rest = sections[0], sections[1:]
    slides = []
    box = re.search(r'!!! abstract "Objectives, prerequisites, time"\n\n((?:    .*\n|\n)+)', head)
    intro = _paragraphs(head.split("\n", 1)[1] if "\n" in head else "")
    body = _md(re.sub(r"^    ", "", box.group(1), flags=re.MULTILINE)) if box else _md(intro)
    slides.append(f"<h1>{html.escape(title)}</h1>{body}")
    for section in rest:
        heading, _, content = section.partition("\n")
        if heading.strip() == "Exercises":
            items = re.findall(r"^\d+\. (.+(?:\n   .+)*)", content, re.MULTILINE)
            listed = "".join(f"<li>{_md(item)}</li>" for item in items)
            slides.append(f"<h2>{html.escape(title)}: exercises</h2><ol>{listed}</ol>")
            continue
        image = next((m for m in IMAGE.finditer(content) if "assets/diagrams/" in m.group(2)), None)
        figure = ""
        if image:
            name = image.group(2).rsplit("/", 1)[-1]
            figure = f'<img src="{asset_prefix}diagrams/{name}" alt="{html.escape(image.group(1))}">'
        slides.append(f"<h2>{_md(heading.strip())[3:-4]}</h2>{_md(_paragraphs(content))}{figure}")
    return slides


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="../assets/images/favicon.png">
<link rel="stylesheet" href="../assets/katex/katex.min.css">
<style>
body {{ margin: 0; font-family: system-ui, sans-serif; background: #263238; }}
section {{ display: none; box-sizing: border-box; width: 100vw; height: 100vh; padding: 4vh 7vw;
          background: #fff; overflow: auto; font-size: 2.4vh; line-height: 1.45; }}
section.current {{ display: block; }}
h1 {{ font-size: 5vh; color: #3949ab; }} h2 {{ font-size: 3.6vh; color: #3949ab; }}
img {{ max-width: 100%; max-height: 48vh; display: block; margin: 2vh auto; }}
code {{ background: #eceff1; padding: 0 .2em; }}
pre {{ background: #eceff1; padding: 1vh 1vw; font-size: 1.9vh; overflow: auto; }}
pre code {{ padding: 0; }}
#counter {{ position: fixed; right: 1.5vw; bottom: 1vh; color: #78909c; font-size: 1.6vh; }}
</style></head>
<body>
{slides}
<div id="counter"></div>
<script src="../assets/katex/katex.min.js"></script>
<script src="../assets/katex/contrib/auto-render.min.js"></script>
<script>
const slides = Array.from(document.querySelectorAll("section"));
let current = Math.min(slides.length - 1, Math.max(0, parseInt(location.hash.slice(1) || "1", 10) - 1));
function show(i) {{
  current = Math.min(slides.length - 1, Math.max(0, i));
  slides.forEach((s, k) => s.classList.toggle("current", k === current));
  document.getElementById("counter").textContent = `${{current + 1}} / ${{slides.length}}`;
  history.replaceState(null, "", "#" + (current + 1));
}}
document.addEventListener("keydown", (e) => {{
  if (["ArrowRight", "PageDown", " "].includes(e.key)) show(current + 1);
  if (["ArrowLeft", "PageUp"].includes(e.key)) show(current - 1);
}});
document.addEventListener("click", (e) => {{ if (e.target.tagName !== "A") show(current + 1); }});
renderMathInElement(document.body, {{ delimiters: [{{left: "\\\\(", right: "\\\\)", display: false}},
  {{left: "\\\\[", right: "\\\\]", display: true}}], throwOnError: false }});
show(current);
</script>
</body></html>
"""


def deck(level: str, pages: list[Path]) -> str:
    index = DOCS / level / "index.md"
    title = index.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
    first = f"<h1>{html.escape(title)}</h1>{_md(_paragraphs(index.read_text(encoding='utf-8').split(chr(10), 1)[1]))}"
    first += "<p><em>Slides built from the course pages; arrow keys or click to advance.</em></p>"
    slides = [first]
    for page in pages:
        slides += page_slides(page, "../assets/")
    body = "\n".join(f"<section>{s}</section>" for s in slides)
    return PAGE.format(title=html.escape(f"Hyperion — {title}"), slides=body)


def teaching_pages(nav: list, level: str) -> list[Path]:
    """The markdown pages of ``level`` in navigation order (no index, no task index, no notebooks)."""
    found = []

    def walk(items):
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                walk(value)
            elif (isinstance(value, str) and value.startswith(f"{level}/") and value.endswith(".md")
                  and not value.endswith(("index.md", "tasks.md"))):
                found.append(DOCS / value)
    walk(nav)
    return found


def render_all(nav: list) -> dict[str, str]:
    decks = {}
    for level_dir in sorted(DOCS.glob("level[0-9]")):
        pages = teaching_pages(nav, level_dir.name)
        if pages and (level_dir / "index.md").is_file():
            decks[f"slides/{level_dir.name}.html"] = deck(level_dir.name, pages)
    return decks


if __name__ == "__main__":
    import yaml

    config = yaml.load((DOCS.parent / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "slides-out")
    for name, text in render_all(config["nav"]).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
        print(out / name, text.count("<section>"), "slides")
