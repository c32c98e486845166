"""Peak numpy memory of the CPU GPT step (tracemalloc), as one step and as a ``loss = step()`` loop.

    OPENBLAS_NUM_THREADS=1 python level3_hpc/results/cpu-backward-frees-2026-12-05/peak_memory.py 4 128

Run at two commits (``git checkout``) to compare: the loop holds the last loss while the next step runs,
so whatever the last step's graph keeps alive adds to the next step's peak.
"""

import sys
import tracemalloc

from hyperion.kernels.gpt_bench import CONFIG
from hyperion.runtime.bench_gpu import _gpt_step

B, T = int(sys.argv[1]), int(sys.argv[2])
model, step, _ = _gpt_step(B, T, device="cpu", config={**CONFIG, "context_length": T})
step()
tracemalloc.start()
base = tracemalloc.get_traced_memory()[0]
loss = step()
cur, peak = tracemalloc.get_traced_memory()
print(f"B={B} T={T} one step: peak {(peak - base) / 2**20:.1f} MiB above the start, "
      f"{(cur - base) / 2**20:.1f} MiB still held after it (its gradients, and whatever the returned loss keeps alive)")
del loss
tracemalloc.reset_peak()
for _ in range(3):
    loss = step()  # a training loop: the last loss is held while the next step runs
cur, peak = tracemalloc.get_traced_memory()
print(f"B={B} T={T} loop of 3: peak {(peak - base) / 2**20:.1f} MiB above the same start (model and gradients)")
