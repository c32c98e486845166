"""Task 2.14: ``gpt_parameter_count(config)`` (``hyperion.transformer.accounting``) for GPTs with and without
biases, tying and learned positions. The judge compares it with the real model: the reference run builds
``GPT(config)`` and counts the elements of ``model.parameters()`` (each shared Parameter once)."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "2.14"
TITLE = "Parameter count of the GPT"
POINTS = 4
TIMEOUT = 60
CONFIGS = [
    dict(vocab_size=65),
    dict(vocab_size=50, n_layer=2, n_head=2, n_embd=32, context_length=16, bias=False, tie_weights=False),
    dict(vocab_size=70, n_layer=3, n_head=3, n_embd=48, positional="rope"),
    dict(vocab_size=512, n_layer=1, n_head=4, n_embd=64, context_length=32, tie_weights=False),
    dict(vocab_size=7, n_layer=6, n_head=1, n_embd=8, context_length=4, bias=False),
]


@probe
def counts():
    from hyperion.transformer.accounting import gpt_parameter_count
    from hyperion.transformer.gpt import GPT, GPTConfig

    out = []
    for options in CONFIGS:
        config = GPTConfig(**options)
        try:  # the real model: built in the reference run (a skeleton's stubs may stop it here)
            actual = sum(p.numel() for p in GPT(config).parameters())
        except NotImplementedError:
            actual = None
        out.append({"count": gpt_parameter_count(config), "actual": actual})
    return out


def check_counts(sub, ref):
    for options, got, mine in zip(CONFIGS, sub, ref, strict=True):
        count = got["count"]
        assert_true(
            isinstance(count, int | np.integer) and not isinstance(count, bool),
            f"GPTConfig({options}): return an int, got {type(count).__name__}",
        )
        assert_true(
            count == mine["actual"],
            f"GPTConfig({options}): you count {count:,} parameters, the model has {mine['actual']:,}",
        )
