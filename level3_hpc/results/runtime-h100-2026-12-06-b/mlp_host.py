"""The level-1 MLP step on cuda, eager, with level 3's kernels: best ms, then a host profile (cProfile)."""
import cProfile, pstats, sys, time, io
import numpy as np
import hyperion.tensor as ht
from hyperion import nn, optim
from hyperion.runtime.backend import use_kernels
use_kernels(True, matmul_version=None)
rng = np.random.default_rng(0)
x, y = rng.standard_normal((128, 784), dtype=np.float32), rng.integers(0, 10, 128)
model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)); model.to("cuda")
opt, loss_fn = optim.SGD(model.parameters(), lr=0.01), nn.CrossEntropyLoss()
hx, hy = ht.tensor(x, device="cuda"), ht.tensor(y, device="cuda")
b = ht.get_backend("cuda")
def step():
    opt.zero_grad(); loss_fn(model(hx), hy).backward(); opt.step()
for _ in range(50): step()
b.synchronize()
best = 1e9
for _ in range(5):
    t = time.perf_counter()
    for _ in range(300): step()
    b.synchronize(); best = min(best, (time.perf_counter() - t) / 300)
print(f"eager MLP step {best*1e3:.3f} ms"); print(dict(getattr(b, "calls", {})))
pr = cProfile.Profile(); pr.enable()
for _ in range(300): step()
b.synchronize(); pr.disable()
s = io.StringIO(); pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(45); print(s.getvalue()[-9000:])
