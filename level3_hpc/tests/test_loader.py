"""The loader without a GPU: source lookup, clear errors, and skeleton stubs refused before compiling."""

from __future__ import annotations

import shutil

import pytest

from hyperion.kernels import loader


def test_unknown_source_names_the_known_ones():
    with pytest.raises(FileNotFoundError, match="matmul/01_naive.cu"):
        loader.source_path("matmul/99_missing.cu")


def test_source_outside_the_package_is_refused():
    with pytest.raises(FileNotFoundError):
        loader.source_path("../../../../pyproject.toml")


def test_every_source_reads_or_names_its_stub():
    """The reference reads cleanly; in a learner's skeleton a stubbed source names its task."""
    for path in loader.KERNEL_ROOT.rglob("*.cu"):
        rel = path.relative_to(loader.KERNEL_ROOT).as_posix()
        if loader.stubs_in(path.read_text()):
            with pytest.raises(NotImplementedError, match=r"Task 3\.\d+"):
                loader.read_source(rel)
        else:
            assert "__global__" in loader.read_source(rel)


def test_stub_pattern_matches_the_graders():
    skeleton = pytest.importorskip("hyperion_grader.skeleton")
    assert loader.CUDA_STUB.pattern == skeleton._CU_STUB.pattern


def test_skeleton_stub_raises_not_implemented_before_compiling(tmp_path, monkeypatch):
    skeleton = pytest.importorskip("hyperion_grader.skeleton")
    root = tmp_path / "kernels"
    shutil.copytree(loader.KERNEL_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    stubbed = []
    for path in root.rglob("*.cu"):
        text = path.read_text()
        skel = skeleton.skeleton_source(text, str(path))
        if skel != text:
            path.write_text(skel)
            stubbed.append(path.relative_to(root).as_posix())
    assert len(stubbed) >= 4, stubbed  # tasks 3.1-3.4 live in .cu sources
    monkeypatch.setattr(loader, "KERNEL_ROOT", root)

    def no_compile(*args, **kwargs):  # the stub must be refused in Python, never compiled
        raise AssertionError("a stubbed source reached the compiler")

    monkeypatch.setattr(loader, "_module", no_compile)
    for rel in stubbed:
        with pytest.raises(NotImplementedError, match=r"Task 3\.\d+"):
            loader.get_kernel(rel, "any")


def test_compile_options_carry_includes_and_defines():
    opts = loader.compile_options((("BM", 128), ("TN", 4)))
    assert "-DBM=128" in opts and "-DTN=4" in opts
    assert any(o.startswith("-I") and o.endswith("include") for o in opts)
    assert f"-I{loader.KERNEL_ROOT}" in opts
