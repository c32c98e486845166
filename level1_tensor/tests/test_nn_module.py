"""Module: registration, traversal order and names (as PyTorch's), state_dict, modes, repr."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import hyperion.nn as nn  # noqa: E402
from hyperion.tensor import Tensor, randn, tensor, zeros  # noqa: E402


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(8)
        self.layers = nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8, bias=False)])
        self.heads = nn.ModuleDict({"a": nn.Linear(8, 2), "b": nn.Linear(8, 3)})


class TorchBlock(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm(8)
        self.layers = torch.nn.ModuleList([torch.nn.Linear(8, 8), torch.nn.Linear(8, 8, bias=False)])
        self.heads = torch.nn.ModuleDict({"a": torch.nn.Linear(8, 2), "b": torch.nn.Linear(8, 3)})


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(10, 8)
        self.block = TorchBlock()
        self.out = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
        self.out[2].weight = self.embed.weight  # tied weights


class HyperionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.block = Block()
        self.out = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 10))
        self.out[2].weight = self.embed.weight


def test_named_parameters_match_torch_including_tied_weights():
    ours, theirs = HyperionNet(), TorchNet()
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    assert "out.2.weight" not in names  # the tied weight is listed once, under its first name
    assert len(list(ours.parameters())) == len(names)
    assert [n for n, _ in ours.named_parameters(remove_duplicate=False)] == [
        n for n, _ in theirs.named_parameters(remove_duplicate=False)
    ]
    assert [n for n, _ in ours.named_parameters(prefix="net")][0] == "net.embed.weight"
    assert [n for n, _ in ours.block.heads.a.named_parameters(recurse=False)] == ["weight", "bias"]
    assert [n for n, _ in ours.named_parameters(recurse=False)] == []


def test_state_dict_keys_and_shapes_match_torch():
    ours, theirs = HyperionNet(), TorchNet()
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    assert all(tuple(ours_sd[k].shape) == tuple(theirs_sd[k].shape) for k in ours_sd)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]


def test_torch_state_dict_loads_and_round_trips():
    ours, theirs = HyperionNet(), TorchNet()
    result = ours.load_state_dict(theirs.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for name, p in ours.named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), theirs.get_parameter(name).detach().numpy())
    # state_dict values are detached views sharing memory; a round trip through a copy restores them
    saved = {k: v.numpy().copy() for k, v in ours.state_dict().items()}
    other = HyperionNet()
    other.load_state_dict(saved)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), saved[k])
    assert not ours.state_dict()["block.norm.weight"].requires_grad


def test_load_errors_name_missing_unexpected_and_misshaped_keys():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    del state["2.bias"]
    state["3.weight"] = np.zeros((2, 2), np.float32)
    state["0.weight"] = np.zeros((4, 3), np.float32)
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert '"2.bias"' in message and "Missing" in message
    assert '"3.weight"' in message and "Unexpected" in message
    assert "0.weight" in message and "(3, 4)" in message and "(4, 3)" in message
    before = model[0].bias.detach().numpy().copy()
    state["0.bias"] = np.ones(3, np.float32)
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict(state, strict=False)  # mis-shaped values are errors even when not strict
    np.testing.assert_array_equal(model[0].bias.detach().numpy(), before)  # nothing half-loaded
    state["0.weight"] = np.ones((3, 4), np.float32)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["3.weight"]
    np.testing.assert_array_equal(model[0].bias.detach().numpy(), np.ones(3))


@pytest.mark.skipif(not torch.__version__.startswith("2.13"),
                    reason=f"repr formats are compared with the pinned oracle torch 2.13, not {torch.__version__}")
def test_repr_matches_torch():
    def build(lib):
        return lib.Sequential(
            lib.Conv2d(1, 8, 3, padding=1),
            lib.ReLU(),
            lib.MaxPool2d(2),
            lib.Flatten(),
            lib.Linear(8 * 14 * 14, 10),
            lib.GELU(approximate="tanh"),
            lib.Dropout(0.1),
            lib.LayerNorm(10),
            lib.Tanh(),
            lib.Sigmoid(),
            lib.AvgPool2d(2),
            lib.Embedding(10, 3, padding_idx=0),
            lib.Linear(3, 2, bias=False),
            lib.Conv2d(2, 2, (3, 5), stride=2, bias=False),
        )

    assert repr(build(nn)) == repr(build(torch.nn))
    ours = repr(HyperionNet()).replace("HyperionNet", "Net").replace("Block", "TorchBlock")
    assert ours == repr(TorchNet()).replace("TorchNet", "Net")


def test_train_eval_propagates():
    model = HyperionNet()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.block.train()
    assert model.block.heads.a.training and not model.training


def test_registration_rules():
    class Custom(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(zeros(2))
            self.constant = tensor([1.0])  # a plain tensor: not a parameter
            self.register_buffer("running", zeros(2))
            self.register_buffer("scratch", zeros(1), persistent=False)

    m = Custom()
    assert [n for n, _ in m.named_parameters()] == ["w"]
    assert list(m.state_dict()) == ["w", "running"]
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    with pytest.raises(TypeError, match="Parameter or None"):
        m.w = zeros(2)
    del m.w
    assert [n for n, _ in m.named_parameters()] == []

    class Forgetful(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(zeros(2))

    with pytest.raises(AttributeError, match=r"call super\(\)\.__init__\(\) first"):
        Forgetful()


def test_zero_grad_and_call_forward():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    out = model(randn(4, 3))
    assert isinstance(out, Tensor) and out.shape == (4, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(1)


def test_sequential_indexing_and_containers():
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert [n for n, _ in seq[1:].named_children()] == ["1", "2"]
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    ml = nn.ModuleList([nn.Linear(2, 2)]).append(nn.Linear(2, 3))
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    md = nn.ModuleDict({"x": nn.ReLU()})
    md["y"] = nn.Tanh()
    assert list(md) == ["x", "y"] and "y" in md


def test_module_to_double_keeps_parameter_objects():
    model = nn.Linear(3, 2)
    weight = model.weight
    model.double()
    assert model.weight is weight and weight.dtype == np.float64 and isinstance(weight, nn.Parameter)
    assert model(randn(1, 3, dtype=np.float64)).dtype == np.float64


class Leaf(nn.Module):
    """A layer made by hand (no Linear), so Task 1.12 is tested on its own."""

    def __init__(self, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(zeros(2, 2))
        if bias:
            self.bias = nn.Parameter(zeros(2))
        else:
            self.register_parameter("bias", None)


def test_task_1_12_named_parameters_on_hand_built_tree():
    """Task 1.12: order, dotted names, None skipped, prefix, recurse, shared parameters once."""

    class Tree(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(zeros(1))
            self.first = Leaf()
            self.inner = nn.Module()
            self.inner.deep = Leaf(bias=False)
            self.inner.again = self.first  # the same module twice
            self.last = Leaf()
            self.last.weight = self.first.weight  # a tied weight, reassigned in place

    tree = Tree()
    names = [n for n, _ in tree.named_parameters()]
    assert names == ["scale", "first.weight", "first.bias", "inner.deep.weight", "last.bias"]
    params = [p for _, p in tree.named_parameters()]
    assert params[1] is tree.first.weight and all(isinstance(p, nn.Parameter) for p in params)
    assert [n for n, _ in tree.named_parameters(prefix="m")][:2] == ["m.scale", "m.first.weight"]
    assert [n for n, _ in tree.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in tree.named_parameters(remove_duplicate=False)] == [
        "scale",
        "first.weight",
        "first.bias",
        "inner.deep.weight",
        "inner.again.weight",
        "inner.again.bias",
        "last.weight",
        "last.bias",
    ]
    assert len(list(tree.parameters())) == 5
