"""Generate docs/levelN/tasks.md, the task index of every level, from the reference code itself.

    python site/gen_task_index.py           write site/docs/levelN/tasks.md for every level
    python site/gen_task_index.py --check   exit 1 if a committed page is out of date (CI)

A level is a folder ``levelN_name/`` with a ``src/`` tree and a course section ``docs/levelN/``.
A task is found where the grader finds it: a Python function (or method) whose body holds a
``# BEGIN SOLUTION`` marker and whose docstring starts with "Task N.M" (functions whose docstring
starts with "Task N.M" are listed too, with or without markers), or a CUDA/C++ function holding a
``// BEGIN SOLUTION`` marker under a comment naming its task (read with the grader's own scanner).

Each task links to its code (the file and line, as a path in the repository, and the function's
entry in the API reference when it has one) and to the page that teaches it: the page of
``docs/levelN/`` that names "Task N.M" most often (ties go to the page first in the navigation),
else the level's index page. So the index never drifts from the code or from the pages.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

SITE = Path(__file__).resolve().parent
ROOT = SITE.parent
DOCS = SITE / "docs"
TASK = re.compile(r"^\s*Task\s+(\d+)\.(\d+)\b[^:]*:?\s*(.*)", re.DOTALL)
TASK_MENTION = r"\bTask\s+{}(?![\d.]*\d)"
BEGIN = re.compile(r"^\s*#\s*BEGIN SOLUTION\b")
CUDA_SUFFIXES = (".cu", ".cuh", ".cpp", ".cc", ".h", ".hpp")
NOT_TEACHING = {"index.md", "tasks.md"}


def levels() -> dict[int, Path]:
    """Level number -> its ``src`` folder, for every level folder that has code and a docs section."""
    found = {}
    for folder in sorted(ROOT.glob("level*_*")):
        number = folder.name[len("level"): folder.name.index("_")]
        if number.isdigit() and (folder / "src").is_dir() and (DOCS / f"level{number}").is_dir():
            found[int(number)] = folder / "src"
    return found


# ---------------------------------------------------------------- finding tasks

def find_tasks(level: int, source: Path) -> list[dict]:
    """One record per task function of ``level``: task, name, module, file, line, summary, markers."""
    records: list[dict] = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        if path.suffix == ".py":
            text = path.read_text(encoding="utf-8")
            markers = [i + 1 for i, line in enumerate(text.splitlines()) if BEGIN.match(line)]
            module = ".".join(path.relative_to(source).with_suffix("").parts).removesuffix(".__init__")
            _visit(ast.parse(text, filename=str(path)), [], path, module, markers, records)
        elif path.suffix in CUDA_SUFFIXES:
            records += _cuda_tasks(path)
    return [r for r in records if r["task"].split(".")[0] == str(level)]


def _visit(node: ast.AST, scope: list[str], path: Path, module: str, markers: list[int],
           records: list[dict]) -> None:
    functions = ast.FunctionDef | ast.AsyncFunctionDef
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            _visit(child, [*scope, child.name], path, module, markers, records)
        elif isinstance(child, functions):
            name = ".".join([*scope, child.name])
            doc = ast.get_docstring(child) or ""
            inner = [n for n in ast.walk(child) if n is not child and isinstance(n, functions)]
            own = [m for m in markers if child.lineno <= m <= child.end_lineno
                   and not any(f.lineno <= m <= f.end_lineno for f in inner)]
            match = TASK.match(doc)
            if own and not match:
                raise SystemExit(f"{path}:{own[0]}: BEGIN SOLUTION in {name} whose docstring "
                                 "names no task (it must start with 'Task N.M')")
            if match:
                records.append({
                    "task": f"{match.group(1)}.{match.group(2)}",
                    "name": name,
                    "identifier": f"{module}.{name}",
                    "file": path.relative_to(ROOT).as_posix(),
                    "line": child.lineno,
                    "summary": " ".join(match.group(3).split("\n\n")[0].split()),
                    "markers": len(own),
                })
            _visit(child, [*scope, child.name], path, module, markers, records)


def _cuda_tasks(path: Path) -> list[dict]:
    """Tasks of a CUDA/C++ file, found by the grader's scanner (``hyperion_grader.markers_cu``)."""
    text = path.read_text(encoding="utf-8")
    if "BEGIN SOLUTION" not in text:
        return []
    try:
        from hyperion_grader.markers_cu import find_regions_cu
    except ImportError as error:
        raise SystemExit(f"{path}: has solution markers; reading them needs the grader "
                         "(pip install -e grader)") from error
    lines = text.splitlines()
    by_function: dict[tuple[str, str], dict] = {}
    for region in find_regions_cu(text, str(path)):
        key = (region.task, region.function)
        if key in by_function:
            by_function[key]["markers"] += 1
            continue
        summary = ""
        for line in reversed(lines[: region.begin]):  # the comment that names the task
            match = re.search(rf"Task\s+{re.escape(region.task)}\b[^:]*:?\s*(.*)", line)
            if match:
                summary = match.group(1).strip().rstrip("*/").strip()
                summary = summary.removeprefix(f"{region.function}.").strip()  # "Task 3.1: name. What"
                break
        by_function[key] = {"task": region.task, "name": region.function, "identifier": None,
                            "file": path.relative_to(ROOT).as_posix(), "line": region.begin,
                            "summary": summary, "markers": 1}
    return list(by_function.values())


def hidden_tests() -> dict[str, dict]:
    """Task -> {title, points, file} of every hidden test (``grader/hidden/levelN/task_*.py``), read with
    ``ast``: nothing is imported. Tasks graded end to end have a hidden test and no function of their own."""
    found = {}
    for path in sorted((ROOT / "grader" / "hidden").glob("level*/task_*.py")):
        values = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    values[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    continue
        if "TASK" in values:
            summary = " ".join((ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").split())
            found[str(values["TASK"])] = {"title": str(values.get("TITLE", path.stem)),
                                          "points": values.get("POINTS", 1), "summary": summary,
                                          "file": path.relative_to(ROOT).as_posix()}
    return found


# ---------------------------------------------------------------- teaching pages

def nav_order() -> list[str]:
    """Every page of the navigation, in order (paths relative to docs/)."""
    config = yaml.load((SITE / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_IgnoreTags)
    pages: list[str] = []

    def walk(entry: object) -> None:
        if isinstance(entry, str):
            pages.append(entry)
        elif isinstance(entry, list):
            for item in entry:
                walk(item)
        elif isinstance(entry, dict):
            for value in entry.values():
                walk(value)

    walk(config.get("nav", []))
    return pages


class _IgnoreTags(yaml.SafeLoader):
    """mkdocs.yml may use !!python/name or !ENV tags; the navigation needs none of them."""


_IgnoreTags.add_multi_constructor("", lambda loader, suffix, node: None)


def teaching_pages(level: int) -> dict[str, tuple[str, str]]:
    """Task -> (page relative to docs/levelN/, its title), for every task a page of the level names."""
    folder = DOCS / f"level{level}"
    order = [p.removeprefix(f"level{level}/") for p in nav_order() if p.startswith(f"level{level}/")]
    pages = sorted((p for p in folder.glob("*.md") if p.name not in NOT_TEACHING),
                   key=lambda p: (order.index(p.name) if p.name in order else len(order), p.name))
    best: dict[str, tuple[int, str, str]] = {}
    for page in pages:  # in navigation order: a later page must name the task more often to win
        text = page.read_text(encoding="utf-8")
        title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), page.stem)
        for minor in sorted(set(re.findall(rf"\bTask\s+{level}\.(\d+)", text)), key=int):
            task = f"{level}.{minor}"
            count = len(re.findall(TASK_MENTION.format(re.escape(task)), text))
            if task not in best or count > best[task][0]:
                best[task] = (count, page.name, title)
    return {task: (name, title) for task, (_, name, title) in best.items()}


# ---------------------------------------------------------------- the page

def escape(text: str) -> str:
    """Sphinx roles as plain code; escape table pipes everywhere, emphasis outside code spans."""
    text = re.sub(r":(?:py:)?(?:func|class|meth|mod|attr|obj|data):`~?([^`]+)`", r"``\1``", text)
    parts = re.split(r"(`+[^`]*`+)", text.replace("|", "\\|"))
    return "".join(p if p.startswith("`") else re.sub(r"([*_<])", r"\\\1", p) for p in parts)


def render(level: int, records: list[dict], pages: dict[str, tuple[str, str]],
           hidden: dict[str, dict] | None = None) -> str:
    hidden = {t: h for t, h in (hidden or {}).items() if t.split(".")[0] == str(level)}
    by_task: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_task[r["task"]].append(r)
    for task, h in hidden.items():  # graded end to end: a hidden test and no function of its own
        if task not in by_task:
            text = h["summary"].split(":", 1)[-1].strip()
            by_task[task].append({"task": task, "name": None, "identifier": None, "file": h["file"], "line": 1,
                                  "summary": text.split(". ")[0].rstrip(".") + ".", "markers": 0})
    order = sorted(by_task, key=lambda t: tuple(int(p) for p in t.split(".")))
    index_title = f"Level {level}"
    out = [
        "<!-- Generated by site/gen_task_index.py from the reference code. Do not edit by hand: run",
        "     python site/gen_task_index.py  -->",
        f"# Level {level} task index",
        "",
    ]
    if not records:
        out += [
            f"Level {level} has no graded tasks yet: no function of its reference code carries a",
            "`Task N.M` docstring and a solution region. This page fills itself in as tasks are",
            "written (`python site/gen_task_index.py`).",
            "",
        ]
        return "\n".join(out)
    out += [
        f"Every piece of code you write in level {level}, found in the reference by its solution markers",
        "and its docstring. In your workspace each of these bodies is a `raise NotImplementedError(\"Task",
        f"{level}.N: ...\")`; the docstring above it tells you what to write. The grader scores one task",
        "at a time, so you can hand in a level with some tasks still open.",
        "",
        f"{len(order)} tasks, {len(records)} functions, "
        f"{sum(r['markers'] for r in records)} solution regions, "
        f"{sum(h['points'] for h in hidden.values()):g} points.",
        "",
        "| Task | Points | Function | What it does | Code | Taught in |",
        "|------|--------|----------|--------------|------|-----------|",
    ]
    for task in order:
        page, title = pages.get(task, ("index.md", index_title))
        for i, r in enumerate(by_task[task]):
            summary = escape(r["summary"])
            if len(summary) > 120:
                summary = summary[:117].rsplit(" ", 1)[0] + " ..."
            first = i == 0
            name = f"<code>{r['name']}</code>" if r["name"] else "(end to end: no code of its own)"
            if r["identifier"]:  # its entry in the API reference, when the reference renders it
                name = f'<autoref identifier="{r["identifier"]}" optional>{name}</autoref>'
            points = f"{hidden[task]['points']:g}" if first and task in hidden else ("--" if first else "")
            out.append(
                f"| {'**' + task + '**' if first else ''} | {points} | {name} | {summary} "
                f"| `{r['file']}:{r['line']}` "
                f"| {f'[{title}]({page})' if first else ''} |"
            )
    out += [
        "",
        "Points are those of the task's hidden test (`grader/hidden/`); a task marked \"end to end\" has no",
        "code of its own and passes when the tasks it depends on work together.",
        "A function's name links to its entry in the [API reference](../api/index.md) where it has",
        "one; the code column is the file and line in the repository (the same path in your workspace,",
        "under `workspace/`). The page is regenerated by `python site/gen_task_index.py`;",
        "`python site/gen_task_index.py --check` fails when it is out of date.",
        "",
    ]
    return "\n".join(out)


def pages_to_write() -> dict[Path, str]:
    hidden = hidden_tests()
    return {DOCS / f"level{n}" / "tasks.md": render(n, find_tasks(n, src), teaching_pages(n), hidden)
            for n, src in levels().items()}


def main(argv: list[str]) -> int:
    import gen_coverage  # the roadmap coverage page is checked and written with the task indexes

    stale = gen_coverage.main(argv)
    for path, text in pages_to_write().items():
        name = path.relative_to(ROOT)
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if "--check" in argv:
            stale += current != text
            print(f"gen_task_index: {name} is {'OUT OF DATE' if current != text else 'up to date'}")
        elif current != text:
            path.write_text(text, encoding="utf-8")
            print(f"gen_task_index: wrote {name}")
        else:
            print(f"gen_task_index: {name} unchanged")
    if stale:
        print("gen_task_index: run python site/gen_task_index.py and commit the pages")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
