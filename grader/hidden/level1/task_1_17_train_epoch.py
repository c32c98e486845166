"""Task 1.17: train_epoch with recording mocks: the five calls per batch in a valid order, and the
returned mean loss per *sample* (a smaller last batch weighs less)."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "1.17"
TITLE = "The training loop"
POINTS = 6
TIMEOUT = 60

BATCHES = [3, 3, 2]  # samples per batch
LOSSES = [1.0, 2.0, 4.5]  # loss.item() of each batch


def _mocks(log):
    class Loss:
        def __init__(self, k, value):
            self.k, self.value = k, value

        def backward(self, *args, **kwargs):
            log.append(["backward", self.k])

        def item(self):
            return self.value

        def __float__(self):
            return self.value

    class Model:
        def __init__(self):
            self.k = -1

        def train(self, mode=True):
            log.append(["train", bool(mode)])
            return self

        def eval(self):
            log.append(["eval", -1])
            return self

        def __call__(self, x):
            k = int(x[0, 0])
            log.append(["forward", k])
            return ("output", k)

    class Optimizer:
        def zero_grad(self, *args, **kwargs):
            log.append(["zero_grad", -1])

        def step(self, *args, **kwargs):
            log.append(["step", -1])

    def loss_fn(out, y):
        k = out[1] if type(out) is tuple and out[0] == "output" else -99
        ok = k >= 0 and len(y) == BATCHES[k] and int(y[0]) == 100 * k
        log.append(["loss", k if ok else -99])
        return Loss(k, LOSSES[k] if k >= 0 else 0.0)

    loader = [(np.full((n, 4), float(k)), np.full(n, 100 * k, dtype=np.int64)) for k, n in enumerate(BATCHES)]
    return Model(), loader, Optimizer(), loss_fn


def _run(with_hook):
    from hyperion.examples.training import train_epoch

    log = []
    model, loader, opt, loss_fn = _mocks(log)
    seen = []

    def on_batch(value):
        log.append(["on_batch", -1])
        seen.append(float(value))

    result = (
        train_epoch(model, loader, opt, loss_fn, on_batch=on_batch)
        if with_hook
        else train_epoch(model, loader, opt, loss_fn)
    )
    return {"log": log, "seen": seen, "result": float(result)}


@probe(reference=False)
def with_hook():
    return _run(True)


@probe(reference=False)
def without_hook():
    return _run(False)


def _check(sub, hook):
    log, result = sub["log"], sub["result"]
    want = sum(n * v for n, v in zip(BATCHES, LOSSES)) / sum(BATCHES)
    assert_true(
        abs(result - want) <= 1e-9 * want,
        f"returned {result!r}, expected the mean loss per sample {want!r} (weigh each batch by len(y))",
    )
    assert_true(bool(log) and log[0] == ["train", True], "model.train() must be called first")
    assert_true(
        sum(1 for e in log if e[0] in ("train", "eval")) == 1, "call model.train() once, and no eval()"
    )
    events = log[1:]
    steps = [i for i, e in enumerate(events) if e[0] == "step"]
    assert_true(
        len(steps) == len(BATCHES), f"optimizer.step() called {len(steps)} times for {len(BATCHES)} batches"
    )
    hooks = [i for i, e in enumerate(events) if e[0] == "on_batch"]
    if hook:
        assert_true(
            len(hooks) == len(BATCHES), f"on_batch called {len(hooks)} times for {len(BATCHES)} batches"
        )
        for k, h in enumerate(hooks):
            nxt = steps[k + 1] if k + 1 < len(steps) else len(events)
            assert_true(
                steps[k] < h < nxt, f"batch {k}: on_batch must be called once, after that batch's step"
            )
    else:
        assert_true(not hooks, "on_batch called although none was given")
    prev = -1
    for k, stop in enumerate(steps):
        chunk = [e for e in events[prev + 1 : stop + 1] if e[0] != "on_batch"]
        prev = stop
        names = [e[0] for e in chunk]
        for name in ("zero_grad", "forward", "loss", "backward", "step"):
            assert_true(
                names.count(name) == 1,
                f"batch {k}: {name} called {names.count(name)} times, expected once (calls: {names})",
            )
        assert_true(len(names) == 5, f"batch {k}: unexpected calls {names}")
        where = {name: names.index(name) for name in names}
        assert_true(
            where["forward"] < where["loss"] < where["backward"] < where["step"],
            f"batch {k}: order {names}; forward, loss, backward, step must come in that order",
        )
        assert_true(
            where["zero_grad"] < where["backward"],
            f"batch {k}: zero_grad must come before backward (order {names})",
        )
        assert_true(
            chunk[where["forward"]][1] == k and chunk[where["loss"]][1] == k,
            f"batch {k}: the model or the loss got the wrong inputs",
        )
        assert_true(chunk[where["backward"]][1] == k, f"batch {k}: backward on another batch's loss")
    assert_true(all(e[0] == "on_batch" for e in events[steps[-1] + 1 :]), "calls after the last step")
    if hook:
        assert_true(
            sub["seen"] == LOSSES, f"on_batch got {sub['seen']}, expected each batch's loss.item() {LOSSES}"
        )


def check_with_hook(sub, ref):
    _check(sub, True)


def check_without_hook(sub, ref):
    _check(sub, False)
