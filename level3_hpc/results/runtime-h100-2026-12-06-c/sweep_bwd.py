"""Every LayerNorm-backward candidate at one shape, fp16, timed with CUDA events against PyTorch (back-to-back).

    python3 sweep_bwd.py ROWS C      (on a GPU machine, with the packages on PYTHONPATH)

As run in call 6 (the code of that call, reformatted for the linter; the timing is the same).
"""

import sys

import cupy as cp
import torch

from hyperion.kernels import rows as rk


def timed(fn, n: int = 30) -> float:
    """Mean ms per call over ``n`` back-to-back calls after 3 warm-ups (CUDA events)."""
    for _ in range(3):
        fn()
    start, end = cp.cuda.Event(), cp.cuda.Event()
    start.record()
    for _ in range(n):
        fn()
    end.record()
    end.synchronize()
    return cp.cuda.get_elapsed_time(start, end) / n


def main(rows: int, C: int) -> None:
    x = cp.random.standard_normal((rows, C), dtype=cp.float32).astype(cp.float16)
    dy = cp.random.standard_normal((rows, C), dtype=cp.float32).astype(cp.float16)
    w = cp.random.standard_normal(C, dtype=cp.float32)
    xf = x.astype(cp.float32)
    mean, rstd = xf.mean(1), 1 / cp.sqrt(xf.var(1) + 1e-5)

    xt = torch.as_tensor(x, device="cuda").requires_grad_()
    wt = torch.as_tensor(w, device="cuda").half().requires_grad_()
    bt = torch.zeros(C, device="cuda", dtype=torch.float16, requires_grad=True)
    dyt = torch.as_tensor(dy, device="cuda")
    y = torch.nn.functional.layer_norm(xt, (C,), wt, bt)
    t_torch = timed(lambda: torch.autograd.grad(y, (xt, wt, bt), dyt, retain_graph=True))

    ref = rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16")[0]  # the table's pick
    out = []
    for cfg in rk.candidates("ln_bwd", "f16", C):
        rk.clear_plans()
        try:
            dx = rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16", config=cfg)[0]
            err = float(cp.abs(dx.astype(cp.float32) - ref.astype(cp.float32)).max())
            t = timed(lambda cfg=cfg: rk.rows_layernorm_backward(dy, x, w, mean, rstd, "f16", config=cfg))
            out.append((t, cfg, err))
        except Exception as exc:  # noqa: BLE001 - a configuration that cannot launch here is reported
            print("failed", cfg, exc)
    out.sort(key=lambda r: r[0])
    print(f"{rows}x{C} fp16 LayerNorm backward; torch {t_torch:.4f} ms")
    for t, cfg, err in out[:12]:
        print(f"  {t:.4f} ms  ratio {t_torch / t:.2f}  err {err:.1e}  {cfg}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
