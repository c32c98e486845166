"""Checkpoints in data-parallel training: every replica is identical, so rank 0 alone writes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hyperion.distributed.group import barrier, get_rank, is_initialized
from hyperion.nn import Module, save


def save_on_rank0(obj: Module | Mapping[str, Any], path: str | os.PathLike) -> bool:
    """Rank 0 writes ``obj`` with ``hyperion.nn.save``; every rank waits until the file is complete.

    Returns whether this rank wrote. (A ZeRO optimizer's state must first be gathered with
    ``consolidated_state_dict()``, which every rank calls.)
    """
    wrote = not is_initialized() or get_rank() == 0
    if wrote:
        save(obj, path)
    if is_initialized():
        barrier()
    return wrote
