# ruff: noqa
"""One shape's row kernels, ours (the table's pick) and torch's, a few calls each: for ncu.  usage: R C kind dtype"""
import sys
import torch
from hyperion.kernels.suite import _row_cases

if __name__ == "__main__":
    r, c, kind, dtype = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    cases, _ = _row_cases(r, c, dtype, torch.Generator(device="cuda").manual_seed(1))
    theirs, mine = cases[kind]
    for _ in range(3):
        theirs(); mine()
    torch.cuda.synchronize()
