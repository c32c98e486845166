"""Task 1.16: DataLoader.__iter__: order, batching, drop_last, per-epoch reshuffling from the seed,
one batched fetch per batch. Numpy batches (``as_tensor=False``) except one Tensor check."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "1.16"
TITLE = "DataLoader iteration"
POINTS = 8
TIMEOUT = 60

# (n samples, batch size, drop_last)
SIZES = [
    (10, 3, False),
    (10, 3, True),
    (12, 4, False),
    (12, 4, True),
    (5, 8, False),
    (5, 8, True),
    (1, 1, False),
    (7, 1, True),
]


def _dataset(n):
    from hyperion.data import TensorDataset

    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64) * 10
    return TensorDataset(x, y)


def _epoch(loader):
    """Each batch as the list of sample ids it holds, checking fields stay aligned."""
    out = []
    for batch in loader:
        x, y = batch
        x, y = np.asarray(x), np.asarray(y)
        ids = (y // 10).tolist()
        aligned = bool(x.shape == (len(ids), 2) and np.array_equal(x[:, 0], np.asarray(ids) * 2.0))
        out.append({"ids": ids, "aligned": aligned})
    return out


@probe(reference=False)
def in_order():
    from hyperion.data import DataLoader

    return [
        [
            _epoch(DataLoader(_dataset(n), batch_size=b, drop_last=d, as_tensor=False)),
            len(DataLoader(_dataset(n), batch_size=b, drop_last=d)),
        ]
        for n, b, d in SIZES
    ]


def _check_aligned(epoch, what):
    for k, batch in enumerate(epoch):
        assert_true(batch["aligned"], f"{what}: batch {k} mixes up the samples' fields")


def check_in_order(sub, ref):
    for (n, b, d), (epoch, length) in zip(SIZES, sub, strict=True):
        what = f"DataLoader({n} samples, batch_size={b}, drop_last={d})"
        _check_aligned(epoch, what)
        stop = n - n % b if d else n
        want = [list(range(i, min(i + b, stop))) for i in range(0, stop, b)]
        got = [batch["ids"] for batch in epoch]
        assert_true(got == want, f"{what}: batches {got}, expected {want}")
        assert_true(len(got) == length, f"{what}: {len(got)} batches but len(loader) = {length}")


@probe
def shuffled():
    from hyperion.data import DataLoader

    out = []
    for n, b, d in [(10, 3, False), (10, 3, True), (16, 4, False), (1, 1, False)]:
        loader = DataLoader(_dataset(n), batch_size=b, shuffle=True, drop_last=d, seed=123, as_tensor=False)
        out.append([_epoch(loader), _epoch(loader), _epoch(loader)])
    again = DataLoader(_dataset(10), batch_size=3, shuffle=True, seed=123, as_tensor=False)
    gen = DataLoader(
        _dataset(10), batch_size=3, shuffle=True, generator=np.random.default_rng(7), as_tensor=False
    )
    out.append([_epoch(again), _epoch(again), _epoch(again)])
    out.append([_epoch(gen), _epoch(gen)])
    return out


def check_shuffled(sub, ref):
    configs = [(10, 3, False), (10, 3, True), (16, 4, False), (1, 1, False), (10, 3, False), (10, 3, False)]
    for (n, b, d), epochs, mine in zip(configs, sub, ref, strict=True):
        what = f"shuffled DataLoader({n} samples, batch_size={b}, drop_last={d}, seed)"
        for epoch in epochs:
            _check_aligned(epoch, what)
            ids = [i for batch in epoch for i in batch["ids"]]
            sizes = [len(batch["ids"]) for batch in epoch]
            kept = n - n % b if d else n
            assert_true(
                len(ids) == len(set(ids)) == kept and set(ids) <= set(range(n)),
                f"{what}: an epoch must hold {kept} distinct samples, got {ids}",
            )
            want_sizes = [b] * (kept // b) + ([kept % b] if kept % b else [])
            assert_true(sizes == want_sizes, f"{what}: batch sizes {sizes}, expected {want_sizes}")
        if n > 3:
            firsts = [[i for batch in e for i in batch["ids"]] for e in epochs]
            assert_true(
                firsts[0] != firsts[1],
                f"{what}: two epochs in the same order (draw a new permutation each epoch)",
            )
            assert_true(firsts[0] != sorted(firsts[0]), f"{what}: not shuffled")
        got = [[batch["ids"] for batch in e] for e in epochs]
        want = [[batch["ids"] for batch in e] for e in mine]
        assert_true(
            got == want,
            f"{what}: the order does not follow from the seed as specified "
            "(one self._rng.permutation(n) per epoch)",
        )
    assert_true(sub[0] == sub[4], "two loaders with the same seed must give the same epochs")


@probe(reference=False)
def batched_fetch():
    from hyperion.data import DataLoader, Dataset

    class Counting(Dataset):
        def __init__(self, n):
            self.n, self.calls, self.items = n, [], 0

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            self.items += 1
            return (np.array([2.0 * i, float(i)]), np.int64(10 * i))

        def get_batch(self, indices):
            self.calls.append([type(indices).__name__, str(np.asarray(indices).dtype.kind), len(indices)])
            idx = np.asarray(indices)
            return (np.stack([2.0 * idx, idx.astype(float)], axis=1), idx.astype(np.int64) * 10)

    ds = Counting(11)
    epoch = _epoch(DataLoader(ds, batch_size=4, shuffle=True, seed=1, as_tensor=False))

    class Plain(Dataset):  # no get_batch of its own: the base class fetches one by one
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return (np.array([2.0 * i, 0.0]), np.int64(10 * i))

    plain = _epoch(DataLoader(Plain(), batch_size=2, as_tensor=False))
    x, y = next(iter(DataLoader(_dataset(6), batch_size=4)))  # default: Tensors
    tensors = [type(x).__name__, x.numpy().tolist(), type(y).__name__, y.numpy().tolist()]
    return {"calls": ds.calls, "items": ds.items, "epoch": epoch, "plain": plain, "tensors": tensors}


def check_batched_fetch(sub, ref):
    calls = sub["calls"]
    assert_true(
        len(calls) == 3,
        f"11 samples in batches of 4: get_batch called {len(calls)} times, expected 3 "
        "(one batched fetch per batch)",
    )
    assert_true(sub["items"] == 0, "samples were fetched one by one although the dataset has get_batch")
    assert_true(
        [c[2] for c in calls] == [4, 4, 3], f"batch sizes {[c[2] for c in calls]}, expected [4, 4, 3]"
    )
    assert_true(all(c[1] in "iu" for c in calls), "get_batch must be given integer indices")
    _check_aligned(sub["epoch"], "a dataset with get_batch")
    ids = sorted(i for batch in sub["epoch"] for i in batch["ids"])
    assert_true(ids == list(range(11)), "a dataset with get_batch: not every sample once")
    plain = [batch["ids"] for batch in sub["plain"]]
    _check_aligned(sub["plain"], "a dataset without get_batch")
    assert_true(plain == [[0, 1], [2, 3], [4]], f"a dataset without get_batch: batches {plain}")
    tx, xs, ty, ys = sub["tensors"]
    assert_true(tx == "Tensor" and ty == "Tensor", f"default batches should be Tensors, got {tx}, {ty}")
    assert_true(
        ys == [0, 10, 20, 30] and xs[1] == [2.0, 3.0], "default (Tensor) batches hold the wrong samples"
    )
