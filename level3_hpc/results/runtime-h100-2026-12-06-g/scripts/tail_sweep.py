# ruff: noqa
"""LayerNorm backward at ROWS x C (argv), fp16 / bf16 / fp32: the table's pick and every tail candidate (and
the 16-bit smem/register configs for scale), CUDA events over back-to-back calls, against PyTorch; registers,
grid, and dx/dw/db errors against PyTorch's fp32 gradients."""
import sys

import cupy as cp
import torch

from hyperion.kernels import rows as rk

R = rk.RowConfig


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


def main(rows, C):
    for dt in ("f16", "bf16", "f32"):
        tdt = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}[dt]
        g = torch.Generator(device="cuda").manual_seed(C)
        xt = torch.randn(rows, C, device="cuda", generator=g).to(tdt)
        dyt = torch.randn(rows, C, device="cuda", generator=g).to(tdt)
        w = torch.randn(C, device="cuda", generator=g)
        xr = xt.detach().float()
        mean, rstd = xr.mean(1), torch.rsqrt(xr.var(1, unbiased=False) + 1e-5)
        # references in fp32 from the same 16-bit inputs
        x32 = xr.clone().requires_grad_(); w32 = w.clone().requires_grad_(); b32 = torch.zeros(C, device="cuda", requires_grad=True)
        torch.nn.functional.layer_norm(x32, (C,), w32, b32).backward(dyt.float())
        xa = xt.detach().requires_grad_(); wa = w.to(tdt).clone().requires_grad_(); ba = torch.zeros(C, device="cuda", dtype=tdt, requires_grad=True)
        y = torch.nn.functional.layer_norm(xa, (C,), wa, ba)
        t_torch = timed(lambda: torch.autograd.grad(y, (xa, wa, ba), dyt, retain_graph=True))
        conv = (lambda t: cp.asarray(t.view(torch.int16)).view(cp.uint16)) if dt == "bf16" else cp.asarray
        x, dy = conv(xt), conv(dyt)
        wc, mc, rc = cp.asarray(w), cp.asarray(mean), cp.asarray(rstd)
        table = rk.choose("ln_bwd", dt, rows, C)
        configs = [table] + [c for c in rk.candidates("ln_bwd", dt, C) if c.tail]
        print(f"{rows}x{C} {dt}: torch {t_torch:.4f} ms; table {table}", flush=True)
        for cfg in configs:
            rk.clear_plans()
            try:
                dx, dw, db = rk.rows_layernorm_backward(dy, x, wc, mc, rc, dt, config=cfg)
                dxt = torch.as_tensor(dx.view(cp.int16) if dt == "bf16" else dx, device="cuda")
                if dt == "bf16":
                    dxt = dxt.view(torch.bfloat16)
                e = lambda a, b: float((a.float() - b).norm() / b.norm())
                errs = (e(dxt, x32.grad), e(torch.as_tensor(dw, device="cuda"), w32.grad), e(torch.as_tensor(db, device="cuda"), b32.grad))
                t = timed(lambda cfg=cfg: rk.rows_layernorm_backward(dy, x, wc, mc, rc, dt, config=cfg))
                plan = next(iter(rk._PLANS.values())) if rk._PLANS else None
                regs = getattr(getattr(getattr(plan, "launch", None), "kernel", None), "num_regs", "?")
                print(f"  {t:.4f} ms ratio {t_torch / t:.3f} regs {regs} errs {errs[0]:.1e}/{errs[1]:.1e}/{errs[2]:.1e} {cfg}", flush=True)
            except Exception as exc:
                print("  failed", cfg, str(exc).splitlines()[0][:200], flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
