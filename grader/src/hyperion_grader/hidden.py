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

A performance threshold is a race, timed by the judge from outside (see :mod:`hyperion_grader.perf`)::

    def inputs(rng):                          # judge side: fresh random inputs for every round
        return {"x": rng.standard_normal(4096)}

    def naive(x):                             # the baseline: runs on the reference's code, never yours
        from hyperion.tensor.ops import slow_sum
        return slow_sum(x)

    @race(baseline=naive, inputs=inputs, repeat=7, rtol=1e-9)
    def speed(x):                             # runs in the submission's sandbox; the judge times each call
        from hyperion.tensor.ops import fast_sum
        return fast_sum(x)

    def check_speed(sub, ref):                # sub: ratio, fast_s, slow_s, peaks, inputs, outputs
        assert_speedup(sub, at_least=3.0)

A probe without ``check_<name>`` is compared with :func:`hyperion_grader.checks.assert_match`
(``@probe(rtol=..., atol=...)`` sets its tolerance). ``ref`` is the same probe run on the reference,
unless ``@probe(reference=False)`` (then ``ref`` is ``None``). Module-level code must not import the
submission: this file is also loaded in the judge to find its checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hyperion_grader.checks import assert_close, assert_match, assert_speedup, assert_true

__all__ = [
    "probe",
    "race",
    "ProbeOptions",
    "RaceOptions",
    "assert_close",
    "assert_match",
    "assert_speedup",
    "assert_true",
]
PROBE_ATTR = "__hyperion_probe__"


@dataclass(frozen=True)
class RaceOptions:
    """A timed probe: the baseline's name (a function of the same file), the judge-side input maker
    ``inputs(rng) -> dict`` of keyword arguments, rounds, and the tolerance every answer must meet."""

    baseline: str
    inputs: Callable
    repeat: int = 7
    warmup: int = 1
    rtol: float = 1e-5
    atol: float = 1e-8


@dataclass(frozen=True)
class ProbeOptions:
    """Per-probe settings: default-check tolerances, whether the reference runs it too, and (for a
    race) how the judge times it."""

    rtol: float = 1e-5
    atol: float = 1e-8
    reference: bool = True
    race: RaceOptions | None = None


def probe(fn: Callable | None = None, *, rtol: float = 1e-5, atol: float = 1e-8, reference: bool = True):
    """Mark a zero-argument function as a probe (usable bare or with options)."""

    def mark(f: Callable) -> Callable:
        setattr(f, PROBE_ATTR, ProbeOptions(rtol, atol, reference))
        return f

    return mark(fn) if fn is not None else mark


def race(*, baseline: Callable, inputs: Callable, repeat: int = 7, warmup: int = 1, rtol: float = 1e-5,
         atol: float = 1e-8):
    """Mark ``fn(**inputs)`` as a race against ``baseline(**inputs)`` (both functions of this file): the
    judge times them from outside, in separate sandboxes (the baseline's has no submission), on fresh
    inputs every round; its check gets the timings (``ratio``, ``fast_s``, ``slow_s``, ...)."""
    if not callable(baseline) or not callable(inputs):
        raise TypeError("race(baseline=..., inputs=...) takes two functions")

    def mark(f: Callable) -> Callable:
        options = RaceOptions(baseline.__name__, inputs, repeat, warmup, rtol, atol)
        setattr(f, PROBE_ATTR, ProbeOptions(rtol, atol, reference=False, race=options))
        return f

    return mark
