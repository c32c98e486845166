"""``python -m hyperion.kernels.attention.repro`` without a Hopper GPU: a clear message and exit status 1, no
traceback (the GPU run itself is recorded under level3_hpc/results/)."""
import subprocess
import sys

import pytest


def _has_hopper() -> bool:
    try:
        from hyperion.kernels.attention import hopper_available

        return hopper_available()
    except Exception:
        return False


@pytest.mark.skipif(_has_hopper(), reason="this machine has a Hopper GPU: the command would run the measurements")
def test_without_a_hopper_gpu_the_command_says_what_it_needs():
    run = subprocess.run([sys.executable, "-m", "hyperion.kernels.attention.repro", "--quick"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "needs" in run.stderr and "Hopper GPU" in run.stderr
    assert "Traceback" not in run.stderr
