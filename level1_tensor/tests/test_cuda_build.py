"""The CUDA helper without a GPU: kernels compiled once and then looked up, stubs refused before compiling."""

from __future__ import annotations

import pytest

from hyperion.tensor import cuda_build


class _FakeModule:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_function(self, name: str) -> str:
        self.asked.append(name)
        return f"kernel:{name}"


def test_a_kernel_is_compiled_once_then_looked_up(monkeypatch, tmp_path):
    calls = []
    fake = _FakeModule()

    def module(root, relative, defines=(), arch=None):
        calls.append((root, relative, defines, arch))
        return fake

    monkeypatch.setattr(cuda_build, "module", module)
    cuda_build.kernel.cache_clear()
    try:
        for _ in range(3):
            assert cuda_build.kernel(tmp_path, "a.cu", "k", (("BM", 64),)) == "kernel:k"
        assert cuda_build.kernel(tmp_path, "a.cu", "k", (("BM", 128),)) == "kernel:k"
        assert len(calls) == 2 and fake.asked == ["k", "k"]  # one compile per distinct set of defines
    finally:
        cuda_build.kernel.cache_clear()


def test_a_stub_in_an_included_header_is_refused(tmp_path):
    (tmp_path / "head.cuh").write_text('void f() { assert(false && "NotImplementedError: Task 3.9: head"); }\n')
    (tmp_path / "k.cu").write_text('#include "head.cuh"\nextern "C" __global__ void k() {}\n')
    with pytest.raises(NotImplementedError, match="Task 3.9: head"):
        cuda_build.read_checked(tmp_path / "k.cu", tmp_path)
    (tmp_path / "head.cuh").write_text("void f() {}\n")
    assert "__global__" in cuda_build.read_checked(tmp_path / "k.cu", tmp_path)


def test_compile_options_carry_includes_and_sorted_defines(tmp_path):
    opts = cuda_build.compile_options(tmp_path, (("BM", 128), ("TN", 4)))
    assert opts[0] == "-std=c++17" and f"-I{tmp_path}" in opts
    assert opts[-2:] == ("-DBM=128", "-DTN=4")


def test_stub_pattern_matches_the_graders():
    skeleton = pytest.importorskip("hyperion_grader.skeleton")
    assert cuda_build.CUDA_STUB.pattern == skeleton._CU_STUB.pattern
