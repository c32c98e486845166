"""Bandwidth of the 16-bit softmax (05_half) and LayerNorm forward (04_half_fwd) beside PyTorch's and a copy.

``python -m hyperion.kernels.bench_half [--rows 16384 --cols 4096] [--out DIR]`` prints a markdown table
(and writes it to ``DIR/bench_half.md``). GB/s counts one read and one write of the 16-bit tensor (weight,
bias and the fp32 statistics are left out: 0.1 % of the bytes at 4096 columns); the ceiling is a
device-to-device copy of the same bytes, timed in the same run; torch.softmax and
torch.nn.functional.layer_norm run on the same inputs in the same dtype. Times: CUDA events, median of 20
samples (hyperion.runtime.timing). Each of our outputs is also compared with PyTorch's (max |difference|
over max |value|) so a fast wrong kernel cannot pass unnoticed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hyperion.kernels.layernorm import layernorm_half
from hyperion.kernels.matmul import from_bf16_bits, to_bf16_bits
from hyperion.kernels.softmax import softmax_half
from hyperion.runtime.timing import time_gpu

BLOCKS = (128, 256, 512)


def _gbs(nbytes: int, ms: float) -> float:
    return nbytes / (ms * 1e-3) / 1e9


def _as_float(y, dtype: str):
    return y.astype(np.float32) if dtype == "f16" else from_bf16_bits(y)


def _torch_view(x, dtype: str, torch):
    """The same device memory as a torch tensor of the 16-bit type (no copy)."""
    if dtype == "f16":
        return torch.as_tensor(x, device="cuda")
    return torch.as_tensor(x.view(np.int16), device="cuda").view(torch.bfloat16)


def _diff(ours, theirs) -> float:
    import cupy

    ref = cupy.asarray(theirs.float())
    return float(cupy.abs(ours - ref).max() / cupy.abs(ref).max())


def run(rows: int, cols: int) -> list[dict]:
    import cupy
    import torch

    nbytes = 2 * rows * cols * 2  # read + write, 2 bytes an element
    src = cupy.empty(rows * cols, np.uint16)
    dst = cupy.empty_like(src)

    def copy():
        stream = cupy.cuda.get_current_stream().ptr
        cupy.cuda.runtime.memcpyAsync(dst.data.ptr, src.data.ptr, rows * cols * 2, 3, stream)

    copy_ms = time_gpu(copy)["median_ms"]
    table = [{"op": "copy", "dtype": "-", "impl": "cudaMemcpy D2D", "ms": copy_ms, "diff": float("nan")}]
    rng = cupy.random.default_rng(0)
    x32 = rng.standard_normal((rows, cols), dtype=np.float32) * 3
    w = rng.standard_normal(cols, dtype=np.float32)
    b = rng.standard_normal(cols, dtype=np.float32)
    for dtype in ("f16", "bf16"):
        x = x32.astype(np.float16) if dtype == "f16" else to_bf16_bits(x32)
        tx = _torch_view(x, dtype, torch)
        tw, tb = torch.as_tensor(w, device="cuda"), torch.as_tensor(b, device="cuda")
        ref_sm = torch.softmax(tx, dim=-1)
        ref_ln = torch.nn.functional.layer_norm(tx, (cols,), tw.to(tx.dtype), tb.to(tx.dtype), 1e-5)
        for block in BLOCKS:
            diff = _diff(_as_float(softmax_half(x, dtype, block), dtype), ref_sm)
            ms = time_gpu(lambda: softmax_half(x, dtype, block))["median_ms"]
            table.append(
                {"op": "softmax", "dtype": dtype, "impl": f"05_half, {block} threads", "ms": ms, "diff": diff}
            )
        ms = time_gpu(lambda: torch.softmax(tx, dim=-1))["median_ms"]
        table.append({"op": "softmax", "dtype": dtype, "impl": "torch.softmax", "ms": ms, "diff": 0.0})
        for block in BLOCKS:
            diff = _diff(_as_float(layernorm_half(x, w, b, 1e-5, dtype, block)[0], dtype), ref_ln)
            ms = time_gpu(lambda: layernorm_half(x, w, b, 1e-5, dtype, block))["median_ms"]
            impl = f"04_half_fwd, {block} threads"
            table.append({"op": "layernorm fwd", "dtype": dtype, "impl": impl, "ms": ms, "diff": diff})
        # torch's fused kernel wants weight and bias in x's dtype (mixed fp32 parameters take a slower path)
        tw16, tb16 = tw.to(tx.dtype), tb.to(tx.dtype)
        ms = time_gpu(lambda: torch.nn.functional.layer_norm(tx, (cols,), tw16, tb16, 1e-5))["median_ms"]
        table.append(
            {"op": "layernorm fwd", "dtype": dtype, "impl": "torch layer_norm", "ms": ms, "diff": 0.0}
        )
    for row in table:
        row["gbs"] = _gbs(nbytes, row["ms"])
        row["pct_copy"] = 100 * copy_ms / row["ms"]
    return table


def markdown(table: list[dict], rows: int, cols: int, gpu: str) -> str:
    lines = [
        f"{rows}x{cols}, {gpu}; GB/s = (read + write of the 16-bit tensor) / median time",
        "",
        "| op | dtype | implementation | ms | GB/s | % of copy | max diff vs torch |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in table:
        diff = "-" if np.isnan(r["diff"]) else f"{r['diff']:.1e}"
        cells = [
            r["op"],
            r["dtype"],
            r["impl"],
            f"{r['ms']:.4f}",
            f"{r['gbs']:.0f}",
            f"{r['pct_copy']:.1f}",
            diff,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import cupy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=16384)
    parser.add_argument("--cols", type=int, default=4096)
    parser.add_argument("--out", type=Path, default=None, help="folder for bench_half.md")
    args = parser.parse_args()
    gpu = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    text = markdown(run(args.rows, args.cols), args.rows, args.cols, gpu)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_half.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
