"""Races: performance thresholds timed by the judge, from outside the submission's process.

A hidden file marks a function with :func:`hyperion_grader.hidden.race`. The judge starts two sandboxed
servers (:class:`hyperion_grader.sandbox.Server`): the submission's, which runs that function, and a
trusted one on the reference's code (no submission in it), which runs the baseline. For ``warmup +
repeat`` rounds it draws fresh random inputs in the judge (a generator seeded from ``os.urandom``),
sends the same inputs to both servers in turn and times each round trip (request written, answer read)
with its own clock, while every process of the other box is stopped (SIGSTOP), so that CPU burnt in the
background by one side cannot slow the other; it reads each call's peak memory growth from /proc.
Every answer, warmup included, must match the baseline's (``assert_match`` with the race's tolerances)
or the race fails: an answer cached from an earlier call or skipped for the benchmark's shape cannot
pass. Nothing the child reports about time or memory is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from hyperion_grader import wire
from hyperion_grader.checks import assert_match
from hyperion_grader.sandbox import Server, ServerError


class RaceError(RuntimeError):
    """A race that could not be run to the end (a crash, a wrong answer, a timeout)."""


def _answer(
    server: Server, idle: Server, frame: bytes, who: str, round_: int
) -> tuple[float, int | None, object]:
    """One timed call of ``server`` while every process of ``idle`` (the other box) is stopped."""
    idle.pause()
    try:
        seconds, peak, reply = server.call(frame)
    except ServerError as exc:
        raise RaceError(f"{who}, round {round_}: {exc}") from exc
    finally:
        idle.resume()
    if not reply["ok"]:
        err = reply["error"].strip() if type(reply["error"]) is str else ""
        last = err.splitlines()[-1] if err else "failed"
        raise RaceError(f"{who}, round {round_}: {last}\n{err}")
    try:
        return seconds, peak, wire.decode(reply["value"])
    except wire.WireError as exc:
        raise RaceError(f"{who}, round {round_}: malformed data: {exc}") from exc


def run_race(options, start_fast: Callable[[], Server], start_slow: Callable[[], Server]) -> dict:
    """Run one race; returns ``{"kind": "speed", "ratio", "fast_s", "slow_s", "fast_all", "slow_all",
    "fast_peak_bytes", "slow_peak_bytes", "inputs", "outputs"}`` (times in seconds, best of the timed
    rounds; peaks the largest of them, None when not measurable) or raises :class:`RaceError`."""
    fast = slow = None
    try:
        fast, slow = start_fast(), start_slow()
        rng = np.random.default_rng(int.from_bytes(os.urandom(8), "little"))
        rows: dict[str, list] = {k: [] for k in ("fast", "slow", "fast_peak", "slow_peak", "inputs", "outputs")}
        for round_ in range(options.warmup + options.repeat):
            inputs = options.inputs(rng)
            frame = wire.encode(inputs)
            tf, pf, got = _answer(fast, slow, frame, "your code", round_)
            ts, ps, want = _answer(slow, fast, frame, "the baseline", round_)
            try:
                assert_match(got, want, options.rtol, options.atol, name=f"answer of round {round_}")
            except AssertionError as exc:
                raise RaceError(f"{exc} (each round has fresh random inputs; every answer is checked)") from exc
            if round_ >= options.warmup:
                for key, value in (("fast", tf), ("slow", ts), ("fast_peak", pf), ("slow_peak", ps),
                                   ("inputs", inputs), ("outputs", got)):
                    rows[key].append(value)
    finally:
        for server in (fast, slow):
            if server is not None:
                server.close()
    fast_s, slow_s = min(rows["fast"]), min(rows["slow"])

    def peak(key: str) -> int | None:
        return None if None in rows[key] else max(rows[key])

    return {
        "kind": "speed",
        "ratio": slow_s / max(fast_s, 1e-12),
        "fast_s": fast_s,
        "slow_s": slow_s,
        "fast_all": rows["fast"],
        "slow_all": rows["slow"],
        "fast_peak_bytes": peak("fast_peak"),
        "slow_peak_bytes": peak("slow_peak"),
        "inputs": rows["inputs"],
        "outputs": rows["outputs"],
    }
