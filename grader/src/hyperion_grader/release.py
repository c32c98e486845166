"""Build the student repository of one level: its skeleton, the levels below as reference wheels, the
course site prebuilt, and a noxfile with ``start-levelN`` / ``grade-levelN``.

Policy: a release grades exactly one level, N. The levels below N ship as wheels built from the
reference (the site's "each level imports the reference below it"): their tasks are not graded by
this release, so their solutions may be in it. Level N ships as a skeleton; levels above N are not
shipped. No solution of level N or above and no hidden test may leave: :func:`verify_release` checks
every file (inside the wheels and the built HTML too) and :func:`build_release` refuses to finish
when it finds one. One release per level, each published when the level opens.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import tomllib
import zipfile
from pathlib import Path

from hyperion_grader.levels import Level, Registry
from hyperion_grader.markers import BEGIN, END
from hyperion_grader.skeleton import PY_SUFFIXES, SKIP_NAMES, generate_level, level_regions
from hyperion_grader.student_noxfile import render

MIN_LEAK_CHARS = 30  # shorter solution regions ("return a + b") are too generic to look for
_MARKER_LINE = re.compile(rf"^\s*(#|//)\s*({BEGIN}|{END})\s*$", re.M)
_TAG = re.compile(r"<[^>]+>")

README = """# Hyperion, level {number} (student edition)

    python -m pip install nox
    nox -s start-level{number}      # writes workspace/{folder}/ from {folder}/ (never overwrites)
    # fill in the functions that raise NotImplementedError("Task {number}.M: ..."), then
    nox -s grade-level{number}      # public tests, one row per task, and grades/level{number}.json

The course site is built: open `site/index.html`. The levels below level {number} are the reference,
installed from `wheels/` by `grade-level{number}`. The public tests are a start: your instructor also
grades with hidden tests.
"""


def _normalize(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _region_texts(levels: list[Level]) -> list[tuple[str, str]]:
    out = []
    for level in levels:
        for r in level_regions(level.path):
            lines = Path(r.path).read_text(encoding="utf-8").splitlines()[r.begin : r.end - 1]
            body = _normalize("\n".join(ln for ln in lines if not ln.strip().startswith(("#", "//"))))
            if len(body) >= MIN_LEAK_CHARS:
                out.append((f"{r.path}:{r.begin} (Task {r.task})", body))
    return out


def _texts(path: Path, rel: Path):
    """(name, text) of a file, of each member of a wheel, and of an HTML page as its visible text."""
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            for member in wheel.namelist():
                try:
                    yield rel / member, wheel.read(member).decode("utf-8")
                except UnicodeDecodeError:
                    continue
        return
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return
    yield rel, text
    if path.suffix in (".html", ".json", ".xml"):  # highlighted code: tags between tokens, &lt; for <
        yield rel, html.unescape(_TAG.sub("", text.replace("\\n", "\n")))


def verify_release(out: Path, registry: Registry, level: int | None = None) -> list[str]:
    """Problems found in a release folder (empty list: clean). ``level``: the graded level (default:
    the lowest), whose solutions and those of every level above must be absent."""
    graded = min(lv.number for lv in registry.levels) if level is None else level
    secret = [lv for lv in registry.levels if lv.number >= graded]
    problems = []
    regions = _region_texts(secret)
    hidden = [p for lvl in registry.levels if lvl.hidden_dir.is_dir() for p in lvl.hidden_dir.rglob("*.py")]
    hidden_texts = [(p, _normalize(p.read_text(encoding="utf-8"))) for p in hidden]
    packages = {pkg.replace(".", "/") for lv in secret for pkg in lv.packages}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out)
        if "hidden" in rel.parts or "hyperion_grader" in rel.parts or rel.parts[0] == "grader":
            problems.append(f"{rel}: grader/hidden file in release")
        for name, text in _texts(path, rel):
            if path.suffix == ".whl" and any(f"{pkg}/" in str(name) for pkg in packages):
                problems.append(f"{name}: a graded level's package in a wheel")
            if path.suffix != ".whl" and _MARKER_LINE.search(text):  # a lower level's wheel keeps its markers
                problems.append(f"{name}: contains a solution marker")
            norm = _normalize(text)
            problems += [f"{name}: contains the solution of {where}" for where, body in regions if body in norm]
            problems += [f"{name}: contains hidden test {p.name}" for p, body in hidden_texts if body and body in norm]
    return sorted(set(problems))


def task_spec(level: Level) -> dict:
    """What the release's task table needs: each task's title, points and functions (never its tests)."""
    from hyperion_grader.tasks import load_tasks

    known = {t.task: t for t in load_tasks(level.hidden_dir)}
    tasks: dict[str, dict] = {}
    for r in level_regions(level.path):
        entry = tasks.setdefault(r.task, {"title": known[r.task].title if r.task in known else r.function,
                                          "points": known[r.task].points if r.task in known else 1.0,
                                          "functions": []})
        if Path(r.path).suffix in PY_SUFFIXES:
            pair = [str(Path(r.path).relative_to(level.src)), r.function]
            if pair not in entry["functions"]:
                entry["functions"].append(pair)
    return {"level": level.number, "tasks": tasks}


def _wheel(level: Level, dest: Path) -> Path:
    """The reference of a lower level as a pure-Python wheel: ``src/hyperion`` and its metadata (the
    dependencies are named, not bundled: pip resolves them). Written here, so no build backend is
    downloaded; every level's wheel target is ``src/hyperion``."""
    project = tomllib.loads((level.path / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = project["name"].replace("-", "_"), project["version"]
    info = f"{name}-{version}.dist-info"
    files = {str(p.relative_to(level.src)): p.read_bytes() for p in sorted((level.src / "hyperion").rglob("*"))
             if p.is_file() and not any(part in SKIP_NAMES or part.endswith(".pyc") for part in p.parts)}
    metadata = [f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {version}"]
    metadata += [f"Requires-Python: {project['requires-python']}"] if "requires-python" in project else []
    metadata += [f"Requires-Dist: {dep}" for dep in project.get("dependencies", [])]
    files[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: hyperion\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if project.get("scripts"):
        lines = "".join(f"{k} = {v}\n" for k, v in project["scripts"].items())
        files[f"{info}/entry_points.txt"] = f"[console_scripts]\n{lines}".encode()
    record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_release(registry: Registry, out: Path, level: int, site: Path | None) -> list[str]:
    """Write the student repository of ``level`` into ``out`` (replaced); returns what it holds.

    ``site``: the built course site (a folder with ``index.html``; ``nox -s docs`` makes site/build).
    ``None`` only where the repository has no site sources at all.
    """
    graded = registry.get(level)
    if site is not None and not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site} is not a built site (no index.html): build it with `nox -s docs`")
    if site is None and (registry.root / "site" / "mkdocs.yml").is_file():
        raise FileNotFoundError("the release ships the site prebuilt: pass --site site/build (`nox -s docs`)")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    generate_level(graded.path, out / graded.folder)
    lower = registry.below(level)
    for below in lower:
        _wheel(below, out / "wheels")
    tools = out / "tools"
    tools.mkdir()
    shutil.copyfile(Path(__file__).with_name("task_table.py"), tools / "task_table.py")  # a file, not imported
    (tools / f"tasks-level{level}.json").write_text(json.dumps(task_spec(graded), indent=1), encoding="utf-8")
    if site is not None:
        shutil.copytree(site, out / "site", ignore=shutil.ignore_patterns("screenshots", *SKIP_NAMES))
    if (registry.root / "constraints.txt").is_file():
        shutil.copyfile(registry.root / "constraints.txt", out / "constraints.txt")
    (out / "noxfile.py").write_text(render(level, graded.folder), encoding="utf-8")
    (out / "README.md").write_text(README.format(number=level, folder=graded.folder), encoding="utf-8")
    (out / ".gitignore").write_text("__pycache__/\n.nox/\n*.egg-info/\n/workspace/\n/grades/\n", encoding="utf-8")
    problems = verify_release(out, registry, level)
    if problems:
        raise RuntimeError("release leaks:\n  " + "\n  ".join(problems))
    return [graded.folder, *(f"wheels/{p.name}" for p in sorted((out / "wheels").glob("*.whl")))]
