"""Task 2.7: one BPE merge step — count_pairs (weighted, in place, zero counts deleted) and merge_pair
(left to right, overlaps), then a whole ByteBPETokenizer trained with them against a naive recount
written here in the judge."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "2.7"
TITLE = "A BPE merge step"
POINTS = 8
TIMEOUT = 90

TEXT_WORDS = ["the", "then", "there", "thee", "thou", "hath", "that", "these", "other", "ether", "aaaa", "é"]


def _id_lists():
    rng = np.random.default_rng(27)
    lists = [[], [3], [1, 2, 1, 2, 2], [5, 5, 5, 5, 5], [1, 2, 3, 1, 2, 3, 1, 2]]
    lists += [rng.integers(0, 4, size=int(n)).tolist() for n in rng.integers(2, 40, size=12)]
    return lists


MERGE_CASES = [  # (ids, pair, new id)
    ([1, 2, 1, 2, 3], (1, 2), 9),
    ([5, 5, 5], (5, 5), 9),
    ([5, 5, 5, 5], (5, 5), 9),
    ([5, 5, 5, 5, 5], (5, 5), 7),
    ([1, 3, 2], (1, 2), 9),
    ([], (1, 2), 9),
    ([1], (1, 2), 9),
    ([2, 1, 2, 1], (1, 2), 300),
    ([1, 2], (1, 2), 256),
    ([0, 1, 2, 1, 2, 2, 1], (2, 1), 11),
]


def _text():
    rng = np.random.default_rng(7)
    return " ".join(rng.choice(TEXT_WORDS, size=400)) + "\n"


def _pairs(counts):
    return sorted([int(a), int(b), int(c)] for (a, b), c in counts.items())


@probe
def counting():
    from hyperion.transformer.tokenizers import count_pairs

    singles = [_pairs(count_pairs(ids)) for ids in _id_lists()]
    counts = {}
    same = count_pairs([1, 2, 3, 2, 3], counts, 4) is counts
    count_pairs([2, 3, 4], counts, 3)
    added = _pairs(counts)
    count_pairs([1, 2, 3, 2, 3], counts, -4)  # taking the first word back out
    return {"singles": singles, "same_dict": same, "added": added, "removed": _pairs(counts)}


def check_counting(sub, ref):
    for ids, got in zip(_id_lists(), sub["singles"], strict=True):
        want = {}
        for pair in zip(ids, ids[1:]):
            want[pair] = want.get(pair, 0) + 1
        assert_true(got == _pairs(want), f"count_pairs({ids}) gave {got}, expected {_pairs(want)} ([a, b, count])")
    assert_true(sub["same_dict"], "count_pairs(ids, counts, w) must update `counts` in place and return it")
    assert_true(sub["added"] == [[1, 2, 4], [2, 3, 11], [3, 2, 4], [3, 4, 3]],
                f"weighted counts of [1,2,3,2,3] (x4) and [2,3,4] (x3): got {sub['added']}")
    assert_true(sub["removed"] == [[2, 3, 3], [3, 4, 3]],
                f"after taking [1,2,3,2,3] (x4) back out (weight -4), pairs at 0 must be deleted: got {sub['removed']}")


@probe
def merging():
    from hyperion.transformer.tokenizers import merge_pair

    return [[int(i) for i in merge_pair(list(ids), pair, new)] for ids, pair, new in MERGE_CASES]


def _merge(ids, pair, new):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def check_merging(sub, ref):
    for (ids, pair, new), got in zip(MERGE_CASES, sub, strict=True):
        want = _merge(ids, pair, new)
        assert_true(got == want, f"merge_pair({ids}, {pair}, {new}) gave {got}, expected {want}")


@probe
def training():
    from hyperion.transformer.tokenizers import ByteBPETokenizer, split_pieces

    text = _text()
    tok = ByteBPETokenizer.train(text, 256 + 40)
    ids = tok.encode(text)
    return {"merges": [[int(a), int(b)] for a, b in tok.merges], "pieces": split_pieces(text),
            "n_ids": len(ids), "round_trip": tok.decode(ids) == text}


def _naive_merges(pieces, n):
    words = [list(p.encode("utf-8")) for p in pieces]
    merges = []
    for k in range(n):
        counts = {}
        for w in words:
            for pair in zip(w, w[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best, pair = min((-c, p) for p, c in counts.items())
        if -best < 2:
            break
        merges.append([pair[0], pair[1]])
        words = [_merge(w, pair, 256 + k) for w in words]
    return merges


def check_training(sub, ref):
    assert_true("".join(sub["pieces"]) == _text(), "split_pieces changed the text (framework code)")
    want = _naive_merges(sub["pieces"], 40)
    got = sub["merges"]
    first = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), None)
    assert_true(len(got) == len(want) and first is None,
                "ByteBPETokenizer.train learnt different merges from a full recount"
                + (f": merge {first} is {got[first]}, expected {want[first]}" if first is not None else
                   f": {len(got)} merges, expected {len(want)}"))
    assert_true(sub["round_trip"], "decode(encode(text)) != text")
    assert_true(sub["n_ids"] < len(_text().encode()) / 2, f"40 merges left {sub['n_ids']} tokens: too many")
