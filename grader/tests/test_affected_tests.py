"""``.ci/affected_tests.py``: the tests a change can break, found through imports and kernel names. CI has no GPU,
so this list is what a kernel change must be run against on one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "affected_tests.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_kernel_change_reaches_the_tests_that_run_it_first():
    """11's source is named by ``bwd_tma.py``: its own test and the planned path's (which the twenty-second session
    broke unseen) are two links away; a matmul test, which reaches it only through ``attention/__init__``, is not."""
    done = _run("level3_hpc/src/hyperion/kernels/attention/11_flash_bwd_tma.cu", "--gpu", "--max-depth", "2")
    assert done.returncode == 0, done.stderr
    listed = set(done.stdout.split())
    assert {"level3_hpc/tests/test_flash_bwd_tma_gpu.py", "level3_hpc/tests/test_flash_planned_gpu.py"} <= listed
    assert "level3_hpc/tests/test_matmul_gpu.py" not in listed
    everything = set(_run("level3_hpc/src/hyperion/kernels/attention/11_flash_bwd_tma.cu", "--gpu").stdout.split())
    assert "level3_hpc/tests/test_matmul_gpu.py" in everything and listed < everything


def test_a_header_reaches_through_the_kernels_that_include_it():
    done = _run("level3_hpc/src/hyperion/kernels/attention/flash_bwd_tiles.cuh", "--why")
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert "level3_hpc/tests/test_flash_bwd_tma_gpu.py" in lines
    assert "attention/11_flash_bwd_tma.cu" in lines["level3_hpc/tests/test_flash_bwd_tma_gpu.py"]


def test_a_python_change_reaches_its_importers_and_its_own_test():
    listed = _run("level2_transformer/src/hyperion/transformer/flash/numba_cpu.py").stdout.split()
    assert "level2_transformer/tests/test_flash_cpu.py" in listed
    assert "level0_foundations/tests" not in " ".join(listed)  # nothing below level 2 imports it


def test_a_missing_file_is_named():
    done = _run("no/such/kernel.cu")
    assert done.returncode == 2 and "no such file: " in done.stderr and "kernel.cu" in done.stderr


def test_the_readme_command_runs_as_written():
    line = next(x for x in (ROOT / "README.md").read_text().splitlines() if x.startswith("python3 .ci/affected_tests"))
    command = line.split("#")[0].strip()
    done = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
