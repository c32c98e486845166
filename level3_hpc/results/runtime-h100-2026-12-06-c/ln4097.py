"""fp16 LayerNorm backward at 16384 x C: explicit configurations timed (CUDA events), or one call for ncu."""

import sys

import cupy as cp
import torch

from hyperion.kernels import rows as rk

R = rk.RowConfig
CALL6 = [R(256, 256, 3, smem_acc=1), R(256, 256, 3), R(256, 256, 3, min_blocks=2), R(256, 256, 3, min_blocks=3),
         R(512, 512, 2), R(512, 512, 2, min_blocks=2), R(256, 256, 3, reload=1),
         R(256, 256, 3, reload=1, min_blocks=3)]
CALL7 = [R(256, 256, 3, smem_acc=1), R(256, 256, 3, smem_acc=1, min_blocks=3),
         R(256, 256, 3, smem_acc=1, min_blocks=4), R(256, 256, 3, smem_acc=1, min_blocks=2),
         R(128, 128, 5, smem_acc=1, min_blocks=6), R(512, 512, 2, smem_acc=1, min_blocks=2)]
CONFIGS = CALL7  # call 6 ran this file with CONFIGS = CALL6


def timed(fn, n=30):
    for _ in range(3):
        fn()
    best = 1e9
    for _ in range(3):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        for _ in range(n):
            fn()
        end.record()
        end.synchronize()
        best = min(best, cp.cuda.get_elapsed_time(start, end) / n)
    return best


def main(mode: str, C: int) -> None:
    rows = 16384
    x = cp.random.standard_normal((rows, C), dtype=cp.float32).astype(cp.float16)
    dy = cp.random.standard_normal((rows, C), dtype=cp.float32).astype(cp.float16)
    w = cp.random.standard_normal(C, dtype=cp.float32)
    xf = x.astype(cp.float32)
    mean, rstd = xf.mean(1), 1 / cp.sqrt(xf.var(1) + 1e-5)
    if mode == "once":  # the table's pick, once after a warm-up (ncu profiles the second launch)
        for _ in range(2):
            rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16")
        cp.cuda.runtime.deviceSynchronize()
        return
    xt = torch.as_tensor(x, device="cuda").requires_grad_()
    wt = torch.as_tensor(w, device="cuda").half().requires_grad_()
    bt = torch.zeros(C, device="cuda", dtype=torch.float16, requires_grad=True)
    y = torch.nn.functional.layer_norm(xt, (C,), wt, bt)
    dyt = torch.as_tensor(dy, device="cuda")
    t_torch = timed(lambda: torch.autograd.grad(y, (xt, wt, bt), dyt, retain_graph=True))
    print(f"{rows}x{C} fp16: torch {t_torch:.4f} ms")
    ref = rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16")[0].astype(cp.float32)
    for cfg in CONFIGS:
        rk.clear_plans()
        try:
            dx = rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16", config=cfg)[0]
            err = float(cp.abs(dx.astype(cp.float32) - ref).max())
            t = timed(lambda cfg=cfg: rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16", config=cfg))
            plan = rk._PLANS[next(iter(rk._PLANS))]
            print(f"  {t:.4f} ms  err {err:.1e}  regs {plan.launch.kernel.num_regs}  grid {plan.launch.head[1]}  {cfg}",
                  flush=True)
        except Exception as exc:  # noqa: BLE001
            print("  failed", cfg, str(exc).splitlines()[0][:200], flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
