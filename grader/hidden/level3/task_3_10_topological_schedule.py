"""Task 3.10: the graph scheduler's topological order (Kahn's algorithm, lowest index first; CPU)."""

from hyperion_grader.hidden import assert_true, probe

TASK = "3.10"
TITLE = "Graph mode: topological schedule"
POINTS = 10
TIMEOUT = 60

CASES = [
    [[], [0], [0], [1, 2]],
    [[1], [], [1, 1], [0, 2]],
    [[3], [], [1], [2]],
    [[], [], [], []],
    [[2, 2], [], [1], [0, 1]],
    [[4], [4], [0, 1], [], [3]],
]
CYCLES = [[[1], [0], []], [[], [2], [1]], [[0]]]


def _random_dag(seed, n=40):
    import random

    rng = random.Random(seed)
    perm = list(range(n))
    rng.shuffle(perm)  # node perm[k] may only read nodes perm[j], j < k
    deps = [[] for _ in range(n)]
    for k in range(1, n):
        for _ in range(rng.randint(0, 3)):
            deps[perm[k]].append(perm[rng.randrange(k)])
    return deps


@probe
def orders():
    from hyperion.runtime.graph import topological_order

    out = {"cases": [list(topological_order(c)) for c in CASES],
           "random": [list(topological_order(_random_dag(s))) for s in range(5)], "cycles": []}
    for c in CYCLES:
        try:
            topological_order(c)
            out["cycles"].append("no error")
        except ValueError as error:
            out["cycles"].append("ValueError: " + str(error))
    return out


def check_orders(sub, ref):
    graphs = CASES + [_random_dag(s) for s in range(5)]
    for deps, order in zip(graphs, sub["cases"] + sub["random"], strict=True):
        assert_true(sorted(order) == list(range(len(deps))), f"{order} is not an order of {len(deps)} nodes")
        position = {node: i for i, node in enumerate(order)}
        for node, reads in enumerate(deps):
            for d in reads:
                assert_true(position[d] < position[node], f"node {node} scheduled before its input {d}: {order}")
    assert_true(sub["cases"] == ref["cases"] and sub["random"] == ref["random"],
                "ready nodes must be emitted lowest index first (a heap)")
    for got, deps in zip(sub["cycles"], CYCLES, strict=True):
        assert_true(got.startswith("ValueError") and "cycle" in got, f"a cyclic graph {deps} must raise ValueError "
                    f"naming the cycle, got {got}")
