"""Host microseconds per malloc + free of the caching allocator, the park on and off, side by side.

    python -m hyperion.runtime.bench_alloc --repeats 7
    python -m hyperion.runtime.bench_alloc --trace results/cpu-alloc-trace-2026-12-04/gpt_b32_t256_2steps.json.gz

The allocator's cost on the GPU step is Python time: CuPy calls it for every array (about 750 per
GPT step at B=32, T=256). This replays one step-shaped allocation trace (:func:`step_trace`: a
forward that keeps its activations and frees temporaries, a backward that frees them in reverse
while allocating gradients) through :class:`~hyperion.runtime.allocator.CachingAllocator` over fake
raw memory (no device, no CuPy), with the park (exact-size reuse, the fast path) and without it
(merge and best fit on every free, the design before the park), interleaved repeat by repeat.
With ``--trace``, a recorded trace (the CPU GPT step's numpy allocations, :mod:`.alloc_trace`) is
replayed through ours and through :class:`CupyPoolModel`, the bookkeeping of CuPy's pool, the
issue's yardstick for peak reserved bytes (its µs are Python's, not CuPy's Cython).
"""

from __future__ import annotations

import argparse
import bisect
import json
import statistics
import time
from typing import Any

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


class _Chunk:
    __slots__ = ("address", "size", "segment", "prev", "next", "free")

    def __init__(self, address: int, size: int, segment: int) -> None:
        self.address, self.size, self.segment = address, size, segment
        self.prev: _Chunk | None = None
        self.next: _Chunk | None = None
        self.free = False


class CupyPoolModel:
    """CuPy's ``SingleDeviceMemoryPool`` (cupy/cuda/memory.pyx), its bookkeeping over fake addresses, one
    stream: sizes round up to 512 bytes; free chunks sit in bins of one rounded size each ((size - 1)
    // 512), and a request takes a chunk from the smallest non-empty bin of its size or larger (CuPy
    pops a set, we pop a list: the chunk it picks among equals may differ); a larger chunk is split and
    the remainder binned, however small; a freed chunk merges with free neighbours of the same
    ``cudaMalloc``; no chunk fits: ``cudaMalloc`` of the rounded request itself (no segments).
    ``total_bytes`` is what CuPy's ``MemoryPool.total_bytes()`` reports (nothing is ever released here)."""

    UNIT = 512

    def __init__(self) -> None:
        self.bins: dict[int, list[_Chunk]] = {}
        self.index: list[int] = []  # sorted bin numbers that have a list
        self.in_use: dict[int, _Chunk] = {}
        self.total_bytes = self.mallocs = 0
        self.next_address = 1 << 40

    def malloc(self, size: int) -> int:
        size = max(self.UNIT, -(-size // self.UNIT) * self.UNIT)
        chunk = None
        for b in self.index[bisect.bisect_left(self.index, (size - 1) // self.UNIT):]:
            if self.bins[b]:
                chunk = self.bins[b].pop()
                break
        if chunk is None:
            chunk = _Chunk(self.next_address, size, self.next_address)
            self.next_address += size + (1 << 30)
            self.total_bytes += size
            self.mallocs += 1
        elif chunk.size > size:  # split: the remainder goes back to its bin
            rest = _Chunk(chunk.address + size, chunk.size - size, chunk.segment)
            rest.prev, rest.next = chunk, chunk.next
            if chunk.next is not None:
                chunk.next.prev = rest
            chunk.next, chunk.size = rest, size
            self._bin(rest)
        chunk.free = False
        self.in_use[chunk.address] = chunk
        return chunk.address

    def free(self, address: int) -> None:
        chunk = self.in_use.pop(address)
        nxt = chunk.next
        if nxt is not None and nxt.free:
            self._unbin(nxt)
            chunk.size += nxt.size
            chunk.next = nxt.next
            if nxt.next is not None:
                nxt.next.prev = chunk
        prev = chunk.prev
        if prev is not None and prev.free:
            self._unbin(prev)
            prev.size += chunk.size
            prev.next = chunk.next
            if chunk.next is not None:
                chunk.next.prev = prev
            chunk = prev
        self._bin(chunk)

    def _bin(self, chunk: _Chunk) -> None:
        b = (chunk.size - 1) // self.UNIT
        if b not in self.bins:
            bisect.insort(self.index, b)
            self.bins[b] = []
        self.bins[b].append(chunk)
        chunk.free = True

    def _unbin(self, chunk: _Chunk) -> None:
        self.bins[(chunk.size - 1) // self.UNIT].remove(chunk)
        chunk.free = False


def compare_on_trace(events: list[tuple[str, int]], replays: int = 3, repeats: int = 3) -> dict:
    """Peak reserved bytes and µs per malloc + free of CuPy's pool (the model above), ours with the
    park and ours merging on every free, each replaying ``events`` ``replays`` times from empty (the
    peak includes the first replay, as a training run's does), then timed over ``repeats`` more
    replays each, interleaved."""
    variants = {"ours": {}, "ours, park small only": {"park_large": False}, "ours, no park": {"park": False}}
    raws = {name: _FakeRaw() for name in variants}
    pools: dict[str, Any] = {"CuPy pool (model)": CupyPoolModel()}
    pools.update({name: CachingAllocator(raws[name].alloc, raws[name].free, **options)
                  for name, options in variants.items()})
    for pool in pools.values():
        for _ in range(replays):
            mallocs = replay(pool, events)
    before = pools["ours"].memory_stats()
    times: dict[str, list[float]] = {name: [] for name in pools}
    for _ in range(repeats):
        for name, pool in pools.items():
            t = time.perf_counter()
            replay(pool, events)
            times[name].append((time.perf_counter() - t) / mallocs * 1e6)
    cupy_peak = pools["CuPy pool (model)"].total_bytes
    out: dict[str, Any] = {"mallocs_per_replay": mallocs}
    for name, pool in pools.items():
        peak = pool.total_bytes if isinstance(pool, CupyPoolModel) else pool.memory_stats()["reserved_bytes.all.peak"]
        out[name] = {"peak_reserved_bytes": peak, "over_cupy": peak / cupy_peak,
                     "us_per_pair": statistics.median(times[name]), "us_all": times[name]}
    ours = pools["ours"].memory_stats()
    out["ours"].update({f"{name}_{when}": ours[f"num_{name}"] - (before[f"num_{name}"] if when == "timed" else 0)
                        for name in ("park_flushes", "park_merges", "device_alloc") for when in ("timed", "total")})
    return out


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
    parser.add_argument("--trace", help="a recorded trace (hyperion.runtime.alloc_trace): compare the peak "
                        "reserved and µs per malloc + free with CuPy's pool (CupyPoolModel) on it")
    args = parser.parse_args(argv)
    if args.trace:
        from hyperion.runtime.alloc_trace import load, trace_summary

        events = load(args.trace)
        print(json.dumps({"trace": trace_summary(events), **compare_on_trace(events, repeats=args.repeats)},
                         indent=1))
        return
    print(json.dumps(measure(args.repeats, args.steps), indent=1))


if __name__ == "__main__":
    main()
