"""Host microseconds per malloc + free of the caching allocator, the park on and off, side by side.

    python -m hyperion.runtime.bench_alloc --repeats 7

The allocator's cost on the GPU step is Python time: CuPy calls it for every array (about 750 per
GPT step at B=32, T=256). This replays one step-shaped allocation trace (:func:`step_trace`: a
forward that keeps its activations and frees temporaries, a backward that frees them in reverse
while allocating gradients) through :class:`~hyperion.runtime.allocator.CachingAllocator` over fake
raw memory (no device, no CuPy), with the park (exact-size reuse, the fast path) and without it
(merge and best fit on every free, the design before the park), interleaved repeat by repeat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from hyperion.runtime.allocator import CachingAllocator


def step_trace(layers: int = 6, tokens: int = 8192, width: int = 384, heads: int = 6, seq: int = 256,
               itemsize: int = 4) -> list[tuple[str, int]]:
    """``("alloc", nbytes)`` and ``("free", k)`` (free the k-th allocation) events of one training step
    of a GPT-shaped model: per layer ~10 kept activations and ~10 temporaries forward, then the
    backward frees activations and temporaries in reverse and allocates as many gradients."""
    sizes = [tokens * width, tokens * 3 * width, tokens * width, tokens * 4 * width,
             tokens // seq * heads * seq * seq, tokens * width, tokens * 4 * width, 4 * width, width]
    events: list[tuple[str, int]] = []
    kept: list[tuple[int, int]] = []  # (allocation index, elements)

    def alloc(n: int) -> int:
        events.append(("alloc", n * itemsize))
        return sum(kind == "alloc" for kind, _ in events) - 1

    for _ in range(layers):
        for n in sizes:
            kept.append((alloc(n), n))
            events.append(("free", alloc(n)))  # a temporary
    for k, n in reversed(kept):
        grad = alloc(n)
        events.append(("free", alloc(n)))
        events.append(("free", k))
        events.append(("free", grad))
    return events


def replay(alloc: CachingAllocator, events: list[tuple[str, int]]) -> int:
    """Run ``events`` once; returns the number of mallocs."""
    addresses: list[int] = []
    for kind, value in events:
        if kind == "alloc":
            addresses.append(alloc.malloc(value))
        else:
            alloc.free(addresses[value])
    return len(addresses)


class _FakeRaw:
    def __init__(self) -> None:
        self.next = 1 << 40

    def alloc(self, size: int) -> int:
        address, self.next = self.next, self.next + size + (1 << 30)
        return address

    def free(self, address: int) -> None:
        pass


def measure(repeats: int = 7, steps: int = 20) -> dict:
    """Median µs per (malloc + free) pair, park on and off, after 3 warm-up steps each."""
    events = step_trace()
    allocators = {}
    for park in (True, False):
        raw = _FakeRaw()
        allocators[park] = CachingAllocator(raw.alloc, raw.free, park=park)
        for _ in range(3):
            replay(allocators[park], events)
    times: dict[bool, list[float]] = {True: [], False: []}
    mallocs = 0
    for _ in range(repeats):
        for park in (True, False):
            t = time.perf_counter()
            for _ in range(steps):
                mallocs = replay(allocators[park], events)
            times[park].append((time.perf_counter() - t) / (steps * mallocs) * 1e6)
    stats = {park: allocators[park].memory_stats() for park in (True, False)}
    return {"mallocs_per_step": mallocs,
            "us_per_pair_park": statistics.median(times[True]),
            "us_per_pair_no_park": statistics.median(times[False]),
            "all_park": times[True], "all_no_park": times[False],
            "park_flushes_in_steady_steps": stats[True]["num_park_flushes"],
            "reserved_park": stats[True]["reserved_bytes.all.peak"],
            "reserved_no_park": stats[False]["reserved_bytes.all.peak"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.repeats, args.steps), indent=1))


if __name__ == "__main__":
    main()
