"""A caching allocator: device memory is requested in segments and handed out, split and merged, in blocks.

The design is PyTorch's ``CUDACachingAllocator`` (c10/cuda/CUDACachingAllocator.cpp; "CUDA semantics:
memory management" in the PyTorch docs), reduced to what one Python file can show:

- **Rounding.** Requests round up to a multiple of 512 bytes (``round_size``).
- **Two pools.** Blocks of at most 1 MiB come from the *small* pool, carved out of 2 MiB segments;
  larger ones from the *large* pool, whose segments are 20 MiB for requests under 10 MiB and the
  request rounded up to 2 MiB otherwise (``segment_size``). Small and large never share a segment,
  so long-lived small tensors cannot pin a big segment.
- **Best fit.** Each pool keeps its free blocks sorted by ``(stream, size, address)``; a request takes
  the smallest free block of its stream that fits (the lowest address among equals).
- **Split and merge.** A block larger than the request is split when the remainder is worth keeping
  (more than 512 bytes in the small pool, more than 1 MiB in the large one); a freed block merges with
  free neighbours *inside its segment* (blocks of different segments are never adjacent).
- **Streams.** Every block belongs to the stream it was allocated on and is reused only there, with
  no synchronisation (kernels on one stream run in order). A block also used on another stream
  (``record_stream``) is not reusable when freed: an event is recorded on each such stream and the
  block enters the free list when all have completed (``process_events`` at the next allocation).
- **Parking (the fast path).** A freed block is first *parked* under its exact ``(stream, rounded
  size)``: a request of that rounded size pops it back with one dict look-up and a list pop -- no
  sorting, no splitting, no merging. A training step asks for the same sizes in the same order
  every step, so after the first steps every request is served from the park. A request the park
  cannot serve takes the best fit among the merged free blocks, else the smallest parked block
  that fits (split as usual), else the smallest *run* of adjacent parked and free blocks inside one
  segment that holds it (only that run is unparked and merged: ``num_park_merges``), else a new
  segment. The whole park is merged only by a *flush*: ``empty_cache``, ``memory_snapshot`` and the
  out-of-memory retry flush, so the park never causes an out-of-memory error. Flushing whenever a
  request needs a new segment -- the first design -- merged the whole park a dozen times per GPT
  step, and the step took 1.37× as long as on CuPy's pool (H200 run 6 in the level-3 README); never
  merging parked runs held 1.104× CuPy's peak reserved bytes (run 7). (CuPy's ``MemoryPool`` looks
  in the bin of the exact rounded size first too, but merges on every free, as PyTorch does; both
  in compiled code.)
- **Out of memory.** When the raw allocation fails, wait for pending events, release every cached
  segment (``empty_cache``) and retry once; then raise :class:`OutOfMemoryError` naming the requested,
  reserved and allocated bytes.

The raw memory below is pluggable (``raw_alloc(size) -> address``, ``raw_free(address)``), and so are
the events, so the same code runs over ``cudaMalloc`` on the GPU and over a numpy arena on the CPU
(:mod:`hyperion.runtime.memory`), where the tests exercise every line.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KiB, MiB = 1024, 1024 * 1024
MIN_BLOCK = 512  # every size is a multiple of this
SMALL_SIZE = 1 * MiB  # largest request served by the small pool
SMALL_SEGMENT = 2 * MiB  # the small pool's segment size
MIN_LARGE_ALLOC = 10 * MiB  # large requests below this share a LARGE_SEGMENT
LARGE_SEGMENT = 20 * MiB
ROUND_LARGE = 2 * MiB  # larger requests get a segment of their size rounded up to this


class OutOfMemoryError(MemoryError):
    """The raw allocator refused a segment even after the cache was emptied."""


def round_size(size: int) -> int:
    """The request rounded up to a multiple of ``MIN_BLOCK`` (at least one)."""
    if size < 0:
        raise ValueError(f"cannot allocate a negative number of bytes ({size})")
    return max(MIN_BLOCK, -(-size // MIN_BLOCK) * MIN_BLOCK)


def segment_size(size: int) -> int:
    """How many bytes to ask the raw allocator for when no cached block fits a ``size`` request."""
    if size <= SMALL_SIZE:
        return SMALL_SEGMENT
    if size < MIN_LARGE_ALLOC:
        return LARGE_SEGMENT
    return -(-size // ROUND_LARGE) * ROUND_LARGE


@dataclass(eq=False, slots=True)
class Block:
    """A contiguous range ``[address, address + size)`` of one segment, allocated or free."""

    address: int
    size: int
    stream: int  # a CUDA stream pointer (0: the default stream), or any int on the CPU
    small: bool
    segment: int  # the segment's base address
    allocated: bool = False
    requested: int = 0  # bytes asked for (≤ size), for the "allocated" statistics
    prev: Block | None = None  # neighbours inside the segment, in address order
    next: Block | None = None
    uses: set | None = None  # other streams that used it (record_stream)
    pending: int = 0  # events still outstanding before it may be reused
    rounded: int = 0  # the rounded request it was last handed out for: its key in the park
    park_key: tuple[int, int] = (0, 0)  # (stream, rounded), the key itself, built once
    parked: bool = False  # freed into the park (still ``allocated``: nothing merges into it)

    def key(self) -> tuple[int, int, int]:
        return (self.stream, self.size, self.address)


class HostEvents:
    """Events for a device with no asynchrony (the CPU arena): complete as soon as recorded."""

    def record(self, stream: Any) -> Any:
        return None

    def query(self, event: Any) -> bool:
        return True

    def synchronize(self) -> None:
        pass


class CachingAllocator:
    """The allocator over ``raw_alloc``/``raw_free``; ``events`` records and queries stream events."""

    def __init__(
        self,
        raw_alloc: Callable[[int], int],
        raw_free: Callable[[int], None],
        events: Any = None,
        name: str = "device",
        park: bool = True,
        park_large: bool = True,
    ) -> None:
        self.raw_alloc, self.raw_free, self.name, self.park = raw_alloc, raw_free, name, park
        self.park_large = park_large  # False: large-pool blocks merge when freed, only small ones park
        self.events = events if events is not None else HostEvents()
        self.pools: dict[bool, list[tuple]] = {True: [], False: []}  # small? -> sorted free keys
        self.free_blocks: dict[tuple, Block] = {}
        self.active: dict[int, Block] = {}  # address -> allocated block
        self.segments: dict[int, Block] = {}  # base address -> first block
        self.segment_sizes: dict[int, int] = {}  # base address -> bytes
        self.pending_events: list[tuple[Any, Block]] = []
        self.parked: dict[tuple[int, int], list[Block]] = {}  # (stream, rounded size) -> freed blocks
        self.parked_count = 0
        self.stats = _Stats()

    # ---- public API ------------------------------------------------------------------------------
    def malloc(self, size: int, stream: int = 0) -> int:
        """The address of ``size`` bytes usable on ``stream``."""
        if self.pending_events:
            self.process_events()
        rounded = (size + MIN_BLOCK - 1) & -MIN_BLOCK if size > MIN_BLOCK else round_size(size)
        key = (stream, rounded)
        same = self.parked.get(key)
        if same:  # the fast path: a parked block of exactly this rounded size (still marked allocated)
            block = same.pop()
            block.parked = False
            self.parked_count -= 1
        else:
            block = self._take_or_grow(rounded, stream, size)
            block.allocated = True
            block.park_key = key
        block.requested = size
        self.active[block.address] = block
        # the statistics, inline (this runs once per allocation: ~600 times per GPT step)
        st = self.stats
        st.allocated += block.size
        st.requested += size
        st.allocations += 1
        if st.allocated >= st.allocated_peak:
            st.allocated_peak, st.reserved_at_allocated_peak = st.allocated, st.reserved
        if st.requested > st.requested_peak:
            st.requested_peak = st.requested
        if st.allocations > st.allocations_peak:
            st.allocations_peak = st.allocations
        return block.address

    def free(self, address: int, device_id: int = 0) -> None:
        """Give a block back to the cache (the memory stays reserved; see :meth:`empty_cache`).
        ``device_id`` is ignored (CuPy's ``PythonFunctionAllocator`` passes it)."""
        block = self.active.pop(address, None)
        if block is None:
            raise ValueError(f"free({address:#x}): not an address this allocator handed out")
        st = self.stats
        st.allocated -= block.size
        st.freed_total += block.size
        st.requested -= block.requested
        st.allocations -= 1
        st.frees_total += 1
        if block.uses:
            block.allocated = False
            for stream in block.uses:
                self.pending_events.append((self.events.record(stream), block))
            block.pending, block.uses = len(block.uses), None
            return
        if not self.park or (not self.park_large and block.rounded > SMALL_SIZE):
            block.allocated = False
            self._release(block)
            return
        # parked: still ``allocated`` to everything but the statistics, so nothing merges into it
        block.parked = True
        self.parked_count += 1
        same = self.parked.get(block.park_key)
        if same is None:
            self.parked[block.park_key] = [block]
        else:
            same.append(block)

    def flush(self) -> None:
        """Merge every parked block with its free neighbours and list it for best fit."""
        if not self.parked_count:
            return
        parked, self.parked, self.parked_count = self.parked, {}, 0
        self.stats.counters["num_park_flushes"] += 1  # ours: empty_cache, snapshots, out-of-memory retries
        for blocks in parked.values():
            for block in blocks:
                block.allocated = block.parked = False
                self._release(block)

    def record_stream(self, address: int, stream: int) -> None:
        """Mark the block at ``address`` as used on ``stream`` too: it is reused only after ``stream``
        has finished the work queued when it is freed."""
        block = self.active.get(address)
        if block is None:
            raise ValueError(f"record_stream({address:#x}): not an allocated block")
        if stream != block.stream:
            block.uses = (block.uses or set()) | {stream}

    def process_events(self) -> None:
        """Move blocks whose cross-stream events have all completed into the free lists."""
        still = []
        for event, block in self.pending_events:
            if self.events.query(event):
                block.pending -= 1
                if block.pending == 0:
                    self._release(block)
            else:
                still.append((event, block))
        self.pending_events = still

    def empty_cache(self) -> None:
        """Return every segment that is entirely free to the raw allocator."""
        self.flush()
        for base, first in list(self.segments.items()):
            if first.next is None and not first.allocated and first.pending == 0:
                self._unlist(first)
                del self.segments[base], self.segment_sizes[base]
                self.raw_free(base)
                self.stats.on_segment_free(first)

    def memory_stats(self) -> dict[str, int]:
        """Counters named as ``torch.cuda.memory_stats()`` names them (the ``all`` pool)."""
        return self.stats.as_dict()

    def memory_snapshot(self) -> list[dict]:
        """One dict per segment with its blocks, in the shape of ``torch.cuda.memory_snapshot()``
        (parked blocks are flushed first, so free neighbours show merged)."""
        self.flush()
        out = []
        for base in sorted(self.segments):
            blocks, block = [], self.segments[base]
            while block is not None:
                state = "active_allocated" if block.allocated else "inactive"
                if block.pending:
                    state = "active_pending_free"
                blocks.append({"address": block.address, "size": block.size, "state": state,
                               "requested_size": block.requested if block.allocated else 0})
                block = block.next
            total = sum(b["size"] for b in blocks)
            used = sum(b["size"] for b in blocks if b["state"] == "active_allocated")
            first = self.segments[base]
            out.append({"device": self.name, "address": base, "total_size": total,
                        "allocated_size": used, "active_size": used,
                        "stream": first.stream, "segment_type": "small" if first.small else "large",
                        "blocks": blocks})
        return out

    # ---- the parts -----------------------------------------------------------------------------
    def _take_or_grow(self, rounded: int, stream: int, requested: int) -> Block:
        """The slow path: the best fit among the merged free blocks, else the smallest parked block
        that fits, else a new segment (whose out-of-memory retry flushes the park). Then split."""
        small = rounded <= SMALL_SIZE
        block = self._take_best_fit(rounded, stream, small)
        from_park = block is None and self.parked_count > 0
        if from_park:
            block = self._take_parked_fit(rounded, stream, small)
            if block is None:
                block = self._merge_parked_run(rounded, stream, small)
        if block is None:
            block = self._new_segment(rounded, stream, small, requested)
        block = self._split(block, rounded)
        block.allocated = True  # before merging the remainder: the block itself must stay out
        rest = block.next
        if from_park and rest is not None and not rest.allocated and rest.pending == 0:
            self._unlist(rest)  # a remainder beside a free block: merge them, as a free does
            self._release(rest)
        block.rounded = rounded
        return block

    def _take_parked_fit(self, rounded: int, stream: int, small: bool) -> Block | None:
        """Unpark the smallest parked block of ``stream`` and the pool that holds ``rounded`` bytes."""
        best = None
        for (s, size), blocks in self.parked.items():
            if blocks and s == stream and size >= rounded and (size <= SMALL_SIZE) == small \
                    and (best is None or size < best):
                best = size
        if best is None:
            return None
        block = self.parked[(stream, best)].pop()
        self.parked_count -= 1
        block.allocated = block.parked = False
        return block

    def _merge_parked_run(self, rounded: int, stream: int, small: bool) -> Block | None:
        """Before a new segment: the smallest run of adjacent free and parked blocks of ``stream`` and
        the pool, inside one segment, that holds ``rounded`` bytes -- its parked blocks unparked and
        the run merged into one free block, taken out of the free lists. Only that run is merged, so
        the rest of the park keeps serving its sizes."""
        best_total, best_run = 0, None
        for base, first in self.segments.items():
            if self.segment_sizes[base] < rounded or first.stream != stream or first.small != small:
                continue
            run: list[Block] = []
            total, block = 0, first
            while True:
                if block is not None and (block.parked or (not block.allocated and block.pending == 0)):
                    run.append(block)
                    total += block.size
                else:
                    if total >= rounded and (best_run is None or total < best_total):
                        best_total, best_run = total, run
                    if block is None:
                        break
                    run, total = [], 0
                block = block.next
        if best_run is None:
            return None
        merged = best_run[0]
        for block in best_run:
            if block.parked:
                self.parked[(block.stream, block.rounded)].remove(block)
                self.parked_count -= 1
                block.allocated = block.parked = False
                merged = self._merge(block)  # absorbs its free neighbours of the run
        self._unlist(merged)  # (a run of one free block is still listed)
        self.stats.counters["num_park_merges"] += 1
        return merged

    def _take_best_fit(self, size: int, stream: int, small: bool) -> Block | None:
        """Take the free block of ``stream`` in the pool with the smallest ``(size, address)`` ≥ ``size``
        out of the free lists (None when there is none)."""
        pool = self.pools[small]
        i = bisect.bisect_left(pool, (stream, size, -1))
        if i < len(pool) and pool[i][0] == stream:
            return self.free_blocks.pop(pool.pop(i))
        return None

    def _new_segment(self, rounded: int, stream: int, small: bool, requested: int) -> Block:
        want = segment_size(rounded)
        try:
            base = self.raw_alloc(want)
        except MemoryError:
            self.stats.counters["num_alloc_retries"] += 1
            self.events.synchronize()
            self.process_events()
            self.empty_cache()
            try:
                base = self.raw_alloc(want)
            except MemoryError:
                self.stats.counters["num_ooms"] += 1
                raise OutOfMemoryError(
                    f"{self.name}: out of memory allocating {requested} bytes (a {want}-byte segment); "
                    f"reserved {self.stats.reserved} bytes, allocated {self.stats.allocated} bytes "
                    "(free cached segments were released first)"
                ) from None
        block = Block(base, want, stream, small, base)
        self.segments[base], self.segment_sizes[base] = block, want
        self.stats.on_segment_alloc(block)
        return block

    def _split(self, block: Block, size: int) -> Block:
        """Task 3.9: cut ``block`` to ``size`` bytes when the remainder is worth keeping.

        The remainder (``block.size - size`` bytes, starting at ``block.address + size``) becomes a
        new free :class:`Block` of the same stream, pool and segment, linked between ``block`` and
        its old ``next`` neighbour, and goes into the free lists (``self._list``). Keep it when it is
        more than ``MIN_BLOCK`` bytes in the small pool, more than ``SMALL_SIZE`` in the large pool
        (PyTorch's rule: a sliver of a large segment is not worth a block). Returns ``block``.
        """
        # BEGIN SOLUTION
        remaining = block.size - size
        if remaining > (MIN_BLOCK if block.small else SMALL_SIZE):
            rest = Block(block.address + size, remaining, block.stream, block.small, block.segment,
                         prev=block, next=block.next)
            if block.next is not None:
                block.next.prev = rest
            block.next, block.size = rest, size
            self._list(rest)
        return block
        # END SOLUTION

    def _release(self, block: Block) -> None:
        """A block nobody uses any more: merge it with free neighbours and list it."""
        block = self._merge(block)
        self._list(block)

    def _merge(self, block: Block) -> Block:
        """Task 3.9: absorb ``block``'s free neighbours (same segment) and return the merged block.

        A neighbour (``block.prev`` or ``block.next``) can be absorbed when it is neither allocated
        nor waiting for events (``pending == 0``). Take it out of the free lists (``self._unlist``),
        grow the surviving block to cover both ranges (the lower address survives) and relink the
        neighbours so that no two adjacent blocks of a segment are both free afterwards.
        """
        # BEGIN SOLUTION
        nxt = block.next
        if nxt is not None and not nxt.allocated and nxt.pending == 0:
            self._unlist(nxt)
            block.size += nxt.size
            block.next = nxt.next
            if nxt.next is not None:
                nxt.next.prev = block
        prev = block.prev
        if prev is not None and not prev.allocated and prev.pending == 0:
            self._unlist(prev)
            prev.size += block.size
            prev.next = block.next
            if block.next is not None:
                block.next.prev = prev
            block = prev
        return block
        # END SOLUTION

    def _list(self, block: Block) -> None:
        key = block.key()
        bisect.insort(self.pools[block.small], key)
        self.free_blocks[key] = block

    def _unlist(self, block: Block) -> None:
        key = block.key()
        pool = self.pools[block.small]
        i = bisect.bisect_left(pool, key)
        if i < len(pool) and pool[i] == key:
            pool.pop(i)
            del self.free_blocks[key]


class _Stats:
    """Plain counters, updated inline by ``malloc`` and ``free``; :meth:`as_dict` names them as
    ``torch.cuda.memory_stats()`` does (the ``all`` pool; ``active`` = ``allocated`` here: a block is
    active exactly while allocated)."""

    def __init__(self) -> None:
        self.allocated = self.allocated_peak = self.freed_total = 0  # cumulative allocated: freed + current
        self.requested = self.requested_peak = 0
        self.allocations = self.allocations_peak = self.frees_total = 0
        self.reserved = self.reserved_peak = self.segments = self.segments_peak = 0
        self.reserved_at_allocated_peak = 0  # ours, not PyTorch's: fragmentation at the peak
        self.counters = {"num_alloc_retries": 0, "num_ooms": 0, "num_device_alloc": 0, "num_device_free": 0,
                         "num_park_flushes": 0,  # ours: empty_cache, snapshots, out-of-memory retries
                         "num_park_merges": 0}  # ours: runs of parked blocks merged instead of a new segment

    def on_segment_alloc(self, block: Block) -> None:
        self.reserved += block.size
        self.segments += 1
        self.reserved_peak = max(self.reserved_peak, self.reserved)
        self.segments_peak = max(self.segments_peak, self.segments)
        self.counters["num_device_alloc"] += 1

    def on_segment_free(self, block: Block) -> None:
        self.reserved -= block.size
        self.segments -= 1
        self.counters["num_device_free"] += 1

    def as_dict(self) -> dict[str, int]:
        out = dict(self.counters)
        for name in ("allocated_bytes", "active_bytes"):
            out.update({f"{name}.all.current": self.allocated, f"{name}.all.peak": self.allocated_peak,
                        f"{name}.all.allocated": self.freed_total + self.allocated,
                        f"{name}.all.freed": self.freed_total})
        out.update({
            "requested_bytes.all.current": self.requested, "requested_bytes.all.peak": self.requested_peak,
            "allocation.all.current": self.allocations, "allocation.all.peak": self.allocations_peak,
            "allocation.all.allocated": self.frees_total + self.allocations,
            "reserved_bytes.all.current": self.reserved, "reserved_bytes.all.peak": self.reserved_peak,
            "segment.all.current": self.segments, "segment.all.peak": self.segments_peak,
            "reserved_bytes_at_allocated_peak": self.reserved_at_allocated_peak,
        })
        return dict(sorted(out.items()))
