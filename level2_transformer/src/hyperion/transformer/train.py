"""Train a GPT on a text corpus with Hyperion alone.

    python -m hyperion.transformer.train                      # the CPU default: character-level Shakespeare
    python -m hyperion.transformer.train --config tiny        # a one-minute smoke run
    python -m hyperion.transformer.train --config gpu         # a larger model on device="cuda"
    python -m hyperion.transformer.train --lr 3e-4 --max-steps 500 --name my-run   # any field overridden
    python -m hyperion.transformer.train --name my-run --resume                    # continue a run

The loop: draw a batch of random windows, forward, backward, clip the gradients' joint norm,
AdamW step, advance the cosine-with-warm-up schedule. Every ``eval_interval`` steps it measures the
loss on fixed train and validation batches, prints a sample, and writes ``runs/<name>/``:
``checkpoint.npz`` (model, optimizer, schedule, both random streams, history), ``history.json``,
``loss.png`` and ``tokenizer.json``. ``--resume`` continues from the checkpoint exactly as if
the run had never stopped (same batches, same losses); ``--stop-at N`` ends a run early at step N
(one session of a longer run).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hyperion import nn, optim
from hyperion.nn.utils import clip_grad_norm_
from hyperion.tensor import manual_seed, no_grad, tensor
from hyperion.tensor import random as hyperion_random
from hyperion.transformer.corpus import get_batch, load_corpus, train_val_split
from hyperion.transformer.tokenizers import ByteBPETokenizer, CharTokenizer, Tokenizer, load_tokenizer


@dataclass
class TrainConfig:
    """Everything a run depends on; each field is also a command-line option (``--max-steps 500``)."""

    name: str = "shakespeare-char"
    out_dir: str = "runs"
    # data
    data: str = "auto"                  # shakespeare | mobydick | auto | a path (see corpus.py)
    tokenizer: str = "char"             # char | bpe
    bpe_vocab_size: int = 512           # bytes + merges
    bpe_train_chars: int = 1_000_000    # the BPE merges are learnt on this much of the training text
    val_fraction: float = 0.1
    # model (GPTConfig); None keeps GPTConfig's own default
    context_length: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool | None = False
    positional: str | None = None
    tie_weights: bool | None = None
    attention: str | None = None
    # optimisation
    batch_size: int = 16
    max_steps: int = 2000
    lr: float = 2e-3
    min_lr: float = 2e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    # evaluation, samples, checkpoints
    eval_interval: int = 250
    eval_batches: int = 16
    sample_tokens: int = 200
    temperature: float = 0.8
    top_k: int | None = None
    seed: int = 1337
    device: str = "cpu"
    stop_at: int | None = None          # end this session at this step (resume later)
    quiet: bool = False                 # no progress bar

    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.name


CONFIGS: dict[str, TrainConfig] = {
    # ~15 minutes on 2 CPU cores: character-level Shakespeare to a validation loss <= 1.80
    "cpu": TrainConfig(),
    # a larger model for a GPU: nanoGPT's shakespeare_char shape and dropout (masks are drawn on the GPU)
    "gpu": TrainConfig(name="shakespeare-char-gpu", device="cuda", context_length=256, n_layer=6, n_head=6,
                       n_embd=384, dropout=0.2, batch_size=64, max_steps=5000, lr=1e-3, min_lr=1e-4,
                       warmup_steps=200, eval_interval=500, eval_batches=20, sample_tokens=500),
    # a seconds-long smoke run (tests, first contact)
    "tiny": TrainConfig(name="tiny", context_length=32, n_layer=2, n_head=2, n_embd=32, batch_size=8,
                        max_steps=60, lr=3e-3, min_lr=3e-4, warmup_steps=10, eval_interval=20, eval_batches=4,
                        sample_tokens=60),
}


def check_config(config: TrainConfig) -> None:
    """Refuse settings that cannot train, naming the field."""
    for name in ("max_steps", "batch_size", "context_length", "eval_interval", "eval_batches"):
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(config, name)}")
    if not 0 <= config.warmup_steps <= config.max_steps:
        raise ValueError(f"warmup_steps ({config.warmup_steps}) must be between 0 and max_steps ({config.max_steps})")
    if config.lr <= 0 or not 0 <= config.min_lr <= config.lr:
        raise ValueError(f"need 0 < lr and 0 <= min_lr <= lr, got lr={config.lr}, min_lr={config.min_lr}")


# ---- pieces of a run ----------------------------------------------------------------------------


def build_tokenizer(config: TrainConfig, train_text: str) -> Tokenizer:
    if config.tokenizer == "char":
        return CharTokenizer.train(train_text)
    if config.tokenizer == "bpe":
        return ByteBPETokenizer.train(train_text[: config.bpe_train_chars], config.bpe_vocab_size)
    raise ValueError(f"unknown tokenizer {config.tokenizer!r}: use 'char' or 'bpe'")


def build_gpt(config: TrainConfig, vocab_size: int) -> nn.Module:
    """``hyperion.transformer.gpt.GPT`` from the config's model fields (``None`` fields: GPTConfig's default)."""
    from hyperion.transformer.gpt import GPT, GPTConfig

    names = {f.name for f in dataclasses.fields(GPTConfig)}
    given = {k: v for k, v in dataclasses.asdict(config).items() if k in names and v is not None}
    return GPT(GPTConfig(vocab_size=vocab_size, **given), device=config.device)


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay matrices and embeddings (dimension >= 2), not biases and LayerNorm gains (as nanoGPT)."""
    params = list(model.parameters())
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def train_step(model: nn.Module, optimizer: optim.Optimizer, params: list, x: np.ndarray, y: np.ndarray,
               config: TrainConfig) -> float:
    """One step on one batch: forward, backward, clip the gradients' joint norm, AdamW; the loss."""
    _, loss = model(tensor(x, device=config.device), tensor(y, device=config.device))
    optimizer.zero_grad()
    loss.backward()
    if config.grad_clip > 0:
        clip_grad_norm_(params, config.grad_clip)
    optimizer.step()
    return float(loss.item())


def evaluate(model: nn.Module, splits: dict[str, np.ndarray], config: TrainConfig) -> dict[str, float]:
    """Mean loss on ``eval_batches`` fixed batches per split (the same batches at every evaluation,
    drawn from their own stream so that evaluating never changes the training batches)."""
    model.eval()
    out = {}
    with no_grad():
        for split, data in splits.items():
            rng = np.random.default_rng(config.seed + 1)
            losses = []
            for _ in range(config.eval_batches):
                x, y = get_batch(data, config.batch_size, config.context_length, rng)
                _, loss = model(tensor(x, device=config.device), tensor(y, device=config.device))
                losses.append(float(loss.item()))
            out[split] = float(np.mean(losses))
    model.train()
    return out


def sample(model: nn.Module, tokenizer: Tokenizer, config: TrainConfig, tokens: int, seed: int) -> str:
    """``tokens`` new tokens after a newline, decoded."""
    prompt = tokenizer.encode("\n")
    idx = tensor(np.array([prompt], dtype=np.int64), device=config.device)
    model.eval()
    with no_grad():
        out = model.generate(idx, tokens, temperature=config.temperature, top_k=config.top_k, seed=seed)
    model.train()
    ids = np.asarray(out.numpy() if hasattr(out, "numpy") else out).reshape(-1)
    return tokenizer.decode(ids[len(prompt):].tolist())


def save_plot(history: dict[str, Any], path: Path) -> None:
    """Training loss per step (raw and smoothed) and the evaluated train/val losses; the lr below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.arange(1, len(history["train_loss"]) + 1)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=(3, 1))
    if len(steps):
        raw = np.asarray(history["train_loss"])
        smooth = np.convolve(raw, np.ones(min(50, len(raw))) / min(50, len(raw)), mode="valid")
        top.plot(steps, raw, color="tab:blue", alpha=0.25, linewidth=0.8, label="train (batch)")
        top.plot(steps[len(steps) - len(smooth):], smooth, color="tab:blue", label="train (mean of 50)")
    evals = history["eval"]
    if evals:
        top.plot([e["step"] for e in evals], [e["train"] for e in evals], "o-", color="tab:green",
                 label="train (eval batches)")
        top.plot([e["step"] for e in evals], [e["val"] for e in evals], "o-", color="tab:red", label="validation")
    top.set(ylabel="cross-entropy (nats/token)", title=history.get("title", "GPT training"))
    top.legend()
    top.grid(alpha=0.3)
    bottom.plot(steps, history["lr"], color="tab:gray")
    bottom.set(xlabel="step", ylabel="learning rate")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_checkpoint(path: Path, model: nn.Module, optimizer: optim.Optimizer, scheduler: Any,
                    rng: np.random.Generator, history: dict[str, Any], config: TrainConfig) -> None:
    """Everything needed to continue exactly: weights, optimizer moments, schedule position, both random
    streams (batches; dropout), the history so far and the config. Written to a temporary file first."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "step": len(history["train_loss"]),
        "batch_rng": json.dumps(rng.bit_generator.state),
        "dropout_rng": json.dumps(hyperion_random.default_generator.rng.bit_generator.state),
        "history": json.dumps(history),
        "config": json.dumps(dataclasses.asdict(config)),
    }
    partial = path.with_name(path.stem + ".partial.npz")
    nn.save(state, partial)
    partial.replace(path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path} (train without --resume first)")
    state = nn.load(path)
    for key in ("batch_rng", "dropout_rng", "history", "config"):
        state[key] = json.loads(state[key])
    return state


# ---- the run ------------------------------------------------------------------------------------


def train(config: TrainConfig, resume: bool = False,
          build_model: Callable[[TrainConfig, int], nn.Module] = build_gpt) -> dict[str, Any]:
    """Run (or continue) training as ``config`` says; returns the history (also in ``history.json``)."""
    start = time.perf_counter()
    check_config(config)
    run_dir = config.run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    corpus = load_corpus(config.data)
    train_text, val_text = train_val_split(corpus.text, config.val_fraction)
    tokenizer_path = run_dir / "tokenizer.json"
    state = load_checkpoint(run_dir / "checkpoint.npz") if resume else None
    tokenizer = load_tokenizer(tokenizer_path) if resume else build_tokenizer(config, train_text)
    tokenizer.save(tokenizer_path)
    splits = {"train": tokenizer.encode_array(train_text), "val": tokenizer.encode_array(val_text)}

    manual_seed(config.seed)
    model = build_model(config, tokenizer.vocab_size)
    optimizer = optim.AdamW(parameter_groups(model, config.weight_decay), lr=config.lr,
                            betas=(config.beta1, config.beta2))
    scheduler = optim.lr_scheduler.CosineWarmupLR(optimizer, config.warmup_steps, config.max_steps, config.min_lr)
    rng = np.random.default_rng(config.seed)
    history: dict[str, Any] = {"train_loss": [], "lr": [], "eval": [], "samples": [], "train_seconds": 0.0}
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = state["batch_rng"]
        hyperion_random.default_generator.rng.bit_generator.state = state["dropout_rng"]
        history = state["history"]
    history["title"] = f"{config.name}: {corpus.source.split(' (')[0]}, {config.tokenizer} tokens"

    n_params = sum(p.numel() for p in model.parameters())
    first = len(history["train_loss"])
    last = config.max_steps if config.stop_at is None else min(config.stop_at, config.max_steps)
    tokens_per_step = config.batch_size * config.context_length
    print(f"corpus: {corpus.source}: {len(corpus.text):,} characters -> {len(splits['train']):,} train and "
          f"{len(splits['val']):,} val tokens ({tokenizer!r}, vocabulary {tokenizer.vocab_size})")
    print(f"model: {n_params:,} parameters ({config.n_layer} layers, {config.n_head} heads, width {config.n_embd}, "
          f"context {config.context_length}) on {config.device}; AdamW lr {config.lr} (warm-up "
          f"{config.warmup_steps}, cosine to {config.min_lr}), batch {config.batch_size}; "
          f"steps {first} -> {last} of {config.max_steps}")

    def checkpoint_and_report(step: int) -> None:
        losses = evaluate(model, splits, config)
        history["eval"].append({"step": step, **losses})
        text = sample(model, tokenizer, config, config.sample_tokens, seed=config.seed + step)
        history["samples"].append({"step": step, "text": text})
        say(f"step {step:5d}  train {losses['train']:.4f}  val {losses['val']:.4f}  "
            f"({time.perf_counter() - start:.0f} s)\n--- sample ---\n{text}\n--------------")
        save_checkpoint(run_dir / "checkpoint.npz", model, optimizer, scheduler, rng, history, config)
        (run_dir / "history.json").write_text(json.dumps(history, indent=1))
        save_plot(history, run_dir / "loss.png")

    from tqdm import tqdm

    bar = tqdm(total=last, initial=first, unit="step", disable=config.quiet, dynamic_ncols=True)
    say = bar.write if not config.quiet else print
    if first == 0:
        checkpoint_and_report(0)
    model.train()
    params = list(model.parameters())
    for step in range(first + 1, last + 1):
        tick = time.perf_counter()
        x, y = get_batch(splits["train"], config.batch_size, config.context_length, rng)
        history["lr"].append(optimizer.param_groups[0]["lr"])
        value = train_step(model, optimizer, params, x, y, config)
        scheduler.step()
        if not math.isfinite(value):
            raise FloatingPointError(f"step {step}: the loss is {value}; lower the learning rate (now "
                                     f"{history['lr'][-1]:.2e}) or the gradient clip")
        history["train_loss"].append(value)
        history["train_seconds"] += time.perf_counter() - tick
        bar.set_postfix(loss=f"{value:.3f}", lr=f"{history['lr'][-1]:.1e}", refresh=False)
        bar.update()
        if step % config.eval_interval == 0 or step == last:
            checkpoint_and_report(step)
    bar.close()

    seconds = history["train_seconds"]
    done = len(history["train_loss"])
    rate = done * tokens_per_step / seconds if seconds else float("nan")
    final = history["eval"][-1]
    print(f"final: step {done}  val loss {final['val']:.4f}  train loss {final['train']:.4f}  "
          f"wall time {time.perf_counter() - start:.1f} s this session  {rate:,.0f} tokens/s in training steps  "
          f"(outputs in {run_dir})")
    return history


# ---- command line -------------------------------------------------------------------------------


def _parser_for(hint: Any) -> Callable[[str], Any]:
    """A string parser for a field's type: int, float, str, bool, or ``X | None``."""
    args = typing.get_args(hint)
    optional = type(None) in args and (typing.get_origin(hint) in (typing.Union, types.UnionType))
    base = next((a for a in args if a is not type(None)), hint) if optional else hint

    def parse(text: str) -> Any:
        if optional and text.lower() in ("none", "null", ""):
            return None
        if base is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
        return base(text)

    parse.__name__ = getattr(base, "__name__", "value")
    return parse


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, bool]:
    """``--config NAME`` picks a preset; ``--field value`` overrides any field; ``--resume`` continues."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="cpu", help="preset")
    parser.add_argument("--resume", action="store_true", help="continue runs/<name>/checkpoint.npz")
    parser.add_argument("--show-config", action="store_true", help="print the resolved config and exit")
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=_parser_for(hints[f.name]),
                            default=argparse.SUPPRESS, metavar=f.name.upper(),
                            help=f"preset: {getattr(CONFIGS['cpu'], f.name)!r} (cpu)")
    args = vars(parser.parse_args(argv))
    preset, resume, show = args.pop("config"), args.pop("resume"), args.pop("show_config")
    config = dataclasses.replace(CONFIGS[preset], **args)
    if resume:
        saved = config.run_dir() / "checkpoint.npz"
        if saved.is_file():  # the run's own config, with only what was given on the command line changed
            stored = {k: v for k, v in load_checkpoint(saved)["config"].items() if k in hints}
            stored["stop_at"] = None  # the interrupted session's stop, not this one's
            config = dataclasses.replace(TrainConfig(**stored), **args)
    if show:
        print(json.dumps(dataclasses.asdict(config), indent=1))
        sys.exit(0)
    return config, resume


def main(argv: list[str] | None = None) -> None:
    config, resume = parse_args(argv)
    train(config, resume=resume)


if __name__ == "__main__":
    main()


__all__ = ["CONFIGS", "TrainConfig", "build_gpt", "evaluate", "main", "parse_args", "sample", "train", "train_step"]
