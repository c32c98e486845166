"""The level-1 MLP step on cuda, eager, with level 3's kernels: best ms, then a host profile (cProfile)."""

import cProfile
import io
import pstats
import time

import numpy as np

import hyperion.tensor as ht
from hyperion import nn, optim
from hyperion.runtime.backend import use_kernels

use_kernels(True, matmul_version=None)
rng = np.random.default_rng(0)
x, y = rng.standard_normal((128, 784), dtype=np.float32), rng.integers(0, 10, 128)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
model.to("cuda")
opt, loss_fn = optim.SGD(model.parameters(), lr=0.01), nn.CrossEntropyLoss()
hx, hy = ht.tensor(x, device="cuda"), ht.tensor(y, device="cuda")
backend = ht.get_backend("cuda")


def step() -> None:
    opt.zero_grad()
    loss_fn(model(hx), hy).backward()
    opt.step()


for _ in range(50):
    step()
backend.synchronize()
best = 1e9
for _ in range(5):
    start = time.perf_counter()
    for _ in range(300):
        step()
    backend.synchronize()
    best = min(best, (time.perf_counter() - start) / 300)
print(f"eager MLP step {best * 1e3:.3f} ms")
print(dict(getattr(backend, "calls", {})))
profiler = cProfile.Profile()
profiler.enable()
for _ in range(300):
    step()
backend.synchronize()
profiler.disable()
text = io.StringIO()
pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(45)
print(text.getvalue()[-9000:])
