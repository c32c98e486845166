"""Task 1.8: toposort: every tensor the root depends on, each exactly once, each before its parents.

The probes build graphs with forward ops only (their backward formulas belong to other tasks), send
the graph's edges and the order ``toposort`` returned as indices, and the judge checks that the order
is a valid topological order of exactly the reachable tensors. A 100,000-op chain checks that the
walk is iterative (and not quadratic). One probe runs ``backward()`` through Add/Sub/Neg only, whose
gradients are given, so only the order can make it wrong.
"""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.8"
TITLE = "Topological sort (iterative)"
POINTS = 10
TIMEOUT = 90
CHAIN = 100_000


def _graph(root):
    """Every tensor reachable from ``root`` (own iterative walk, discovery order) and the edges."""
    nodes, index, edges, stack = [], {}, [], [root]
    index[id(root)] = 0
    nodes.append(root)
    while stack:
        node = stack.pop()
        if node._ctx is None:
            continue
        for parent in node._ctx.parents:
            if id(parent) not in index:
                index[id(parent)] = len(nodes)
                nodes.append(parent)
                stack.append(parent)
            edges.append([index[id(node)], index[id(parent)]])
    return nodes, index, edges


def _order(root, toposort):
    nodes, index, edges = _graph(root)
    order = toposort(root)
    kind = type(order).__name__
    return {
        "n": len(nodes),
        "edges": edges,
        "kind": kind,
        "order": [index.get(id(t), -1) for t in list(order)],
    }


@probe
def small_graphs():
    import hyperion.tensor as ht
    from hyperion.tensor.autograd import toposort

    rng = np.random.default_rng(22)
    x = ht.tensor(rng.standard_normal(3), requires_grad=True)
    y = ht.tensor(rng.standard_normal(3), requires_grad=True)
    c = ht.tensor(rng.standard_normal(3))  # an input that needs no gradient
    a = x * y
    b = a + x
    d = b * a
    e = d.exp()
    f = e - c
    g = f * b
    h = g + a
    _unrelated = x * 5.0  # not reachable from h: must not appear
    wide = x
    for _ in range(50):  # one tensor used by many nodes
        wide = wide + x * y
    m = ht.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    mm = (m @ x).tanh() * (m @ y)
    sq = x * x  # the same parent twice
    p, q = sq + y, sq - y  # siblings sharing an input
    twice = (p * q) + (p * q).exp() * (sq + sq)
    return [
        _order(h, toposort),
        _order(x, toposort),
        _order(wide, toposort),
        _order(mm, toposort),
        _order(a, toposort),
        _order(twice, toposort),
    ]


def _check_order(data, what):
    n, order = data["n"], data["order"]
    assert_true(data["kind"] == "list", f"{what}: toposort returned a {data['kind']}, expected a list")
    assert_true(-1 not in order, f"{what}: the order contains a tensor that the root does not depend on")
    assert_true(len(order) == len(set(order)), f"{what}: a tensor appears more than once")
    assert_true(len(order) == n, f"{what}: {len(order)} tensors, expected all {n} the root depends on")
    assert_true(order[0] == 0, f"{what}: the root must come first")
    pos = {node: i for i, node in enumerate(order)}
    for child, parent in data["edges"]:
        assert_true(
            pos[child] < pos[parent],
            f"{what}: a tensor comes after one of its inputs (position {pos[child]} vs {pos[parent]})",
        )


def check_small_graphs(sub, ref):
    names = [
        "diamond graph",
        "a leaf as the root",
        "one tensor used 100 times",
        "matmul/tanh graph",
        "a single op",
        "inputs used twice by one op",
    ]
    for name, got, mine in zip(names, sub, ref, strict=True):
        assert_true(
            got["n"] == mine["n"] and got["edges"] == mine["edges"], f"{name}: the probe's graph differs"
        )
        _check_order(got, name)


@probe
def long_chain():
    import hyperion.tensor as ht
    from hyperion.tensor.autograd import toposort

    x = ht.tensor(np.ones(2), requires_grad=True)
    chain = [x]
    for _ in range(CHAIN):
        chain.append(-chain[-1])
    index = {id(t): i for i, t in enumerate(chain)}
    order = toposort(chain[-1])
    return np.array([index.get(id(t), -1) for t in order], dtype=np.int64)


def check_long_chain(sub, ref):
    assert_true(isinstance(sub, np.ndarray) and sub.ndim == 1, "malformed result")
    assert_true(
        sub.shape[0] == CHAIN + 1, f"a chain of {CHAIN} ops: {sub.shape[0]} tensors, expected {CHAIN + 1}"
    )
    assert_true(bool(np.all(sub == np.arange(CHAIN, -1, -1))), f"a chain of {CHAIN} ops: wrong order")


@probe
def backward_order():
    import hyperion.tensor as ht

    rng = np.random.default_rng(23)
    x = ht.tensor(rng.standard_normal(4), requires_grad=True)
    w = ht.tensor(rng.standard_normal(4), requires_grad=True)
    a = x + w
    b = a - x
    c = -b + a
    d = c + c
    e = d - a
    root = (e + b) - (-x)  # = x - w + w + x = 2x: d/dx = 2, d/dw = 0 (paths must all add up)
    g = rng.standard_normal(4)
    root.backward(ht.tensor(g))
    return {"g": g, "dx": x.grad.numpy(), "dw": w.grad.numpy()}


def check_backward_order(sub, ref):
    assert_close(sub["g"], ref["g"], rtol=0, atol=0, name="the probe's input")
    assert_close(sub["dx"], 2 * ref["g"], rtol=1e-12, atol=1e-12, name="x.grad after backward")
    assert_close(sub["dw"], np.zeros(4), rtol=0, atol=1e-12, name="w.grad after backward")
