"""bfloat16, emulated on float32 (numpy has no bfloat16 dtype).

A bfloat16 is the top 16 bits of a float32: the same sign bit and 8 exponent bits (so the same
range), but 7 stored mantissa bits instead of 23. Rounding a float32 to bfloat16 is therefore
integer arithmetic on its bit pattern: add half of the dropped part (with ties to even) and clear
the low 16 bits. The result is kept as a float32 whose low 16 bits are zero, which every numpy op
can consume; round again after each op to emulate bfloat16 arithmetic.
"""

from __future__ import annotations

import numpy as np

__all__ = ["to_bfloat16", "BFLOAT16_MANTISSA_BITS"]

BFLOAT16_MANTISSA_BITS = 7


def to_bfloat16(x: np.ndarray | float) -> np.ndarray:
    """Round ``x`` (cast to float32) to the nearest bfloat16, ties to even; returned as float32.

    Values beyond bfloat16's largest finite value round to ``±inf``; NaN stays NaN.
    """
    f = np.asarray(x, dtype=np.float32)
    bits = f.view(np.uint32).astype(np.uint64)  # room for the carry of the rounding add
    lsb = (bits >> 16) & 1  # the last bit kept: ties go to the value where it is 0
    rounded = ((bits + 0x7FFF + lsb) & 0xFFFF0000).astype(np.uint32)
    out = rounded.view(np.float32)
    return np.where(np.isnan(f), np.float32(np.nan), out).astype(np.float32)
