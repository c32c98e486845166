"""Task 1.23: gradient checkpointing, ``hyperion.tensor.checkpoint(fn, *args)``.

The segment ``|x @ w.T + b| @ w2.T`` (fused Linear and Abs: Functions whose backward is not a task) runs
once under ``no_grad`` in forward and once more in backward; the checkpointed output is one graph node
whose parents are the inputs (no intermediate kept); the gradients of every input are those of the plain
graph, computed here in the judge in closed form with numpy; without grad the output is a plain tensor.
The probe uses the grader's own topological sort (Task 1.8 is graded on its own)."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.23"
TITLE = "Gradient checkpointing"
POINTS = 6
TIMEOUT = 60


def _grader_toposort(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            stack.extend((p, False) for p in node._ctx.parents if id(p) not in seen)
    return order[::-1]


@probe(reference=False)
def checkpointed_segment():
    import hyperion.tensor as ht
    from hyperion.tensor import autograd
    from hyperion.tensor import functional as F

    autograd.toposort = _grader_toposort
    rng = np.random.default_rng(2300)
    x0, w0, b0, w20 = (rng.standard_normal(s) for s in ((5, 4), (6, 4), (6,), (3, 6)))
    g = rng.standard_normal((5, 3))
    calls = []

    def segment(x, w, b, w2):
        calls.append(1)
        return F.linear(F.abs(F.linear(x, w, b)), w2)

    leaves = [ht.tensor(a.copy(), requires_grad=True) for a in (x0, w0, b0, w20)]
    out = ht.checkpoint(segment, *leaves)
    after_forward = len(calls)
    ctx = out._ctx
    parents = [] if ctx is None else list(ctx.parents)
    out.backward(ht.tensor(g))
    after_backward = len(calls)
    plain = ht.checkpoint(segment, *[ht.tensor(a) for a in (x0, w0, b0, w20)])
    with ht.no_grad():
        nograd = ht.checkpoint(segment, *leaves)
    return {
        "x": x0,
        "w": w0,
        "b": b0,
        "w2": w20,
        "g": g,
        "out": out.detach().numpy(),
        "grads": [None if t.grad is None else t.grad.numpy() for t in leaves],
        "calls": [after_forward, after_backward],
        "one_node": ctx is not None and len(parents) == 4 and all(p is q for p, q in zip(parents, leaves)),
        "requires_grad": bool(out.requires_grad),
        "plain_has_no_node": plain._ctx is None and not plain.requires_grad,
        "nograd_has_no_node": nograd._ctx is None,
    }


def check_checkpointed_segment(sub, ref):
    x, w, b, w2, g = sub["x"], sub["w"], sub["b"], sub["w2"], sub["g"]
    h = x @ w.T + b
    a = np.abs(h)
    assert_close(sub["out"], a @ w2.T, rtol=1e-12, atol=1e-12, name="checkpoint(fn, ...) forward")
    assert_true(sub["calls"][0] == 1, f"fn ran {sub['calls'][0]} times in forward, expected once")
    assert_true(
        sub["calls"][1] == 2, f"fn ran {sub['calls'][1] - sub['calls'][0]} times in backward, expected once"
    )
    assert_true(sub["requires_grad"], "the checkpointed output must require grad when an input does")
    assert_true(
        sub["one_node"],
        "the output must be ONE node whose parents are exactly the inputs (nothing of fn's graph kept)",
    )
    da = g @ w2
    dh = da * np.sign(h)
    want = [dh @ w, dh.T @ x, dh.sum(0), g.T @ a]
    for name, got, exp in zip(("x", "w", "b", "w2"), sub["grads"], want, strict=True):
        assert_true(got is not None, f"no gradient reached input {name}")
        assert_close(got, exp, rtol=1e-10, atol=1e-12, name=f"gradient of input {name}")
    assert_true(sub["plain_has_no_node"], "when no input requires grad, return fn's output (no node)")
    assert_true(sub["nograd_has_no_node"], "under no_grad(), return fn's output (no node)")
