"""The training script on a small text with the tiny config: it learns, it writes its outputs, a resumed
run continues exactly as an uninterrupted one, and the command line sets every field."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from hyperion.transformer import train as TR

LINES = [
    "To be, or not to be, that is the question:",
    "Whether 'tis nobler in the mind to suffer",
    "The slings and arrows of outrageous fortune,",
    "Or to take arms against a sea of troubles",
    "And by opposing end them. To die: to sleep;",
]


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("data") / "verse.txt"
    path.write_text("\n".join(rng.choice(LINES, size=600)) + "\n", encoding="utf-8")
    return path


def tiny(tmp_path, text_file, **changes) -> TR.TrainConfig:
    base = dataclasses.replace(TR.CONFIGS["tiny"], data=str(text_file), out_dir=str(tmp_path), quiet=True,
                               sample_tokens=20)
    return dataclasses.replace(base, **changes)


def test_tiny_run_learns_and_writes_its_outputs(tmp_path, text_file):
    config = tiny(tmp_path, text_file, max_steps=60, eval_interval=20)
    history = TR.train(config)
    losses = history["train_loss"]
    assert len(losses) == 60 and all(math.isfinite(v) for v in losses)
    assert [e["step"] for e in history["eval"]] == [0, 20, 40, 60]
    first, last = history["eval"][0], history["eval"][-1]
    assert first["val"] > math.log(20)  # untrained: about log(vocabulary)
    assert last["val"] < first["val"] - 1.0 and np.mean(losses[-10:]) < np.mean(losses[:10]) - 1.0
    run = tmp_path / "tiny"
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((run / "history.json").read_text())["train_loss"] == losses
    assert (run / "checkpoint.npz").is_file() and (run / "tokenizer.json").is_file()
    assert isinstance(history["samples"][-1]["text"], str)


def test_learning_rate_warms_up_then_follows_the_cosine(tmp_path, text_file):
    config = tiny(tmp_path, text_file, max_steps=30, eval_interval=30, warmup_steps=10, lr=1e-2, min_lr=1e-3)
    lrs = np.array(TR.train(config)["lr"])
    assert np.allclose(lrs[:10], 1e-2 * np.arange(10) / 10)
    expected = 1e-3 + (1e-2 - 1e-3) * 0.5 * (1 + np.cos(np.pi * np.arange(20) / 20))
    assert np.allclose(lrs[10:], expected)


@pytest.mark.parametrize("dropout", [0.0, 0.1])  # with dropout, the dropout stream must resume too
def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, text_file, dropout):
    whole = TR.train(tiny(tmp_path / "a", text_file, max_steps=24, eval_interval=8, dropout=dropout))
    interrupted = tiny(tmp_path / "b", text_file, max_steps=24, eval_interval=8, stop_at=16, dropout=dropout)
    first = TR.train(interrupted)
    assert len(first["train_loss"]) == 16
    resumed = TR.train(dataclasses.replace(interrupted, stop_at=None), resume=True)
    assert resumed["train_loss"] == whole["train_loss"]  # the same floats, not just close
    assert resumed["eval"] == whole["eval"] and resumed["lr"] == whole["lr"]
    assert resumed["samples"] == whole["samples"]


def test_resume_without_a_checkpoint_says_so(tmp_path, text_file):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        TR.train(tiny(tmp_path, text_file, name="never-run"), resume=True)


def test_bad_settings_name_the_field(tmp_path, text_file):
    with pytest.raises(ValueError, match=r"warmup_steps \(100\) must be between 0 and max_steps \(10\)"):
        TR.train(tiny(tmp_path, text_file, max_steps=10, warmup_steps=100))


def test_bpe_tokens(tmp_path, text_file):
    history = TR.train(tiny(tmp_path, text_file, tokenizer="bpe", bpe_vocab_size=300, max_steps=20,
                            eval_interval=20))
    assert history["eval"][-1]["val"] < history["eval"][0]["val"]
    tokenizer = TR.load_tokenizer(tmp_path / "tiny" / "tokenizer.json")
    assert tokenizer.vocab_size == 300


def test_command_line_overrides_and_resume(tmp_path, text_file, capsys):
    args = ["--config", "tiny", "--data", str(text_file), "--out-dir", str(tmp_path), "--max-steps", "6",
            "--warmup-steps", "2", "--eval-interval", "3", "--quiet", "true", "--top-k", "5", "--sample-tokens", "10"]
    config, resume = TR.parse_args(args)
    assert (config.max_steps, config.eval_interval, config.quiet, config.top_k, resume) == (6, 3, True, 5, False)
    assert config.n_embd == TR.CONFIGS["tiny"].n_embd
    TR.main([*args, "--stop-at", "3"])
    assert "final: step 3" in capsys.readouterr().out
    config, resume = TR.parse_args(["--config", "tiny", "--out-dir", str(tmp_path), "--resume"])
    assert resume and config.data == str(text_file) and config.max_steps == 6 and config.stop_at is None
    TR.main(["--config", "tiny", "--out-dir", str(tmp_path), "--resume"])
    assert "final: step 6" in capsys.readouterr().out
    assert TR.parse_args(["--top-k", "none"])[0].top_k is None
    with pytest.raises(SystemExit):
        TR.parse_args(["--quiet", "maybe"])
