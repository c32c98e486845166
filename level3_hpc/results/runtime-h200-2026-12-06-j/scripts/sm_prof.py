# ruff: noqa
"""torch's softmax and ours in given configs at one shape, twice each (for ncu).  usage: R C dtype 'threads,block,cache,stream' ..."""
import sys
import torch
from hyperion.kernels import rows as rk
from hyperion.kernels.suite import _row_cases

if __name__ == "__main__":
    r, c, dtype = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    cfgs = [rk.RowConfig(*map(int, s.split(",")[:3]), stream=int(s.split(",")[3]), iters=int(s.split(",")[4])) for s in sys.argv[4:]]
    cases, _ = _row_cases(r, c, dtype, torch.Generator(device="cuda").manual_seed(1))
    theirs, mine = cases["softmax"]
    for _ in range(2):
        theirs()
        for cfg in cfgs:
            mine(cfg)
    torch.cuda.synchronize()
