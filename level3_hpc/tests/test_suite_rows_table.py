"""The suite's row and matmul tables on the CPU: each row cell's share of a device copy's speed comes from the
bytes the kernel must move and its GPU time alone; matmul cells show GPU time alone beside back-to-back time (no
GPU here: the results are made up, the arithmetic is the suite's)."""

from __future__ import annotations

from hyperion.kernels import suite


def _cell(torch_ms: float, ours_ms: float) -> dict:
    return {"torch_ms": torch_ms, "ours_ms": ours_ms, "ratio": torch_ms / ours_ms, "err": 0.0,
            "torch_call_ms": torch_ms, "ours_call_ms": ours_ms, "choice": "x",
            "torch_graph_ms": torch_ms, "ours_graph_ms": ours_ms, "graph_ratio": torch_ms / ours_ms}


def test_row_bytes_count_the_rows_each_kernel_reads_and_writes():
    assert suite.row_bytes("softmax", 100, 10, "f32") == 2 * 100 * 10 * 4
    assert suite.row_bytes("ln_fwd", 100, 10, "f16") == 2 * 100 * 10 * 2
    assert suite.row_bytes("ln_bwd", 100, 10, "f32") == 3 * 100 * 10 * 4


def test_the_copy_table_gives_each_side_its_share_of_the_copy_speed():
    # softmax f32 at 100x10 moves 8000 bytes: in 0.004 ms that is 2 GB/s, the copy's speed here (100 %)
    row = {"shape": "100x10", "copy_gbs_f32": 2.0, "copy_gbs_f16": "failed: no GPU",
           "softmax_f32": _cell(0.008, 0.004), "ln_bwd_f32": _cell(0.006, 0.012), "softmax_f16": _cell(1.0, 1.0)}
    text = suite.markdown({"rows": [row]})
    table = text.split("fraction of a device copy's speed")[1]
    line = next(x for x in table.splitlines() if x.startswith("| 100x10 |"))
    cells = [c.strip() for c in line.strip("|").split("|")][1:]
    names = [f"{k}_{d}" for k in suite.ROW_KINDS for d in suite.ROW_DTYPES]
    got = dict(zip(names, cells, strict=True))
    assert got["softmax_f32"] == "50 / 100"
    assert got["ln_bwd_f32"] == "100 / 50"  # 12000 bytes: 2 GB/s in 0.006 ms, 1 in 0.012
    assert got["softmax_f16"] == "—"  # the copy failed: no share claimed
    assert got["ln_fwd_f32"] == "—"  # not measured


def test_host_bound_cells_are_marked():
    """A side whose back-to-back time is well over its GPU time alone is host-bound: its cell gets a mark."""
    slow_host = _cell(0.010, 0.010) | {"ours_ms": 0.020}  # ours: 0.020 back to back, 0.010 alone on the GPU
    row = {"shape": "100x10", "softmax_f32": _cell(0.010, 0.010), "softmax_f16": slow_host}
    line = next(x for x in suite.markdown({"rows": [row]}).splitlines() if x.startswith("| 100x10 |"))
    cells = [c.strip() for c in line.strip("|").split("|")][1:]
    assert cells[0] == "1.00 (1.00)" and cells[1].endswith("†")


def test_matmul_tables_show_gpu_time_alone_beside_back_to_back():
    """A matmul cell with both sides' GPU time alone shows them and their ratio; one whose capture failed says so,
    and the summary counts only the shapes that have it."""
    timed = {"shape": "8x8x8", "cublas_bf16_ms": 0.04, "ours_ms": 0.05, "ratio": 0.8, "cublas_call_ms": 0.04,
             "ours_call_ms": 0.05, "call_ratio": 0.8, "ours_choice": "x", "err": 0.0}
    alone = timed | {"cublas_graph_ms": 0.02, "ours_graph_ms": 0.01, "graph_ratio": 2.0}
    failed = timed | {"shape": "9x9x9", "graph": "failed: capture"}
    text = suite.markdown({"tc": [alone, failed]})
    lines = {x.split("|")[1].strip(): x for x in text.splitlines() if x.startswith(("| 8x8x8", "| 9x9x9"))}
    assert "| 0.020 | 0.010 | 2.00 |" in lines["8x8x8"]
    assert "| failed: capture | — | — |" in lines["9x9x9"]
    assert "1 of 2 shapes): geometric mean 2.00, worst 2.00." in text


def test_fp32_gpu_alone_column_fails_soft_and_restores_tf32():
    """Off a GPU the fp32 GPU-alone pair reports its failure as a cell (the table goes on) and leaves PyTorch's
    TF32 switch as it found it, whichever way that was."""
    import numpy as np
    import torch

    a = np.ones((4, 4), np.float32)
    before = torch.backends.cuda.matmul.allow_tf32
    try:
        for setting in (True, False):
            torch.backends.cuda.matmul.allow_tf32 = setting
            cell = suite._fp32_graph_pair(a, a, lambda: None)
            assert set(cell) == {"graph"} and cell["graph"].startswith("failed: ")
            assert torch.backends.cuda.matmul.allow_tf32 is setting
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before
