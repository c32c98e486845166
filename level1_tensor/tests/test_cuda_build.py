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


def _fake_cupy(launches: list) -> object:
    """A stand-in for CuPy's driver: ``launchKernel`` reads the parameter block as cuLaunchKernel would."""
    import ctypes
    import types

    def launch_kernel(function, gx, gy, gz, bx, by, bz, smem, stream, params, extra):
        pointers = (ctypes.c_uint64 * 5).from_address(params)
        values = (ctypes.c_uint64.from_address(pointers[0]).value, ctypes.c_int32.from_address(pointers[1]).value,
                  ctypes.c_float.from_address(pointers[2]).value, ctypes.c_int32.from_address(pointers[3]).value,
                  ctypes.c_uint64.from_address(pointers[4]).value)
        launches.append(((function, gx, gy, gz, bx, by, bz, smem, stream, extra), values))

    stream = types.SimpleNamespace(ptr=77)
    cuda = types.SimpleNamespace(driver=types.SimpleNamespace(launchKernel=launch_kernel),
                                 get_current_stream=lambda: stream)
    return types.SimpleNamespace(cuda=cuda)


def test_packed_launch_lays_out_one_slot_per_parameter(monkeypatch):
    import sys
    import types

    launches: list = []
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(launches))
    kernel = types.SimpleNamespace(kernel=types.SimpleNamespace(ptr=1234))
    launch = cuda_build.PackedLaunch(kernel, (9,), (128, 2), 512, "pifip")
    launch(0x7F0012345678, -3, 1e-5, True, 2**63 + 5)
    launch(16, 2**31 - 1, -2.5, 0, 0)
    head = (1234, 9, 1, 1, 128, 2, 1, 512, 77, 0)
    assert launches[0][0] == head and launches[1][0] == head
    eps32 = float(__import__("numpy").float32(1e-5))
    assert launches[0][1] == (0x7F0012345678, -3, eps32, 1, 2**63 + 5)
    assert launches[1][1] == (16, 2**31 - 1, -2.5, 0, 0)
    with pytest.raises(TypeError, match="takes 5 arguments"):
        launch.pack(1, 2)
    with pytest.raises(ValueError, match="kinds must be"):
        cuda_build.PackedLaunch(kernel, (1,), (1,), 0, "pq")


def test_an_edit_to_a_header_in_another_folder_rebuilds_the_cubin(monkeypatch, tmp_path):
    """The on-disk cubin cache keys on every header under the root, not only the source's neighbours (attention's
    kernels include matmul/wgmma.cuh). nvcc is replaced by a stub that writes the command it was given."""
    (tmp_path / "matmul").mkdir()
    (tmp_path / "attention").mkdir()
    (tmp_path / "matmul" / "shared.cuh").write_text("#define X 1\n")
    source = tmp_path / "attention" / "k.cu"
    source.write_text('#include "matmul/shared.cuh"\nextern "C" __global__ void k() {}\n')
    monkeypatch.setenv("HYPERION_CUBIN_CACHE", str(tmp_path / "cache"))
    built = []

    def fake_run(command, **kwargs):
        out = command[command.index("-o") + 1]
        with open(out, "w") as f:
            f.write(" ".join(command))
        built.append(out)
        return type("Done", (), {"returncode": 0, "stderr": ""})()

    monkeypatch.setattr(cuda_build, "nvcc_path", lambda: "nvcc")
    monkeypatch.setattr(cuda_build.subprocess, "run", fake_run)
    first = cuda_build.build_cubin(source, tmp_path)
    assert cuda_build.build_cubin(source, tmp_path) == first and len(built) == 1  # cached
    (tmp_path / "matmul" / "shared.cuh").write_text("#define X 2\n")
    second = cuda_build.build_cubin(source, tmp_path)
    assert second != first and len(built) == 2


def test_an_edit_to_a_header_changes_the_nvrtc_source(tmp_path):
    """CuPy keys its NVRTC cache on the code string and the options only: the code must name the headers' text,
    or a kernel built before a header was edited keeps running in every later process."""
    (tmp_path / "rows").mkdir()
    (tmp_path / "regime.cuh").write_text("#define X 1\n")
    source = tmp_path / "rows" / "k.cu"
    source.write_text('#include "regime.cuh"\nextern "C" __global__ void k() {}\n')
    first = cuda_build.nvrtc_source(source, tmp_path)
    assert first.startswith(source.read_text()) and cuda_build.nvrtc_source(source, tmp_path) == first
    (tmp_path / "regime.cuh").write_text("#define X 2\n")
    second = cuda_build.nvrtc_source(source, tmp_path)
    assert second != first
    (tmp_path / "rows" / "new.cuh").write_text("\n")  # a header added anywhere under the root
    assert cuda_build.nvrtc_source(source, tmp_path) not in (first, second)


def test_cupy_module_is_the_module_in_sys_modules(monkeypatch):
    import sys
    import types

    stand_in = types.ModuleType("cupy")
    monkeypatch.setitem(sys.modules, "cupy", stand_in)
    assert cuda_build.cupy_module() is stand_in  # a test's stand-in is seen, not a kept earlier module


def test_cupy_module_without_cupy_raises_import_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cupy", None)  # what an uninstalled module looks like to ``import``
    with pytest.raises(ImportError):
        cuda_build.cupy_module()
