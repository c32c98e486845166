"""Every LayerNorm-backward candidate at one shape, fp16, timed with CUDA events against torch (back-to-back)."""
import sys
import cupy as cp
import numpy as np
import torch
from hyperion.kernels import rows as rk

rows, C = int(sys.argv[1]), int(sys.argv[2])
x = cp.random.standard_normal((rows, C), dtype=cp.float32).astype(cp.float16)
dy = cp.random.standard_normal((rows, C), dtype=cp.float32).astype(cp.float16)
w = cp.random.standard_normal(C, dtype=cp.float32)
xf = x.astype(cp.float32)
mean = xf.mean(1); rstd = 1 / cp.sqrt(xf.var(1) + 1e-5)

def timed(fn, n=30):
    for _ in range(3): fn()
    s, e = cp.cuda.Event(), cp.cuda.Event()
    s.record()
    for _ in range(n): fn()
    e.record(); e.synchronize()
    return cp.cuda.get_elapsed_time(s, e) / n

xt = torch.as_tensor(x, device="cuda").requires_grad_()
wt = torch.as_tensor(w, device="cuda").half().requires_grad_(); bt = torch.zeros(C, device="cuda", dtype=torch.float16, requires_grad=True)
dyt = torch.as_tensor(dy, device="cuda")
y = torch.nn.functional.layer_norm(xt, (C,), wt, bt)
def torch_bwd():
    torch.autograd.grad(y, (xt, wt, bt), dyt, retain_graph=True)
t_torch = timed(torch_bwd)
ref = rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16")[0]
out = []
for cfg in rk.candidates("ln_bwd", "f16", C):
    rk.clear_plans()
    try:
        dx = rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16", config=cfg)[0]
        err = float(cp.abs(dx.astype(cp.float32) - ref.astype(cp.float32)).max())
        t = timed(lambda: rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16", config=cfg))
        out.append((t, cfg, err))
    except Exception as exc:  # noqa: BLE001
        print("failed", cfg, exc)
out.sort(key=lambda r: r[0])
print(f"{rows}x{C} fp16 LayerNorm backward; torch {t_torch:.4f} ms")
for t, cfg, err in out[:12]:
    print(f"  {t:.4f} ms  ratio {t_torch / t:.2f}  err {err:.1e}  {cfg}")
