"""Task 3.11: the lazy scheduler's fusion rule (which nodes share a kernel; CPU, interpreted groups)."""

from hyperion_grader.hidden import assert_true, probe

TASK = "3.11"
TITLE = "Lazy mode: the fusion rule"
POINTS = 10
TIMEOUT = 120


def _cases():
    import hyperion.tensor.functional as F

    return {
        "mul_add_relu_sum": lambda a, b, c: (a * b + c).relu().sum(),
        "softmax": lambda a, b, c: F.softmax(a * 3, -1),
        "layer_norm": lambda a, b, c: F.layer_norm(a, (a.shape[-1],), b[0], c[0]),
        "siblings": lambda a, b, c: (a * b + c * a).relu(),
        "transposed_read": lambda a, b, c: (a.T * 2 + b.T).sum(0),
        "two_axes": lambda a, b, c: a.sum(0, keepdim=True) + a.sum(1, keepdim=True),
        "reused_row_value": lambda a, b, c: (a - a.amax(-1, keepdim=True)).exp() * b,
    }


def _post_order(root):
    """The pending compute nodes under ``root``, inputs first (independent of Task 3.10)."""
    from hyperion.runtime.schedule import parts

    order, seen, stack = [], set(), [(parts(root)[0], False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen or node.buffer is not None:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for x in reversed(node.inputs):
            if hasattr(x, "inputs"):
                stack.append((parts(x)[0], False))
    return order


@probe
def schedules():
    import gc

    import numpy as np

    import hyperion.tensor as ht
    from hyperion.runtime.lazy import lazy
    from hyperion.runtime.schedule import fuse

    rng = np.random.default_rng(11)
    a, b, c = (ht.tensor(rng.standard_normal((12, 20)).astype(np.float32)) for _ in range(3))
    out = {}
    for name, f in _cases().items():
        with lazy("cpu", interpret=True):
            root = f(a, b, c)._array()
            groups = fuse(_post_order(root))
            out[name] = [[list(g.shape), list(g.axes), [n.op for n in g.nodes]] for g in groups]
            del root, groups
            gc.collect()  # nothing pending is left for the block's exit to realise
    return out


def check_schedules(sub, ref):
    for name, want in ref.items():
        got = sub[name]
        assert_true(len(got) == len(want), f"{name}: {len(got)} kernels, the fusion rule gives {len(want)}: "
                    f"[shape, axes, ops] per kernel {want}")
        assert_true(got == want, f"{name}: kernels {got}, expected {want}")
