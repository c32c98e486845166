"""Accounting for a GPT: how many parameters it has and how many FLOPs a forward pass costs.

The two numbers every scaling argument starts from (Kaplan et al. 2020; Stanford CS336, assignment 1):
training compute is about ``6·N·D`` FLOPs for ``N`` parameters and ``D`` tokens, because a forward
pass costs about ``2·N`` FLOPs per token (one multiply and one add per weight) and the backward pass
twice that. Here both are counted exactly for :class:`~hyperion.transformer.gpt.GPT`, from its
config alone, and graded against the real model: the parameters it allocates, and the FLOPs of the
matrix products its forward pass runs. The written problems of the level (``docs/level2/problems.md``)
work through the same sums by hand, and then memory.
"""

from __future__ import annotations

from hyperion.transformer.gpt import GPTConfig


def gpt_parameter_count(config: GPTConfig) -> int:
    """Task 2.14: the number of parameters of ``GPT(config)``, each shared Parameter counted once.

    With ``C = n_embd``, ``V = vocab_size``, ``L = n_layer``: the token embedding ``V·C``; the learned
    position embedding ``context_length·C`` (none with RoPE, which has no parameters); per block two
    LayerNorms (``C`` weights each, ``+C`` biases with ``bias``), attention ``qkv`` (``C → 3C``) and
    ``proj`` (``C → C``), MLP ``fc`` (``C → 4C``) and ``proj`` (``4C → C``), each Linear with a bias
    vector of its output size when ``bias``; the final LayerNorm; the LM head ``V·C`` (no bias)
    unless ``tie_weights``, when it is the token embedding and adds nothing.
    """
    # BEGIN SOLUTION
    c, v, n = config.n_embd, config.vocab_size, config.n_layer
    b = 1 if config.bias else 0
    layer_norm = c + b * c
    attention = (c * 3 * c + b * 3 * c) + (c * c + b * c)
    mlp = (c * 4 * c + b * 4 * c) + (4 * c * c + b * c)
    total = v * c + (config.context_length * c if config.positional == "learned" else 0)
    total += n * (2 * layer_norm + attention + mlp) + layer_norm
    return total + (0 if config.tie_weights else v * c)
    # END SOLUTION


def gpt_forward_flops(config: GPTConfig, seq_len: int, batch: int = 1) -> int:
    """Task 2.15: the FLOPs of the matrix products in one forward pass over ``batch`` sequences of
    ``seq_len`` tokens (naive attention, which computes every score, masked or not).

    Count ``2·m·k·n`` for every product of an ``(m, k)`` and a ``(k, n)`` matrix (a multiply and an
    add per term) and nothing else (embedding lookups, LayerNorm, softmax, GELU, residual adds and
    the loss are cheap by comparison: O(T·C) each). With ``T = seq_len``, ``C = n_embd``,
    ``H = n_head``, ``d = C/H``, per block and sequence: ``qkv`` ``2·T·C·3C``; scores ``QKᵀ``
    ``2·T·d·T`` per head; ``softmax·V`` ``2·T·T·d`` per head; ``proj`` ``2·T·C·C``; MLP
    ``2·T·C·4C + 2·T·4C·C``. Then the LM head ``2·T·C·V``. Multiply by ``batch``.
    """
    # BEGIN SOLUTION
    t, c, v, h = seq_len, config.n_embd, config.vocab_size, config.n_head
    d = c // h
    per_block = 2 * t * c * 3 * c + h * (2 * t * d * t + 2 * t * t * d) + 2 * t * c * c + 2 * (2 * t * c * 4 * c)
    return batch * (config.n_layer * per_block + 2 * t * c * v)
    # END SOLUTION
