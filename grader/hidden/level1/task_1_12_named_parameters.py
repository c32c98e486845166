"""Task 1.12: Module.named_parameters: PyTorch's order and dotted names, prefix, recurse, None entries
skipped, shared (tied) parameters once. Models are built by hand from Parameters (no Linear)."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "1.12"
TITLE = "Module.named_parameters"
POINTS = 8
TIMEOUT = 60


def _build():
    from hyperion import nn
    from hyperion.nn import Parameter

    def param(n):
        return Parameter(np.full(n, float(n), dtype=np.float32))

    class Leaf(nn.Module):
        def __init__(self, n, bias=True):
            super().__init__()
            self.weight = param(n)
            if bias:
                self.bias = param(n + 1)
            else:
                self.register_parameter("bias", None)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = param(2)  # own parameter, registered before the children
            self.inner = Leaf(3)
            self.act = nn.Module()  # a child with no parameters
            self.out = Leaf(4, bias=False)
            self.gain = param(5)  # own parameter registered after the children

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = Leaf(6)
            self.blocks = nn.Sequential(Block(), Block())
            self.head = Leaf(7)
            self.head.weight = self.embed.weight  # tied weights
            self.temperature = param(1)
            self.register_parameter("unused", None)
            self.register_module("missing", None)

    return Net()


def _names(named, ids):
    out = []
    for name, p in named:
        if id(p) not in ids:
            ids[id(p)] = len(ids)
        out.append([name, ids[id(p)], type(p).__name__])
    return out


@probe
def names():
    net = _build()
    ids = {}
    it = net.named_parameters()
    is_iterator = hasattr(it, "__next__") and iter(it) is it
    return {
        "iterator": is_iterator,
        "default": _names(it, ids),
        "prefix": _names(net.named_parameters(prefix="model"), ids),
        "no_recurse": _names(net.named_parameters(recurse=False), ids),
        "with_duplicates": _names(net.named_parameters(remove_duplicate=False), ids),
        "child": _names(net.blocks.named_parameters(), ids),
        "child_prefix": _names(net.blocks[1].named_parameters("blocks.1"), ids),
        "parameters": [ids.get(id(p), -1) for p in net.parameters()],
        "leaf_no_bias": _names(net.blocks[0].out.named_parameters(), ids),
        "empty": _names(net.blocks[0].act.named_parameters(), ids),
    }


def check_names(sub, ref):
    assert_true(
        sub["iterator"] is True, "named_parameters must return an iterator (a generator or iter(list))"
    )
    for key, what in [
        ("default", "named_parameters()"),
        ("prefix", "named_parameters(prefix='model')"),
        ("no_recurse", "named_parameters(recurse=False)"),
        ("with_duplicates", "named_parameters(remove_duplicate=False)"),
        ("child", "a child's named_parameters()"),
        ("child_prefix", "named_parameters('blocks.1') of a grandchild"),
        ("leaf_no_bias", "a module whose bias is None"),
        ("empty", "a module with no parameters"),
    ]:
        got = [tuple(x[:2]) for x in sub[key]]
        want = [tuple(x[:2]) for x in ref[key]]
        assert_true(
            [n for n, _ in got] == [n for n, _ in want],
            f"{what}: names {[n for n, _ in got]}, expected {[n for n, _ in want]}",
        )
        assert_true(got == want, f"{what}: the names are right but some name has the wrong parameter")
        assert_true(
            all(x[2] == "Parameter" for x in sub[key]), f"{what}: yields something that is not a Parameter"
        )
    assert_true(sub["parameters"] == ref["parameters"], "parameters() does not follow named_parameters()")
