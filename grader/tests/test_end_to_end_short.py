"""The short CI version of the two end-to-end tasks (1.25 MNIST, 2.16 Shakespeare): the hidden files' own
probe and check on the reference, shortened, with bars measured for the shorter runs.

The full tasks (3 epochs to >= 97.5 %; 200 steps to <= 2.9 nats) run in ``grade-level1``/``grade-level2``
and in ``selfcheck``; CI leaves them out for time (``SLOW`` in the self-check tests). Here: 1 epoch of
MNIST must reach >= 95 % (measured 96.3 % in 17 s on the 2-core build machine; an untrained model scores
about 10 %), and 40 GPT steps a validation loss <= 3.6 nats (measured 3.32 in 6 s; the untrained model
starts at ln 340 = 5.83, unigram statistics alone give ~3.33).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

HIDDEN = Path(__file__).resolve().parents[1] / "hidden"


def _hidden(level: int, prefix: str):
    path = next((HIDDEN / f"level{level}").glob(f"{prefix}_*.py"))
    spec = importlib.util.spec_from_file_location(f"short_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mnist_end_to_end_one_epoch():
    pytest.importorskip("hyperion.examples.mnist")
    task = _hidden(1, "task_1_25")
    task.EPOCHS, task.THRESHOLD = 1, 0.95
    result = task.train_mlp()
    task.check_train_mlp(result, None)  # raises with the task's own message if a bar is missed
    assert result["batches"] == 469 and result["test_images"] == 10000


def test_shakespeare_end_to_end_forty_steps():
    pytest.importorskip("hyperion.transformer.train")
    task = _hidden(2, "task_2_16")
    task.STEPS, task.THRESHOLD = 40, 3.6
    result = task.train_gpt()
    if not result["corpus"]:
        pytest.skip(f"no Shakespeare corpus here: {result['why']}")
    task.check_train_gpt(result, None)
    assert result["first_loss"] > 5.0  # it started untrained: the bar was reached by training
