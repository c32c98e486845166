"""FlashAttention's claims 1, 2 and 4 (speed, memory, exactness) re-measured with level 3's Hopper kernels.

    python -m hyperion.kernels.attention.repro [--quick] [--out DIR]

Level 2's ``repro`` (``nox -s repro-flash``) checks the paper's claims on level 2's kernels (05 forward, 06
backward), which run on any NVIDIA GPU. On a Hopper GPU this runs the same measurements, the same shapes and
the same baselines (standard attention, SDPA's flash backend) through level 3's dispatch: 10 forward and 11
backward, each launched through its plan (:mod:`.planned`). The IO sweep (claim 3) stays level 2's: it
varies level 2's tile sizes.
"""
from __future__ import annotations

import sys

from hyperion.transformer.flash import repro

OURS = "level 3's Hopper dispatch (10 forward, 11 backward)"


def main(argv: list[str] | None = None) -> int:
    from hyperion.kernels.attention import flash_backward_hopper, flash_forward_hopper, hopper_available

    try:
        hopper = hopper_available()
    except Exception as error:  # no CuPy, no driver, no GPU
        raise SystemExit(f"hyperion.kernels.attention.repro needs CuPy and a Hopper GPU: {error}") from error
    if not hopper:
        raise SystemExit("hyperion.kernels.attention.repro needs a Hopper GPU (sm_90a: H100 or H200); "
                         "on another GPU run level 2's: python -m hyperion.transformer.flash.repro")
    argv = list(sys.argv[1:] if argv is None else argv)
    return repro.main([*argv, "--no-ncu"], forward=flash_forward_hopper, backward=flash_backward_hopper, ours=OURS)


if __name__ == "__main__":
    raise SystemExit(main())
