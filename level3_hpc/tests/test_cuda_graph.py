"""CudaGraphStep's CPU-side contract: what it patches in level 1 exists, and no GPU is a clear error."""

from __future__ import annotations

import pytest

import hyperion.tensor as ht
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


class FakeStream:
    """Stands for a CuPy stream: records what the capture does with it."""

    ptr = 1

    def __init__(self) -> None:
        self.events: list[str] = []

    def __enter__(self) -> FakeStream:
        self.events.append("enter")
        return self

    def __exit__(self, *exc) -> bool:
        self.events.append("exit")
        return False

    def begin_capture(self) -> None:
        self.events.append("begin")

    def end_capture(self) -> str:
        self.events.append("end")
        return "graph"


def _bare_step_graph() -> CudaGraphStep:
    import numpy as np

    from hyperion.tensor.backend import Backend

    graphed = object.__new__(CudaGraphStep)  # the capture logic alone, no GPU
    graphed.stream, graphed.side, graphed.backend = FakeStream(), FakeStream(), Backend(np)
    return graphed


def test_capture_moves_the_checks_to_the_side_stream_and_puts_everything_back():
    graphed = _bare_step_graph()
    before = {name: getattr(functional, name) for name in HOST_CHECKS}

    def step():
        assert graphed.backend.from_host == graphed._from_host_in_graph  # staged host copies
        for name in HOST_CHECKS:
            assert getattr(functional, name) is not before[name]
        graphed.side.events.clear()
        functional._check_classes(ht.tensor([1, 2]), 3, -100, "test")  # a real level-1 check
        assert graphed.side.events == ["enter", "exit"]  # ran inside the side stream's block
        return "loss"

    assert graphed._capture(step) == ("loss", "graph")
    assert graphed.stream.events == ["enter", "begin", "end", "exit"]
    assert all(getattr(functional, name) is before[name] for name in HOST_CHECKS)
    assert "from_host" not in graphed.backend.__dict__


def test_a_step_that_fails_during_capture_ends_the_capture_and_restores_level1():
    graphed = _bare_step_graph()
    before = {name: getattr(functional, name) for name in HOST_CHECKS}

    def step():
        raise ValueError("a host read during capture")

    with pytest.raises(ValueError, match="host read"):
        graphed._capture(step)
    assert graphed.stream.events == ["enter", "begin", "end", "exit"]
    assert all(getattr(functional, name) is before[name] for name in HOST_CHECKS)
    assert "from_host" not in graphed.backend.__dict__
