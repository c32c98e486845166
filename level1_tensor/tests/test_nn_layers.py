"""Layers load weights exported from the equivalent PyTorch model (through a real file) and then
compute the same outputs and gradients."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import hyperion.nn as nn  # noqa: E402
from hyperion.tensor import manual_seed, tensor  # noqa: E402

FORMATS = ["npz"] + (["safetensors"] if importlib.util.find_spec("safetensors") else [])


def export(torch_model, path) -> None:
    """What a PyTorch user does: state_dict -> numpy -> file (no hyperion involved)."""
    arrays = {k: v.detach().numpy() for k, v in torch_model.state_dict().items()}
    if str(path).endswith(".npz"):
        np.savez(path, **arrays)
    else:
        from safetensors.numpy import save_file

        save_file(arrays, str(path))


def check_same(ours, theirs, x: np.ndarray, tmp_path, fmt: str, atol: float = 1e-5) -> None:
    path = tmp_path / f"weights.{fmt}"
    export(theirs, path)
    ours.load_state_dict(nn.load(path))
    ours.eval()
    theirs.eval()
    xt = torch.tensor(x)
    xt.requires_grad_(x.dtype.kind == "f")
    expected = theirs(xt)
    xh = tensor(x, dtype=x.dtype, requires_grad=x.dtype.kind == "f")
    out = ours(xh)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=atol)
    # the same gradients too
    g = np.random.default_rng(1).standard_normal(tuple(expected.shape)).astype(np.float32)
    expected.backward(torch.tensor(g))
    out.backward(tensor(g))
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), theirs.get_parameter(name).grad.numpy(), rtol=1e-4, atol=10 * atol, err_msg=name
        )


def rand(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("fmt", FORMATS)
def test_linear(fmt, tmp_path):
    check_same(nn.Linear(7, 5), torch.nn.Linear(7, 5), rand(3, 7), tmp_path, fmt)
    check_same(nn.Linear(7, 5, bias=False), torch.nn.Linear(7, 5, bias=False), rand(2, 3, 7), tmp_path, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_conv2d(fmt, tmp_path):
    check_same(
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        torch.nn.Conv2d(3, 4, 3, stride=2, padding=1),
        rand(2, 3, 9, 8),
        tmp_path,
        fmt,
    )
    check_same(
        nn.Conv2d(3, 2, (2, 3), dilation=2, bias=False),
        torch.nn.Conv2d(3, 2, (2, 3), dilation=2, bias=False),
        rand(1, 3, 8, 8),
        tmp_path,
        fmt,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_layer_norm(fmt, tmp_path):
    theirs = torch.nn.LayerNorm((4, 6))
    with torch.no_grad():  # non-trivial affine weights
        theirs.weight.normal_()
        theirs.bias.normal_()
    check_same(nn.LayerNorm((4, 6)), theirs, rand(3, 4, 6), tmp_path, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_embedding(fmt, tmp_path):
    ids = np.array([[1, 0, 9], [3, 3, 0]], dtype=np.int64)
    check_same(nn.Embedding(10, 4), torch.nn.Embedding(10, 4), ids, tmp_path, fmt)
    theirs = torch.nn.Embedding(10, 4, padding_idx=0)
    check_same(nn.Embedding(10, 4, padding_idx=0), theirs, ids, tmp_path, fmt)
    assert not theirs.weight.grad[0].any()


def mlp(lib):
    return lib.Sequential(
        lib.Flatten(),
        lib.Linear(28 * 28, 64),
        lib.ReLU(),
        lib.Dropout(0.2),
        lib.Linear(64, 32),
        lib.GELU(),
        lib.Linear(32, 16),
        lib.Tanh(),
        lib.Linear(16, 10),
        lib.Sigmoid(),
    )


def cnn(lib):
    return lib.Sequential(
        lib.Conv2d(1, 8, 3, padding=1),
        lib.ReLU(),
        lib.MaxPool2d(2),
        lib.Conv2d(8, 16, 3, padding=1),
        lib.ReLU(),
        lib.AvgPool2d(2),
        lib.Flatten(),
        lib.LayerNorm(16 * 7 * 7),
        lib.Linear(16 * 7 * 7, 10),
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_sequential_mlp(fmt, tmp_path):
    check_same(mlp(nn), mlp(torch.nn), rand(4, 1, 28, 28), tmp_path, fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_sequential_cnn(fmt, tmp_path):
    check_same(cnn(nn), cnn(torch.nn), rand(2, 1, 28, 28), tmp_path, fmt)


def test_save_load_round_trip(tmp_path):
    model = cnn(nn)
    for fmt in FORMATS:
        nn.save(model, tmp_path / f"m.{fmt}")
        other = cnn(nn)
        other.load_state_dict(nn.load(tmp_path / f"m.{fmt}"))
        for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:  # a plain npz anyone can read
        assert list(archive.files) == list(model.state_dict())
    with pytest.raises(ValueError, match="suffix"):
        nn.save(model, tmp_path / "m.pt")


def test_linear_task_shapes_and_init():
    """Task 1.13: parameter names/shapes as PyTorch, U(-1/√in, 1/√in) init, forward."""
    manual_seed(0)
    layer = nn.Linear(400, 300)
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.shape == (300, 400)
    assert layer.bias.shape == (300,) and layer.weight.requires_grad
    bound = 1 / math.sqrt(400)
    w = layer.weight.detach().numpy()
    assert w.min() >= -bound and w.max() <= bound and w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert abs(layer.bias.detach().numpy()).max() <= bound
    assert nn.Linear(3, 2, bias=False).bias is None
    x = rand(5, 400)
    expected = x @ w.T + layer.bias.detach().numpy()
    np.testing.assert_allclose(layer(tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-5)
    manual_seed(0)
    again = nn.Linear(400, 300)
    np.testing.assert_array_equal(again.weight.detach().numpy(), w)  # seeded: reproducible


def test_dropout_train_and_eval():
    manual_seed(0)
    layer = nn.Dropout(0.5)
    x = tensor(np.ones((100, 100), np.float32))
    out = layer(x).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0} and 0.45 < (out == 0).mean() < 0.55
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


@pytest.mark.parametrize(
    ("ours", "theirs", "target_kind"),
    [
        (lambda: nn.CrossEntropyLoss(label_smoothing=0.1), lambda: torch.nn.CrossEntropyLoss(label_smoothing=0.1),
         "class"),
        (lambda: nn.NLLLoss(reduction="sum"), lambda: torch.nn.NLLLoss(reduction="sum"), "class"),
        (lambda: nn.MSELoss(), lambda: torch.nn.MSELoss(), "value"),
    ],
)
def test_loss_modules_match_torch(ours, theirs, target_kind):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 5))
    t = rng.integers(0, 5, 6) if target_kind == "class" else rng.standard_normal((6, 5))
    hx = tensor(x, dtype="float64", requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    loss_ours = ours()(hx, tensor(t))
    loss_theirs = theirs()(tx, torch.tensor(t))
    loss_ours.backward()
    loss_theirs.backward()
    np.testing.assert_allclose(loss_ours.item(), loss_theirs.item(), rtol=1e-12)
    np.testing.assert_allclose(hx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 4000, 6), (20, 85, 85, 6)])  # 12,000 / 144,500 rows: chunked reductions
def test_linear_long_reductions_match_torch(shape):
    """Weight and bias gradients summed over many rows (split into row chunks) against PyTorch in float64."""
    from hyperion.tensor.ops.matmul import _chunks

    rows = int(np.prod(shape[:-1]))
    assert _chunks(rows) > 1
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal(shape), rng.standard_normal((5, shape[-1])), rng.standard_normal(5)
    up = rng.standard_normal((*shape[:-1], 5))
    ours = [tensor(v, requires_grad=True) for v in (x, w, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    out = nn.functional.linear(*ours)
    out_t = torch.nn.functional.linear(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-10)
    (out * tensor(up)).sum().backward()
    (out_t * torch.tensor(up)).sum().backward()
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), rtol=1e-9, atol=1e-9)
