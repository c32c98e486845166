import ast
import subprocess
import sys

import pytest
from test_markers import GOOD

from hyperion_grader.skeleton import cuda_stubs, generate_level, skeleton_source


def test_skeleton_parses_and_raises_with_task():
    out = skeleton_source(GOOD, "good.py")
    ast.parse(out)
    assert 'raise NotImplementedError("Task 1.2: T.permute")' in out
    assert "out = dims" not in out and "BEGIN SOLUTION\n" not in out
    assert "check = 1" in out and "import numpy as np" in out  # unmarked code kept
    ns: dict = {}
    exec(compile(out, "good.py", "exec"), ns)
    with pytest.raises(NotImplementedError, match=r"^Task 1\.4: f$"):
        ns["f"](1)
    assert ns["f"](0) == 2


def test_keep_fills_one_task():
    out = skeleton_source(GOOD, "good.py", keep=frozenset({"1.4"}))
    assert 'raise NotImplementedError("Task 1.2: T.permute")' in out
    assert "        return 1\n" in out and "SOLUTION" not in out.split('"""')[-1]


def test_generate_level(toy, tmp_path):
    level = toy.get(99)
    target = tmp_path / "skel"
    regions = generate_level(level.path, target)
    assert {r.task for r in regions} == {"99.1", "99.2", "99.3", "99.4"}
    for rel in ("pyproject.toml", "README.md", "tests/test_ops.py", "src/hyperion/toy/__init__.py"):
        assert (target / rel).read_bytes() == (level.path / rel).read_bytes()
    cu = (target / "src/hyperion/toy/kernels/scale.cu").read_text()
    assert "x[i] * k" not in cu and cuda_stubs(cu) == ["Task 99.2: scale_kernel"]
    paths = [str(target / "src"), str(toy.get(98).src)]
    code = f"import sys; sys.path[:0] = {paths!r}\nfrom hyperion.toy.ops import scale\nscale([1], 2)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "NotImplementedError: Task 99.2: scale" in proc.stderr


def test_malformed_level_leaves_target_untouched(toy, tmp_path):
    level = toy.get(99)
    bad = level.path / "src/hyperion/toy/bad.py"
    bad.write_text('def g():\n    """Task 99.9: g."""\n    # BEGIN SOLUTION\n    return 1\n')
    target = tmp_path / "skel"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"bad\.py:3: unclosed"):
        generate_level(level.path, target)
    assert (target / "keep.txt").read_text() == "mine"
