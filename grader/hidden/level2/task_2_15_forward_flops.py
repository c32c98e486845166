"""Task 2.15: ``gpt_forward_flops(config, seq_len, batch)`` (``hyperion.transformer.accounting``).

The judge compares it with the FLOPs the reference GPT's forward pass actually runs: in the reference
run, ``Matmul.forward`` and the fused ``Linear.forward`` of level 1 are wrapped to add ``2 * (output
elements) * (inner dimension)`` for every product while ``GPT(config)`` runs on a ``(batch, seq_len)``
input, so the count is measured, not derived from the same formula."""

import numpy as np

from hyperion_grader.hidden import assert_true, probe

TASK = "2.15"
TITLE = "Forward FLOPs of the GPT"
POINTS = 4
TIMEOUT = 120
CASES = [
    (dict(vocab_size=65, n_layer=2, n_head=4, n_embd=64, context_length=32), 20, 3),
    (
        dict(vocab_size=50, n_layer=1, n_head=2, n_embd=32, context_length=16, bias=False, tie_weights=False),
        16,
        1,
    ),
    (dict(vocab_size=30, n_layer=3, n_head=3, n_embd=24, context_length=12), 7, 2),
]


@probe
def flops():
    import numpy as np

    from hyperion.tensor.ops import matmul as mm
    from hyperion.transformer.accounting import gpt_forward_flops
    from hyperion.transformer.gpt import GPT, GPTConfig

    counted = [0]
    matmul_forward, linear_forward = mm.Matmul.forward, mm.Linear.forward

    def count_matmul(self, a, b, *args, **kwargs):
        out = matmul_forward(self, a, b, *args, **kwargs)
        counted[0] += 2 * int(out.size) * int(a.shape[-1])
        return out

    def count_linear(self, x, weight, bias=None):
        out = linear_forward(self, x, weight, bias)
        counted[0] += 2 * int(out.size) * int(weight.shape[1])
        return out

    out = []
    for options, seq_len, batch in CASES:
        config = GPTConfig(**options)
        measured = None
        try:  # the real forward pass: measured in the reference run
            model = GPT(config)
            mm.Matmul.forward, mm.Linear.forward = count_matmul, count_linear
            counted[0] = 0
            model(np.zeros((batch, seq_len), dtype=np.int64))
            measured = counted[0]
        except NotImplementedError:
            pass
        finally:
            mm.Matmul.forward, mm.Linear.forward = matmul_forward, linear_forward
        out.append({"flops": gpt_forward_flops(config, seq_len, batch), "measured": measured})
    return out


def check_flops(sub, ref):
    for (options, seq_len, batch), got, mine in zip(CASES, sub, ref, strict=True):
        assert_true(mine["measured"] is not None, "the reference forward pass could not be measured")
        what = f"GPTConfig({options}), batch {batch} x {seq_len} tokens"
        assert_true(
            isinstance(got["flops"], int | np.integer) and not isinstance(got["flops"], bool),
            f"{what}: return an int, got {type(got['flops']).__name__}",
        )
        assert_true(
            got["flops"] == mine["measured"],
            f"{what}: you count {got['flops']:,} FLOPs, the forward pass runs {mine['measured']:,} in its matmuls",
        )
