import ast

from hyperion_grader.cli import main
from hyperion_grader.release import verify_release


def test_release_has_skeletons_and_no_solutions_or_hidden_tests(toy, tmp_path):
    out = tmp_path / "student"
    assert main(["--root", str(toy.root), "release", "--out", str(out)]) == 0
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {
        "noxfile.py",
        "README.md",
        "site/index.md",
        "level99_toy/tests/test_ops.py",
        "level98_base/src/hyperion/toybase/__init__.py",
    } <= files
    assert not any("hidden" in f or f.startswith("grader") for f in files)
    text = "\n".join((out / f).read_text() for f in files)
    for secret in (
        "out = as_array(a) + as_array(b)",
        "acc += x",
        "np.asarray(x, dtype=np.float64)",
        "x[i] * k",
        "BEGIN SOLUTION",
        "hyperion_grader",
    ):
        assert secret not in text
    ast.parse((out / "noxfile.py").read_text())
    assert "LEVELS = {98: 'level98_base', 99: 'level99_toy'}" in (out / "noxfile.py").read_text()
    assert verify_release(out, toy) == []


def test_verify_release_catches_a_leak(toy, tmp_path):
    out = tmp_path / "student"
    main(["--root", str(toy.root), "release", "--out", str(out)])
    (out / "notes.md").write_text("for x in xs:\n    acc += x\nreturn acc\nacc = 0.0")
    (out / "site" / "h.py").write_text((toy.root / "grader/hidden/level99/task_99_02_scale.py").read_text())
    problems = verify_release(out, toy)
    assert any("contains hidden test" in p for p in problems)
