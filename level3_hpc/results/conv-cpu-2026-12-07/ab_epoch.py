"""The MNIST CNN epoch with the compiled kernels of c717628 ("old") and of this tree ("new"), and PyTorch's,
in turns in one process (the kernels module swapped between epochs); 60-batch epochs, rotated order."""
import importlib.util
import os
import statistics
import sys

import numpy as np
import torch

import hyperion.kernels.conv_cpu as conv_cpu
from hyperion import nn
from hyperion.examples.bench import mnist_setup, run_epoch, timed
from hyperion.kernels.conv_cpu import kernels as new
from hyperion.runtime.backend import use_cpu_kernels

# the old kernels.py (`git show c717628:level3_hpc/src/hyperion/kernels/conv_cpu/kernels.py > /tmp/kernels_old.py`),
# importable by its own name (numba's cache looks the module up again)
sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[1])))
spec = importlib.util.spec_from_file_location("kernels_old", sys.argv[1])
old = importlib.util.module_from_spec(spec)
sys.modules["kernels_old"] = old
spec.loader.exec_module(old)
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
torch.set_num_threads(os.cpu_count() or 1)
(ours, opt_ours, data), (theirs, opt_theirs, theirs_data) = mnist_setup("cnn", True)


def epoch(mode):
    if mode == "PyTorch":
        return timed(lambda: run_epoch(theirs, opt_theirs, theirs_data, torch.nn.functional.cross_entropy))
    conv_cpu.kernels = old if mode == "old" else new
    sys.modules["hyperion.kernels.conv_cpu.kernels"] = conv_cpu.kernels
    use_cpu_kernels(True)
    try:
        return timed(lambda: run_epoch(ours, opt_ours, data, nn.functional.cross_entropy))
    finally:
        use_cpu_kernels(False)


modes = ["new", "old", "PyTorch"]
for m in modes:  # warm-up: compile both kernel sets
    if m != "PyTorch":
        conv_cpu.kernels = old if m == "old" else new
        sys.modules["hyperion.kernels.conv_cpu.kernels"] = conv_cpu.kernels
        use_cpu_kernels(True)
        run_epoch(ours, opt_ours, data[:2], nn.functional.cross_entropy)
        use_cpu_kernels(False)
run_epoch(theirs, opt_theirs, theirs_data[:2], torch.nn.functional.cross_entropy)
sec = {m: [] for m in modes}
for r in range(rounds):
    for m in modes[r % 3:] + modes[:r % 3]:
        sec[m].append(epoch(m))
    print(f"round {r}: " + ", ".join(f"{m} {sec[m][-1]:.2f} s" for m in modes), flush=True)
t = np.array(sec["PyTorch"])
medians = ", ".join(f"{m} {statistics.median(v):.2f} s" for m, v in sec.items())
print(f"60-batch epochs, {rounds} rounds, medians: {medians}")
old_new = np.median(np.array(sec["old"]) / np.array(sec["new"]))
new_torch, old_torch = np.median(np.array(sec["new"]) / t), np.median(np.array(sec["old"]) / t)
print(f"paired medians: old / new {old_new:.2f}, new / PyTorch {new_torch:.2f}, old / PyTorch {old_torch:.2f}")
