"""Task 3.9: the caching allocator's split and merge (CPU: fake raw memory, no GPU needed)."""

from hyperion_grader.hidden import assert_true, probe

TASK = "3.9"
TITLE = "Caching allocator: split and merge"
POINTS = 10
TIMEOUT = 60

MiB = 1 << 20


def _fake_raw():
    state = {"next": 1 << 40, "live": {}}

    def alloc(size):
        address = state["next"]
        state["next"] += size + (1 << 30)
        state["live"][address] = size
        return address

    def free(address):
        del state["live"][address]

    return alloc, free, state


def _layout(alloc):
    """Segments as lists of (offset in segment, size, state): addresses relative to each segment."""
    return [
        [[b["address"] - s["address"], b["size"], b["state"]] for b in s["blocks"]]
        for s in alloc.memory_snapshot()
    ]


@probe
def scenarios():
    from hyperion.runtime.allocator import CachingAllocator

    out = {}
    raw_alloc, raw_free, state = _fake_raw()
    a = CachingAllocator(raw_alloc, raw_free)
    x, y, z = a.malloc(1000), a.malloc(100_000), a.malloc(5000)
    out["three_small"] = _layout(a)
    a.free(y)
    out["hole"] = _layout(a)
    out["refill"] = a.malloc(90_000) - x  # best fit: the hole left by y
    a.free(x + out["refill"])
    a.free(x)
    out["merged_left"] = _layout(a)
    a.free(z)
    out["merged_all"] = _layout(a)
    out["segments"] = len(state["live"])

    # the fragmentation example: 4x32 MiB freed serves 8x16 MiB by splitting
    raw_alloc, raw_free, state = _fake_raw()
    b = CachingAllocator(raw_alloc, raw_free)
    big = [b.malloc(32 * MiB) for _ in range(4)]
    for p in big:
        b.free(p)
    for _ in range(8):
        b.malloc(16 * MiB)
    out["reverse_reserved"] = b.memory_stats()["reserved_bytes.all.current"]
    out["reverse_layout"] = _layout(b)

    # a large remainder below 1 MiB stays with the block; a small one above 512 B is split off
    raw_alloc, raw_free, state = _fake_raw()
    c = CachingAllocator(raw_alloc, raw_free)
    p = c.malloc(12 * MiB)
    c.free(p)
    c.malloc(11 * MiB + 512)
    out["large_unsplit"] = _layout(c)

    # merge in the middle: free left, right, then middle -> one block
    raw_alloc, raw_free, state = _fake_raw()
    d = CachingAllocator(raw_alloc, raw_free)
    blocks = [d.malloc(4096) for _ in range(3)]
    d.free(blocks[0])
    d.free(blocks[2])
    out["two_holes"] = _layout(d)
    d.free(blocks[1])
    out["middle_merged"] = _layout(d)
    return out


def check_scenarios(sub, ref):
    for key in ref:
        assert_true(sub[key] == ref[key], f"{key}: got {sub[key]}, expected {ref[key]}")
    assert_true(sub["merged_all"] == [[[0, 2 * MiB, "inactive"]]], "freeing everything must leave one free block")
