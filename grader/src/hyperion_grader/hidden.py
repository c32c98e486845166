"""What hidden-test authors import: the :func:`probe` decorator (and, via re-export, the helpers).

A hidden test file ``grader/hidden/levelN/task_N_MM_slug.py`` is one task::

    from hyperion_grader.hidden import probe, assert_close

    TASK = "1.5"; TITLE = "Elementwise backward"; POINTS = 10
    # optional: TIMEOUT = 60 (s), MEMORY_MB = 4096 (None: no limit), PARTIAL = False,
    #           EXCLUSIVE = False (run alone: timing tasks), VISIBILITY = "visible"

    @probe                       # runs in the sandboxed child; import the submission inside the body
    def mul_backward():
        from hyperion.tensor import Tensor
        ...
        return {"ga": ga, "gb": gb}          # plain data only

    def check_mul_backward(sub, ref):        # optional; runs in the judge on decoded data
        assert_close(sub["ga"], ref["ga"])

A probe without ``check_<name>`` is compared with :func:`hyperion_grader.checks.assert_match`
(``@probe(rtol=..., atol=...)`` sets its tolerance). ``ref`` is the same probe run on the reference,
unless ``@probe(reference=False)`` (then ``ref`` is ``None``). Module-level code must not import the
submission: this file is also loaded in the judge to find its checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hyperion_grader.checks import assert_close, assert_match, assert_speedup, assert_true
from hyperion_grader.perf import compare_speed

__all__ = [
    "probe",
    "ProbeOptions",
    "assert_close",
    "assert_match",
    "assert_speedup",
    "assert_true",
    "compare_speed",
]
PROBE_ATTR = "__hyperion_probe__"


@dataclass(frozen=True)
class ProbeOptions:
    """Per-probe settings: default-check tolerances and whether the reference runs it too."""

    rtol: float = 1e-5
    atol: float = 1e-8
    reference: bool = True


def probe(fn: Callable | None = None, *, rtol: float = 1e-5, atol: float = 1e-8, reference: bool = True):
    """Mark a zero-argument function as a probe (usable bare or with options)."""

    def mark(f: Callable) -> Callable:
        setattr(f, PROBE_ATTR, ProbeOptions(rtol, atol, reference))
        return f

    return mark(fn) if fn is not None else mark
