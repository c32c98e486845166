"""The reference MNIST runs, short: a subset and one epoch, with a real accuracy bar.

The full runs (``python -m hyperion.examples.mnist --model mlp|cnn``) take minutes and are
recorded in level1_tensor/README.md; CI runs these short, honest versions.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("zarr", reason="the bundled MNIST needs the data extra: pip install 'hyperion-tensor[data]'")
pytest.importorskip("tqdm", reason="the example needs the examples extra: pip install 'hyperion-tensor[examples]'")
pytest.importorskip("matplotlib", reason="the example needs the examples extra")

from hyperion.examples.mnist import parse_args, run  # noqa: E402


@pytest.mark.parametrize(
    ("model", "subset", "bar"),
    [("mlp", 30000, 0.90), ("cnn", 12000, 0.90)],
)
def test_short_run_learns_and_writes_its_outputs(tmp_path, capsys, model, subset, bar):
    accuracy = run(parse_args(["--model", model, "--epochs", "1", "--subset", str(subset), "--test-subset",
                               "2000", "--out", str(tmp_path), "--quiet"]))
    assert accuracy > bar
    for name in ("checkpoint.npz", "curves.png", "confusion.png", "history.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["test_accuracy"] == [accuracy]
    final = capsys.readouterr().out.strip().splitlines()[-1]
    assert final.startswith(f"final: model {model}  test accuracy {100 * accuracy:.2f}%  wall time")


def test_checkpoint_holds_model_and_optimizer_state(tmp_path):
    run(parse_args(["--model", "mlp", "--epochs", "1", "--subset", "1000", "--test-subset", "500",
                    "--out", str(tmp_path), "--quiet"]))
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as checkpoint:
        keys = set(checkpoint.files)
        meta = json.loads(checkpoint["meta"].tobytes())
    assert {"model/0.weight", "model/0.bias", "model/6.weight"} <= keys
    assert any(k.startswith("optim/0/exp_avg") for k in keys)
    assert meta["epoch"] == 1 and meta["param_groups"][0]["weight_decay"] == pytest.approx(1e-4)


def test_same_seed_same_run(tmp_path):
    args = ["--model", "mlp", "--epochs", "1", "--subset", "1000", "--test-subset", "500", "--quiet"]
    first = run(parse_args([*args, "--out", str(tmp_path / "a")]))
    second = run(parse_args([*args, "--out", str(tmp_path / "b")]))
    assert first == second
    a = np.load(tmp_path / "a" / "checkpoint.npz")["model/0.weight"]
    b = np.load(tmp_path / "b" / "checkpoint.npz")["model/0.weight"]
    np.testing.assert_array_equal(a, b)


def test_an_option_given_is_honoured_even_zero(tmp_path, capsys):
    from hyperion.examples.mnist import RECIPES, build_model, loaders
    from hyperion.tensor import manual_seed

    run(parse_args(["--model", "mlp", "--epochs", "1", "--subset", "500", "--test-subset", "100", "--lr", "0",
                    "--out", str(tmp_path), "--quiet"]))
    assert "AdamW lr 0.0," in capsys.readouterr().out  # not the recipe's rate
    manual_seed(0)  # what run does before the first step: same seed, same loaders, same initial weights
    loaders("mlp", RECIPES["mlp"].batch_size, 0, 500, 100, None, "mnist")
    initial = build_model("mlp").state_dict()
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as checkpoint:
        for name, value in initial.items():  # lr 0 (and AdamW's decay lr * wd = 0): nothing moved
            np.testing.assert_array_equal(checkpoint[f"model/{name}"], np.asarray(value), err_msg=name)


@pytest.mark.parametrize("option", [["--epochs", "0"], ["--batch-size", "0"], ["--lr", "-0.1"], ["--subset", "0"]])
def test_an_option_out_of_range_is_refused(option, capsys):
    with pytest.raises(SystemExit):
        parse_args(option)
    assert f"argument {option[0]}: must be at least" in capsys.readouterr().err
