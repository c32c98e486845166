"""The caching allocator on fake raw memory and on the numpy arena (CPU: every line runs in CI)."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperion.runtime import memory
from hyperion.runtime.allocator import (
    MIN_BLOCK,
    SMALL_SEGMENT,
    CachingAllocator,
    MiB,
    OutOfMemoryError,
    round_size,
    segment_size,
)


class FakeRaw:
    """Raw device memory: distinct, far-apart addresses; optionally a capacity."""

    def __init__(self, capacity: int | None = None) -> None:
        self.next, self.live, self.capacity = 1 << 40, {}, capacity

    def alloc(self, size: int) -> int:
        if self.capacity is not None and sum(self.live.values()) + size > self.capacity:
            raise MemoryError("fake device full")
        address, self.next = self.next, self.next + size + (1 << 30)
        self.live[address] = size
        return address

    def free(self, address: int) -> None:
        del self.live[address]


class ManualEvents:
    """Events that complete only when the test says their stream has caught up."""

    def __init__(self) -> None:
        self.count, self.done_upto = 0, {}

    def record(self, stream):
        self.count += 1
        return (stream, self.count)

    def query(self, event) -> bool:
        stream, n = event
        return self.done_upto.get(stream, 0) >= n

    def complete(self, stream) -> None:
        self.done_upto[stream] = self.count

    def synchronize(self) -> None:
        for stream in {0, 1, *self.done_upto}:
            self.complete(stream)


def make(capacity: int | None = None, events=None, park: bool = True,
         park_large: bool = True) -> tuple[CachingAllocator, FakeRaw]:
    raw = FakeRaw(capacity)
    return CachingAllocator(raw.alloc, raw.free, events, park=park, park_large=park_large), raw


def test_sizes_round_and_pick_their_pool():
    assert [round_size(n) for n in (0, 1, 512, 513, 1000)] == [512, 512, 512, 1024, 1024]
    assert segment_size(1) == segment_size(MiB) == SMALL_SEGMENT
    assert segment_size(MiB + 512) == segment_size(10 * MiB - 512) == 20 * MiB
    assert segment_size(10 * MiB) == 10 * MiB and segment_size(15 * MiB + 1) == 16 * MiB
    with pytest.raises(ValueError, match="negative"):
        round_size(-1)


def test_fragmentation_free_small_then_allocate_large_reserves_256_mib():
    """16 MiB blocks each get their own segment; freed, no two merge (different segments), so
    32 MiB requests need 4 new segments: 8×16 + 4×32 = 256 MiB reserved."""
    alloc, _ = make()
    blocks = [alloc.malloc(16 * MiB) for _ in range(8)]
    for b in blocks:
        alloc.free(b)
    for _ in range(4):
        alloc.malloc(32 * MiB)
    assert alloc.memory_stats()["reserved_bytes.all.current"] == 256 * MiB


def test_fragmentation_the_reverse_order_reuses_by_splitting_128_mib():
    alloc, _ = make()
    blocks = [alloc.malloc(32 * MiB) for _ in range(4)]
    for b in blocks:
        alloc.free(b)
    for _ in range(8):
        alloc.malloc(16 * MiB)
    stats = alloc.memory_stats()
    assert stats["reserved_bytes.all.current"] == 128 * MiB
    assert stats["num_device_alloc"] == 4
    assert stats["reserved_bytes_at_allocated_peak"] == stats["allocated_bytes.all.peak"] == 128 * MiB


def test_small_blocks_split_one_segment_and_merge_back():
    alloc, raw = make(park=False)  # merge and best fit on every free
    a, b, c = (alloc.malloc(1000), alloc.malloc(100_000), alloc.malloc(5000))
    assert len(raw.live) == 1 and b == a + 1024 and c == b + round_size(100_000)
    alloc.free(b)
    assert alloc.malloc(90_000) == b  # best fit: the freed hole, not the segment's tail
    alloc.free(b)
    alloc.free(a)
    alloc.free(c)
    [segment] = alloc.memory_snapshot()
    assert segment["blocks"] == [{"address": a, "size": SMALL_SEGMENT, "state": "inactive", "requested_size": 0}]
    alloc.empty_cache()
    assert raw.live == {} and alloc.memory_stats()["reserved_bytes.all.current"] == 0


def test_best_fit_takes_the_smallest_block_then_the_lowest_address():
    alloc, _ = make(park=False)
    xs = [alloc.malloc(n) for n in (4096, 512, 2048, 512, 2048, 512)]
    for i in (0, 2, 4):
        alloc.free(xs[i])  # holes of 4096, 2048, 2048 bytes between allocated 512-byte blocks
    assert alloc.malloc(1500) == xs[2]
    assert alloc.malloc(1500) == xs[4]
    assert alloc.malloc(1500) == xs[0]


def test_a_freed_block_is_parked_and_an_exact_size_takes_it_back_without_sorting():
    alloc, raw = make()
    a, b, c = (alloc.malloc(1000), alloc.malloc(100_000), alloc.malloc(5000))
    alloc.free(b)
    assert alloc.parked_count == 1 and alloc.free_blocks.keys() == {(0, SMALL_SEGMENT - 1024 - 100352 - 5120,
                                                                       c + 5120)}
    assert alloc.malloc(99_900) == b  # rounds to b's 100352 bytes: the park, one dict look-up
    assert alloc.parked_count == 0 and alloc.memory_stats()["num_park_flushes"] == 0
    alloc.free(b)
    assert alloc.malloc(90_000) == c + 5120  # another size: best fit among merged blocks (the tail)
    alloc.free(a)
    [segment] = alloc.memory_snapshot()  # the snapshot flushes: a and the hole b merged, tail still in use
    assert segment["blocks"][0] == {"address": a, "size": 1024 + 100352, "state": "inactive", "requested_size": 0}
    assert alloc.parked_count == 0 and alloc.memory_stats()["num_park_flushes"] == 1


def test_with_park_large_off_only_small_blocks_park_and_a_large_one_merges_at_once():
    alloc, raw = make(park_large=False)
    small, large = alloc.malloc(100_000), alloc.malloc(12 * MiB)
    alloc.malloc(12 * MiB)  # keeps a second large segment in use
    alloc.free(small)
    assert alloc.parked_count == 1  # the small pool parks as before
    alloc.free(large)
    assert alloc.parked_count == 1 and large not in alloc.active  # merged and listed for best fit
    assert alloc.malloc(5 * MiB) == large  # another size takes it at once: nothing waits in the park
    assert alloc.memory_stats()["num_park_flushes"] == 0
    for address in list(alloc.active):
        alloc.free(address)
    alloc.empty_cache()
    assert raw.live == {}


def test_a_request_no_block_fits_grows_and_the_out_of_memory_retry_flushes_the_park():
    alloc, raw = make()
    xs = [alloc.malloc(512 * 1024) for _ in range(4)]  # one 2 MiB small segment, full
    alloc.free(xs[0])
    alloc.free(xs[2])  # two parked 512 KiB blocks, not adjacent
    y = alloc.malloc(MiB)  # no block, parked block or run of them fits: a new segment, the park untouched
    stats = alloc.memory_stats()
    assert len(raw.live) == 2 and alloc.parked_count == 2
    assert stats["num_park_flushes"] == 0 and stats["num_park_merges"] == 0
    alloc.free(y)
    tight, raw = make(capacity=24 * MiB)
    tight.free(tight.malloc(12 * MiB))  # a 12 MiB segment, its block parked
    tight.malloc(12 * MiB + 512)  # needs 14 MiB more, over capacity: flush, release the 12 MiB, retry
    stats = tight.memory_stats()
    assert stats["num_alloc_retries"] == 1 and stats["num_park_flushes"] == 1 and len(raw.live) == 1


def test_adjacent_parked_blocks_are_merged_before_the_cache_grows():
    alloc, raw = make()
    a, b, c, d = (alloc.malloc(4 * MiB) for _ in range(4))  # one 20 MiB segment, a 4 MiB free tail
    alloc.free(a)
    alloc.free(c)  # parked, each between allocated blocks: no run of 12 MiB
    e = alloc.malloc(12 * MiB)  # a segment of its own, exactly 12 MiB
    assert len(raw.live) == 2 and alloc.memory_stats()["num_park_merges"] == 0
    alloc.free(d)  # c, d and the free tail: a run of 12 MiB inside the first segment
    assert alloc.malloc(12 * MiB) == c  # that run, merged: no third segment
    stats = alloc.memory_stats()
    assert len(raw.live) == 2 and stats["num_park_merges"] == 1 and stats["num_park_flushes"] == 0
    assert alloc.parked_count == 1 and alloc.malloc(4 * MiB) == a  # the rest of the park (a) still serves
    alloc.free(e)
    first, second = alloc.memory_snapshot()
    assert [(blk["size"], blk["state"]) for blk in first["blocks"]] == [
        (4 * MiB, "active_allocated"), (4 * MiB, "active_allocated"), (12 * MiB, "active_allocated")]
    assert [blk["state"] for blk in second["blocks"]] == ["inactive"]


def test_a_parked_block_that_fits_is_split_before_the_cache_grows():
    alloc, raw = make()
    x = alloc.malloc(40 * MiB)
    alloc.free(x)
    a, b = alloc.malloc(16 * MiB), alloc.malloc(16 * MiB)  # the parked 40 MiB block, split twice
    assert (a, b) == (x, x + 16 * MiB) and len(raw.live) == 1
    [segment] = alloc.memory_snapshot()
    assert [blk["state"] for blk in segment["blocks"]] == ["active_allocated", "active_allocated", "inactive"]


def test_a_repeated_step_is_served_from_the_park_after_warm_up():
    from hyperion.runtime.bench_alloc import replay, step_trace

    alloc, raw = make()
    events = step_trace()  # 6 layers: converges after 2 steps (1 or 2 layers keep one flush a step)
    for _ in range(3):
        replay(alloc, events)
    stats = alloc.memory_stats()
    replay(alloc, events)
    after = alloc.memory_stats()
    for key in ("num_park_flushes", "num_device_alloc"):
        assert after[key] == stats[key], key
    mallocs = sum(kind == "alloc" for kind, _ in events)
    assert after["allocation.all.allocated"] - stats["allocation.all.allocated"] == mallocs


def test_a_large_remainder_under_1_mib_is_not_split_off():
    alloc, _ = make()
    x = alloc.malloc(12 * MiB)
    alloc.free(x)
    assert alloc.malloc(11 * MiB + 512) == x
    [segment] = alloc.memory_snapshot()
    assert len(segment["blocks"]) == 1  # 12 MiB - (11 MiB + 512) < 1 MiB stays with the block


def test_streams_do_not_share_free_blocks():
    alloc, raw = make()
    x = alloc.malloc(1000, stream=0)
    alloc.free(x)
    y = alloc.malloc(1000, stream=1)
    assert y != x and len(raw.live) == 2


def test_a_block_used_on_another_stream_waits_for_its_event():
    events = ManualEvents()
    alloc, _ = make(events=events)
    x = alloc.malloc(4096, stream=0)
    alloc.record_stream(x, 1)
    alloc.free(x)
    assert alloc.malloc(4096, stream=0) != x  # stream 1 may still be reading it
    assert alloc.memory_snapshot()[0]["blocks"][0]["state"] == "active_pending_free"
    events.complete(1)
    assert alloc.malloc(4096, stream=0) == x


def test_host_events_complete_at_once_and_record_stream_names_a_bad_address():
    alloc, _ = make()  # default events: the CPU arena's, with no asynchrony
    x = alloc.malloc(4096, stream=0)
    alloc.record_stream(x, 1)
    alloc.free(x)  # pending until its event on stream 1 is seen complete: at the next malloc
    assert alloc.malloc(4096, stream=0) == x
    with pytest.raises(ValueError, match="not an allocated block"):
        alloc.record_stream(x + 512, 1)


def test_out_of_memory_flushes_the_cache_retries_then_names_the_bytes():
    alloc, raw = make(capacity=64 * MiB)
    x = alloc.malloc(40 * MiB)
    alloc.free(x)  # cached: 40 MiB reserved, nothing allocated
    y = alloc.malloc(50 * MiB)  # fails raw, empties the cache, succeeds on the retry
    stats = alloc.memory_stats()
    assert stats["num_alloc_retries"] == 1 and stats["reserved_bytes.all.current"] == 50 * MiB
    oom = r"allocating 31457280 bytes.*reserved 52428800 bytes, allocated 52428800"
    with pytest.raises(OutOfMemoryError, match=oom):
        alloc.malloc(30 * MiB)
    assert alloc.memory_stats()["num_ooms"] == 1
    alloc.free(y)
    with pytest.raises(ValueError, match="not an address"):
        alloc.free(y)


# ---- the property test ---------------------------------------------------------------------------
SIZES = st.one_of(st.integers(1, 4096), st.integers(4096, 2 * MiB), st.integers(2 * MiB, 24 * MiB))
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), SIZES, st.integers(0, 1)),
        st.tuples(st.just("free"), st.integers(0, 10**6), st.just(0)),
        st.tuples(st.just("use"), st.integers(0, 10**6), st.integers(0, 1)),
        st.tuples(st.just("sync"), st.just(0), st.integers(0, 1)),
    ),
    max_size=60,
)


def check_invariants(alloc: CachingAllocator, raw: FakeRaw, live: dict[int, tuple[int, int]]) -> None:
    stats = alloc.memory_stats()
    spans = sorted((a, a + round_size(n)) for a, (n, _) in live.items())
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:])), "allocations overlap"
    assert stats["allocated_bytes.all.current"] == sum(b.size for b in alloc.active.values())
    assert stats["requested_bytes.all.current"] == sum(n for n, _ in live.values())
    assert stats["reserved_bytes.all.current"] == sum(raw.live.values())
    for segment in alloc.memory_snapshot():
        blocks = segment["blocks"]
        assert blocks[0]["address"] == segment["address"] and segment["total_size"] == raw.live[segment["address"]]
        for left, right in zip(blocks, blocks[1:]):
            assert left["address"] + left["size"] == right["address"], "blocks do not tile the segment"
            assert not (left["state"] == right["state"] == "inactive"), "two free neighbours not merged"
        for block in blocks:
            assert block["size"] % MIN_BLOCK == 0


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_random_alloc_free_over_two_streams(ops):
    events = ManualEvents()
    alloc, raw = make(events=events)
    live: dict[int, tuple[int, int]] = {}  # address -> (requested bytes, stream)
    for op, value, stream in ops:
        if op == "alloc":
            live[alloc.malloc(value, stream)] = (value, stream)
        elif op == "free" and live:
            address = sorted(live)[value % len(live)]
            alloc.free(address)
            del live[address]
        elif op == "use" and live:
            alloc.record_stream(sorted(live)[value % len(live)], stream)
        elif op == "sync":
            events.complete(stream)
        check_invariants(alloc, raw, live)
    for address in list(live):
        alloc.free(address)
    events.synchronize()
    alloc.process_events()
    check_invariants(alloc, raw, {})
    # every freed byte is reusable: each segment merged back into one free block of its full size
    segments = alloc.memory_snapshot()
    assert all(len(s["blocks"]) == 1 and s["blocks"][0]["state"] == "inactive" for s in segments)
    before = alloc.memory_stats()["num_device_alloc"]
    for s in segments:
        if s["segment_type"] == "large":
            assert alloc.malloc(s["total_size"], s["stream"]) == s["address"]
    assert alloc.memory_stats()["num_device_alloc"] == before
    for address in list(alloc.active):
        alloc.free(address)
    alloc.empty_cache()
    assert raw.live == {} and alloc.memory_stats()["reserved_bytes.all.current"] == 0


@pytest.mark.parametrize("park_large", [True, False])
@settings(max_examples=60, deadline=None)
@given(OPS)
def test_random_alloc_free_with_the_park_in_use(park_large, ops):
    """The same random programme, looking only at addresses and counters between operations (the
    snapshot flushes the park, so it is taken only at the end): no overlap, nothing lost."""
    events = ManualEvents()
    alloc, raw = make(events=events, park_large=park_large)
    live: dict[int, tuple[int, int]] = {}
    for op, value, stream in ops:
        if op == "alloc":
            address = alloc.malloc(value, stream)
            assert address not in live
            live[address] = (value, stream)
        elif op == "free" and live:
            address = sorted(live)[value % len(live)]
            alloc.free(address)
            del live[address]
        elif op == "use" and live:
            alloc.record_stream(sorted(live)[value % len(live)], stream)
        elif op == "sync":
            events.complete(stream)
        spans = sorted((a, a + round_size(n)) for a, (n, _) in live.items())
        assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:])), "allocations overlap"
        assert alloc.memory_stats()["requested_bytes.all.current"] == sum(n for n, _ in live.values())
        parked = [block for blocks in alloc.parked.values() for block in blocks]
        assert len(parked) == alloc.parked_count and len({id(b) for b in parked}) == len(parked)
        assert all(b.parked and b.allocated and b.address not in alloc.active for b in parked)
    check_invariants(alloc, raw, live)
    for address in list(live):
        alloc.free(address)
    events.synchronize()
    alloc.process_events()
    check_invariants(alloc, raw, {})
    alloc.empty_cache()
    assert raw.live == {} and alloc.parked_count == 0


# ---- the CPU twin: numpy arrays in one arena -----------------------------------------------------
def test_host_arrays_live_in_the_arena_and_free_when_garbage():
    host = memory.HostAllocator(capacity=8 * MiB)
    a = host.empty((100, 10), np.float32)
    a[...] = np.arange(1000, dtype=np.float32).reshape(100, 10)
    view = a.T
    del a
    gc.collect()
    assert host.memory_stats()["allocation.all.current"] == 1  # the view keeps the block
    np.testing.assert_array_equal(view.T.ravel(), np.arange(1000, dtype=np.float32))
    assert np.shares_memory(view, host.arena.buffer)
    del view
    gc.collect()
    assert host.memory_stats()["allocation.all.current"] == 0
    host.empty_cache()
    assert host.arena.free_ranges == [(0, 8 * MiB)]


def test_the_arena_runs_out_and_says_so():
    host = memory.HostAllocator(capacity=32 * MiB)
    keep = [host.empty((12 * MiB,), np.uint8) for _ in range(2)]
    with pytest.raises(OutOfMemoryError, match="cpu: out of memory allocating 12582912 bytes.*reserved 25165824"):
        host.empty((12 * MiB,), np.uint8)
    del keep


def test_arena_first_fit_coalesces_both_sides():
    arena = memory.Arena(4096)
    a, b, c = arena.alloc(1000), arena.alloc(512), arena.alloc(512)
    assert (a, b, c) == (0, 1024, 1536)
    arena.free(a)
    arena.free(c)
    arena.free(b)
    assert arena.free_ranges == [(0, 4096)]
    with pytest.raises(ValueError, match="positive"):
        memory.Arena(0)


def test_the_public_functions_use_the_device_table():
    with pytest.raises(RuntimeError, match="use_caching_allocator"):
        memory.memory_stats("nowhere")
    with pytest.raises(ValueError, match="no caching allocator for device 'tpu'"):
        memory.use_caching_allocator("tpu")
    host = memory.use_caching_allocator("cpu")
    x = host.empty((4,), np.float64)
    assert memory.memory_stats("cpu")["allocated_bytes.all.current"] == 512
    assert memory.memory_snapshot("cpu")[0]["segment_type"] == "small"
    del x
    gc.collect()
    memory.empty_cache("cpu")
    assert memory.memory_stats("cpu")["reserved_bytes.all.current"] == 0


# ---- the GPT step's allocation trace, and CuPy's pool as the yardstick ---------------------------------
def test_the_cupy_pool_model_splits_by_bins_and_grows_by_the_rounded_request():
    from hyperion.runtime.bench_alloc import CupyPoolModel

    pool = CupyPoolModel()
    a = pool.malloc(4096)
    pool.free(a)
    assert pool.malloc(1000) == a  # the 4096-byte chunk split: 1024 taken, 3072 binned
    assert pool.malloc(3000) == a + 1024  # the remainder's bin (3072) is the smallest that fits
    assert pool.total_bytes == 4096 and pool.mallocs == 1
    d = pool.malloc(5000)  # nothing free: a new cudaMalloc of exactly the rounded 5120 bytes
    assert pool.total_bytes == 4096 + 5120 and pool.mallocs == 2
    pool.free(a)
    pool.free(a + 1024)  # merged back into one 4096-byte chunk
    assert pool.malloc(4096) == a and pool.mallocs == 2
    pool.free(d)


def test_numpy_allocations_are_recorded_in_order():
    from hyperion.runtime.alloc_trace import record_numpy_allocations, trace_summary

    with record_numpy_allocations() as events:
        a = np.ones(1000)
        b = a * 2.0
        del a
        c = np.empty(500, np.float32)
    assert ("alloc", 8000) in events and ("free", 0) in events
    sizes = [n for kind, n in events if kind == "alloc"]
    assert sizes.index(8000) == 0 and 2000 in sizes  # a first, c after it
    assert trace_summary(events)["peak_live_bytes"] >= 8000 + 8000
    del b, c


def test_the_recorded_cpu_gpt_step_replays_through_both_pools():
    from hyperion.runtime.alloc_trace import gpt_step_trace, trace_summary
    from hyperion.runtime.bench_alloc import CupyPoolModel, replay

    events = gpt_step_trace(batch=1, context=8, steps=2)
    live = trace_summary(events)["peak_live_bytes"]
    cupy, (ours, _) = CupyPoolModel(), make()
    for _ in range(3):
        replay(cupy, events)
        replay(ours, events)
    stats = ours.memory_stats()
    assert not cupy.in_use and stats["allocated_bytes.all.current"] == 0
    assert cupy.total_bytes >= live and stats["reserved_bytes.all.peak"] >= stats["allocated_bytes.all.peak"] >= live
