"""A workspace's public tests test the workspace (issue 17): with the reference installed AND first on
PYTHONPATH, a fresh skeleton fails them and the same folder with every task filled passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyperion_grader.levels import Registry, find_root
from hyperion_grader.skeleton import generate_level, level_regions

ROOT = find_root(Path(__file__).resolve().parent)
LEVEL = Registry.discover(ROOT).get(1)
TESTS = "tests/test_tensor_views.py"


def _pytest(folder: Path) -> subprocess.CompletedProcess:
    reference = os.pathsep.join(str(level.src) for level in Registry.discover(ROOT).levels)
    env = {**os.environ, "PYTHONPATH": reference}  # the reference could not be more installed than this
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", TESTS],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not (LEVEL.path / TESTS).is_file(), reason=f"level 1 has no {TESTS}")
def test_public_tests_import_the_workspace_not_the_reference(tmp_path):
    skeleton = tmp_path / "skeleton" / LEVEL.folder
    generate_level(LEVEL.path, skeleton)
    stubbed = _pytest(skeleton)
    assert stubbed.returncode == 1 and "NotImplementedError" in stubbed.stdout, stubbed.stdout[-2000:]

    filled = tmp_path / "filled" / LEVEL.folder
    generate_level(LEVEL.path, filled, keep=frozenset(r.task for r in level_regions(LEVEL.path)))
    passed = _pytest(filled)
    assert passed.returncode == 0, passed.stdout[-2000:] + passed.stderr[-2000:]


def test_the_conftest_refuses_a_package_found_elsewhere(tmp_path):
    skeleton = tmp_path / LEVEL.folder
    generate_level(LEVEL.path, skeleton)
    impostor = tmp_path / "elsewhere" / "hyperion"
    impostor.mkdir(parents=True)
    (impostor / "__init__.py").write_text("")  # a regular package: the namespace portions are gone
    env = {**os.environ, "PYTHONPATH": str(impostor.parent)}
    code = "import hyperion, runpy; runpy.run_path('conftest.py')"
    result = subprocess.run([sys.executable, "-c", code], cwd=skeleton, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "not from" in result.stderr + result.stdout, result.stderr[-2000:]
