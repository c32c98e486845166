"""CudaGraphStep's CPU-side contract: what it patches in level 1 exists, and no GPU is a clear error."""

from __future__ import annotations

import pytest

from hyperion.runtime.cuda_graph import HOST_CHECKS, CudaGraphStep
from hyperion.runtime.device import gpu_available
from hyperion.tensor import functional


def test_the_level1_host_checks_it_moves_off_the_capture_exist():
    for name in HOST_CHECKS:  # a rename in level 1 must fail here, not silently break capture
        assert callable(getattr(functional, name)), name


@pytest.mark.skipif(gpu_available()[0], reason="checks the error on a machine without a GPU")
def test_without_a_gpu_it_says_so():
    with pytest.raises(RuntimeError, match="needs an NVIDIA GPU"):
        CudaGraphStep(lambda: None)
