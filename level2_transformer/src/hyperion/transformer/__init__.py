"""Hyperion level 2: attention, RoPE, a GPT, sampling, tokenizers and FlashAttention.

Import what you need from its module (``hyperion.transformer.gpt``, ``.attention``, ``.flash``, ...);
each module is one idea and reads top to bottom.
"""
