"""Row kernels by regime: softmax 06, LayerNorm 05 (forward) and 14 (backward; 15 its column sums) for fp32, fp16, bf16.

    rows_softmax(x)                       -> y
    rows_layernorm(x, w, b, eps)          -> (y, mean, rstd)
    rows_layernorm_backward(dy, x, w, mean, rstd) -> (dx, dw, db)

``x`` is a 2-D CuPy array of float32, float16, or uint16 holding bf16 bits (``dtype="bf16"``); weight, bias,
statistics, dw and db are fp32. A row belongs to a group of ``RowConfig.threads`` threads (row_regime.cuh):
part of a warp or a warp for short rows, several warps for long rows. :data:`ROW_TABLE` holds the H200
sweep's winner for each (kernel, dtype, rows, C) of the suite; other shapes take :func:`default_config`.
A launch plan (:class:`RowPlan`: the kernel with its grid, block and shared memory, its parameter block
laid out once, :class:`~hyperion.tensor.cuda_build.PackedLaunch`) is built once per shape and alignment and
kept in a dictionary: after the first call a call is one look-up, its allocations and one ``cuLaunchKernel``
(two for the backward, three for the two-pass backward; one for a small backward, whose last block adds the
partial sums: :func:`last_block_reduce`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from hyperion.kernels._launch import OutputBlock, cdiv, sm_count
from hyperion.kernels.loader import get_kernel
from hyperion.tensor.cuda_build import PackedLaunch, cupy_module

DTYPES = {"f32": np.float32, "f16": np.float16, "bf16": np.uint16}  # bf16 travels as uint16 bit patterns
CHUNK = {"f32": 4, "f16": 8, "bf16": 8}  # elements per 16-byte chunk
SOURCES = {
    "softmax": ("softmax/06_row_regimes.cu", "softmax_rows"),
    "ln_fwd": ("layernorm/05_row_regimes.cu", "layernorm_rows"),
    "ln_bwd": ("layernorm/14_bwd_row_regimes.cu", "layernorm_bwd_rows"),
}
REGISTERS_PER_SM, THREADS_PER_SM, SHARED_PER_SM = 65536, 2048, 228 * 1024


@dataclass(frozen=True)
class RowConfig:
    """Threads per row, threads per block, 16-byte chunks per thread; (backward) re-read the row instead of
    keeping it, keep the dw/db sums in shared memory instead of registers, or (``two_pass``) write dx alone and
    sum dw/db down the columns in a second kernel (LayerNorm 15); blocks per SM the registers are capped for
    (0: no cap); (forward) keep 16-bit chunks raw and convert them in every pass; (``stream``) load and store
    the row's chunks with the streaming cache hint (``__ldcs``/``__stcs``: evict first); (forward, ``iters``)
    rows a group takes one after another, loading the next while it reduces this one."""

    threads: int
    block: int
    cache: int
    reload: int = 0
    min_blocks: int = 0
    smem_acc: int = 0
    raw: int = 0
    two_pass: int = 0
    stream: int = 0
    iters: int = 1

    def defines(self) -> dict[str, int]:
        d = dict(ROW_THREADS=self.threads, ROW_BLOCK=self.block, CACHE=self.cache)
        if self.two_pass:
            d["SUMS"] = 0
        for name, value in (("RELOAD", self.reload), ("MIN_BLOCKS", self.min_blocks), ("SMEM_ACC", self.smem_acc),
                            ("RAW_CACHE", self.raw), ("STREAM_IO", self.stream)):
            if value:
                d[name] = value
        if self.iters != 1:
            if self.iters < 1:
                raise ValueError(f"RowConfig.iters must be at least 1, got {self.iters}")
            d["ROW_ITERS"] = self.iters
        return d


def chunks_of(C: int, dtype: str, head: int | None = None) -> int:
    """16-byte chunks that cover a row of C elements starting ``head`` elements before a 16-byte boundary
    (None: rows of a 16-byte multiple start where an allocation does, at 0; others anywhere, up to N - 1)."""
    n = CHUNK[dtype]
    if head is None:
        head = 0 if C % n == 0 else n - 1
    return cdiv(C + head, n)


def max_cache(kind: str, dtype: str, reload: int = 0, smem_acc: int = 0, two_pass: int = 0) -> int:
    """Most chunks per thread a kernel keeps (64 floats of row; the backward also keeps dw and db sums,
    in registers unless ``smem_acc`` or ``two_pass``, where it keeps x and dy as raw chunks: 8 registers a
    chunk for any dtype)."""
    if kind == "ln_bwd" and not (smem_acc or two_pass):
        return (8 if reload else 4) if dtype == "f32" else (4 if reload else 2)
    return 8 if kind == "ln_bwd" else 16 if dtype == "f32" else 8


def candidates(kind: str, dtype: str, C: int) -> list[RowConfig]:
    """Every configuration the sweep times for rows of C: threads per row from 4 to 1024 whose chunks fit
    the register cache (the smallest whose cache is one chunk is the last), blocks of 128 / 256 threads
    (or one group), a cap of 64 registers where a thread keeps 4 chunks or more, raw 16-bit chunks; for the
    backward also the re-reading kernel, the one with its sums in shared memory (keeping the row or re-reading
    it; keeping it in fewer than 4 chunks a thread, also capped for three blocks an SM) and the two-pass one.
    Every one that reads its row once comes twice: as it is and with the streaming cache hint (``stream``)."""
    chunks, out = chunks_of(C, dtype), []
    variants = [(0, 0, 0)] if kind != "ln_bwd" else [(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0), (0, 0, 1)]
    for reload, smem_acc, two_pass in variants:  # two_pass: write dx alone, then LayerNorm 15's column sums
        for t in (4, 8, 16, 32, 64, 128, 256, 512, 1024):
            cache = cdiv(chunks, t)
            if cache > max_cache(kind, dtype, reload, smem_acc, two_pass) or (smem_acc and t < 32):
                continue
            blocks = [t] if smem_acc else [max(t, 256)] if reload else sorted({max(t, 128), max(t, 256)})
            for block in blocks:
                out.append(RowConfig(t, block, cache, reload, 0, smem_acc, two_pass=two_pass))
            cap = REGISTERS_PER_SM // (blocks[-1] * 64)  # blocks per SM at 64 registers a thread
            if cache >= 4 and cap >= 2 and not reload:
                out.append(RowConfig(t, blocks[-1], cache, reload, cap, smem_acc, two_pass=two_pass))
            if smem_acc and not reload and cache < 4 and 3 * t <= THREADS_PER_SM:  # three blocks an SM
                out.append(RowConfig(t, t, cache, 0, 3, 1))
            if kind != "ln_bwd" and dtype != "f32" and cache >= 2:
                out += [RowConfig(t, blocks[-1], cache, raw=1)] + ([RowConfig(t, blocks[-1], cache, min_blocks=cap,
                                                                             raw=1)] if cap >= 2 else [])
            if cache == 1:
                break
    return out + [replace(c, stream=1) for c in out if not c.reload]


def default_config(kind: str, dtype: str, C: int) -> RowConfig:
    """The rule for shapes outside the table: the fewest threads per row that keep at most 8 chunks
    (4 for the backward) per thread, blocks of 256 threads (or one group of more)."""
    chunks, target = chunks_of(C, dtype), (4 if kind == "ln_bwd" else 8)
    threads = min(1024, max(4, 1 << max(0, math.ceil(math.log2(cdiv(chunks, target))))))
    cache = cdiv(chunks, threads)
    reload = int(cache > max_cache(kind, dtype))
    if cache > max_cache(kind, dtype, reload):
        raise ValueError(f"{kind}: rows of {C} {dtype} elements exceed the register cache of 1024 threads")
    return RowConfig(threads, max(threads, 256), cache, reload)


LEGACY = "legacy"  # a table entry that keeps the block-per-row kernel (softmax 04/05, LayerNorm 03/04/13)
# (kernel, dtype, rows, C) -> the H200 sweep's winner (python -m hyperion.kernels.suite --only rows --sweep,
# 2026-12-04 14:50 UTC, level3_hpc/results/h200-rows-2026-12-04-run2); bf16 takes fp16's entry (same bytes,
# same registers; its speed was not measured). Entries marked "2026-12-05 sweep": the next sweep on the H200
# (results/rows-h200-2026-12-05, LayerNorm 14's shared-memory sums then new) timed them at least 8 % faster
# than the entry before them, in the same process (16-bit backward at 16384x4097: 0.459 -> 0.342 ms; at
# 4096x16384: 0.319 -> 0.215 ms); smaller differences in that sweep were left as they were.
# Entries marked "H100, 2026-12-06 (g)": LayerNorm 14 with W_SHIFT (weight loads by shifted float4s) swept on
# an H100 (results/runtime-h100-2026-12-06-g, call 3's candidate sweep; no H200 was lent): 16-bit backward at
# 16384x4097 with the shared-sum kernel capped for three blocks an SM, 0.263 ms against 0.326 for the entry
# before it (PyTorch 0.320); in a suite run (results/runtime-h100-2026-12-06-h, call 2) 1.19x PyTorch.
# Marked "H100, 2026-12-06 (i)": the fp32 backward at 16384x4097 with W_SHIFT (now on for fp32 backward rows too),
# the candidate sweep of results/runtime-h100-2026-12-06-i, call 2: the shared-sum kernel capped for four blocks
# an SM, 0.328 ms against 0.466 for LEGACY, its entry before (PyTorch 0.714).
ROW_TABLE: dict[tuple[str, str, int, int], RowConfig | str] = {
    ("softmax", "f32", 16384, 4096): LEGACY,
    ("ln_fwd", "f32", 16384, 4096): LEGACY,
    ("ln_bwd", "f32", 16384, 4096): LEGACY,
    ("softmax", "f16", 16384, 4096): LEGACY,
    ("ln_fwd", "f16", 16384, 4096): RowConfig(128, 256, 4, min_blocks=4, raw=1),
    ("ln_bwd", "f16", 16384, 4096): RowConfig(256, 256, 2),
    ("softmax", "f32", 4096, 1000): RowConfig(32, 128, 8),
    ("ln_fwd", "f32", 4096, 1000): RowConfig(32, 256, 8),
    ("ln_bwd", "f32", 4096, 1000): RowConfig(256, 256, 1),
    ("softmax", "f16", 4096, 1000): RowConfig(16, 256, 8, min_blocks=4, raw=1),
    ("ln_fwd", "f16", 4096, 1000): RowConfig(64, 256, 2, min_blocks=4, raw=1),
    ("ln_bwd", "f16", 4096, 1000): RowConfig(128, 256, 1),
    ("softmax", "f32", 65536, 1000): RowConfig(128, 128, 2, stream=1),  # H100 12-06 (i) call 2, H200 (j) calls 2-3
    ("ln_fwd", "f32", 65536, 1000): LEGACY,
    ("ln_bwd", "f32", 65536, 1000): RowConfig(256, 256, 1, reload=1),  # 2026-12-05 sweep
    ("softmax", "f16", 65536, 1000): RowConfig(128, 128, 1),
    ("ln_fwd", "f16", 65536, 1000): RowConfig(128, 128, 1),
    ("ln_bwd", "f16", 65536, 1000): RowConfig(64, 64, 2, smem_acc=1),  # 2026-12-05 sweep
    ("softmax", "f32", 16384, 4097): RowConfig(128, 128, 9),
    ("ln_fwd", "f32", 16384, 4097): RowConfig(256, 256, 5),
    ("ln_bwd", "f32", 16384, 4097): RowConfig(256, 256, 5, min_blocks=4, smem_acc=1),  # H100, 2026-12-06 (i)
    ("softmax", "f16", 16384, 4097): RowConfig(128, 128, 5),
    ("ln_fwd", "f16", 16384, 4097): RowConfig(128, 256, 5, min_blocks=4, raw=1),
    ("ln_bwd", "f16", 16384, 4097): RowConfig(256, 256, 3, min_blocks=3, smem_acc=1),  # H100, 2026-12-06 (g)
    ("softmax", "f32", 4096, 16384): LEGACY,
    ("ln_fwd", "f32", 4096, 16384): LEGACY,
    ("ln_bwd", "f32", 4096, 16384): LEGACY,
    ("softmax", "f16", 4096, 16384): RowConfig(512, 512, 4, min_blocks=2),
    ("ln_fwd", "f16", 4096, 16384): RowConfig(256, 256, 8, min_blocks=4, raw=1),
    ("ln_bwd", "f16", 4096, 16384): RowConfig(512, 512, 4, smem_acc=1),  # 2026-12-05 sweep
}


def choose(kind: str, dtype: str, rows: int, C: int) -> RowConfig | str:
    """The table's entry for this shape (bf16: fp16's), else :func:`default_config`."""
    entry = ROW_TABLE.get((kind, "f16" if dtype == "bf16" else dtype, rows, C))
    if entry == LEGACY and kind == "ln_bwd" and dtype != "f32":
        entry = None  # there is no 16-bit block-per-row backward
    return entry or default_config(kind, dtype, C)


ROW_DTYPE = {"f32": 1, "f16": 2, "bf16": 3}  # the one kernel of a source a module is built with


def _kernel(kind: str, dtype: str, config: RowConfig, **extra: int):
    source, prefix = SOURCES[kind]
    return get_kernel(source, f"{prefix}_{dtype}", **config.defines(), **extra, ROW_DTYPE=ROW_DTYPE[dtype])


def _resident_blocks(kernel, config: RowConfig, smem: int) -> int:
    regs = cdiv(kernel.num_regs * 32, 256) * 256 * (config.block // 32)
    return max(1, min(THREADS_PER_SM // config.block, REGISTERS_PER_SM // max(regs, 1),
                      SHARED_PER_SM // (smem + 1024 + 1024)))


_PLANS: dict[tuple, tuple] = {}


def _plan(kind: str, dtype: str, rows: int, C: int, config: RowConfig | str | None, base: int, vec: bool):
    key = (kind, dtype, rows, C, config, base, vec)
    plan = _PLANS.get(key)
    if plan is None:
        config = config or choose(kind, dtype, rows, C)
        plan = LEGACY if config == LEGACY else _build_plan(kind, dtype, rows, C, config, base, vec)
        _PLANS[key] = plan
    return plan


def fit_config(dtype: str, C: int, config: RowConfig, base: int, vec: bool) -> RowConfig:
    """``config`` with one more chunk per thread where the rows' alignment (their first starts ``base``
    bytes past a 16-byte boundary; ``vec``: vector accesses) needs it to cover a row."""
    n = CHUNK[dtype]
    head = (base // (16 // n) if C % n == 0 else n - 1) if vec else 0
    if config.cache * config.threads < chunks_of(C, dtype, head):  # a misaligned array: one more chunk
        config = replace(config, cache=cdiv(chunks_of(C, dtype, head), config.threads))
    return config


def w_shift(kind: str, dtype: str, C: int, base: int, vec: bool) -> dict[str, int]:
    """The define that lets LayerNorm's weight and bias loads shift aligned float4s (``row_regime.cuh``'s
    ``load_f32``) where some 16-bit row starts off a 16-byte boundary (``base``: the first row's offset, bytes;
    rows of a length that is not a whole number of chunks): ``{"W_SHIFT": 1}``, else none. It costs registers.
    On an H100 (results/runtime-h100-2026-12-06-g, calls 2-3) it made 16-bit LayerNorm at 16384x4097 faster
    (backward 0.91 -> 0.98x PyTorch in the same configuration, forward 2.05 -> 2.38x) and fp32's forward there
    slower (1.91 -> 1.80x), so fp32's forward keeps its scalar loads (4 a chunk, not 8). fp32's backward takes
    the shift: with it, its fastest candidate at 16384x4097 took 0.328 ms against 0.466 for the table's entry
    before (results/runtime-h100-2026-12-06-i, call 2); other fp32 backward shapes with it were not timed."""
    if not vec or kind == "softmax" or (dtype == "f32" and kind == "ln_fwd"):
        return {}
    return {"W_SHIFT": 1} if C % CHUNK[dtype] or base % 16 else {}


def backward_shared_bytes(dtype: str, C: int, config: RowConfig, last_block: bool = False) -> int:
    """Dynamic shared memory of a LayerNorm 14 block: its dw and db sums (SMEM_ACC: laid out by chunk, room
    for a row at any head; ``last_block``, the one-launch kernel: a row of sums for each group of the block)."""
    n = CHUNK[dtype]
    if config.two_pass:
        return 0
    if config.smem_acc:
        return 2 * 4 * n * ((C + 2 * n - 2) // n)
    return 2 * 4 * C * (config.block // config.threads if last_block else 1)


def forward_blocks(rows: int, config: RowConfig) -> int:
    """Blocks of a softmax or LayerNorm forward launch: each takes block / threads groups of ``iters`` rows."""
    return cdiv(rows, config.block // config.threads * config.iters)


def backward_blocks(rows: int, config: RowConfig, resident: int) -> int:
    """Blocks of the persistent LayerNorm 14 grid: at most ``resident`` (what the GPU holds at once), at
    most one per group of rows, and a multiple of 8 groups in all (a group's rows share their alignment)."""
    groups = config.block // config.threads
    step = 8 // math.gcd(groups, 8)
    return max(step, min(cdiv(rows, groups), resident) // step * step)


COLUMN_SOURCE, COLUMN_SLICES = "layernorm/15_bwd_two_pass.cu", 8  # the two-pass backward's column sums


def column_splits(rows: int, C: int, sms: int) -> int:
    """Row splits of LayerNorm 15's grid (one block per 32 columns and split): about 16 blocks per SM (two
    waves of 8 resident), each split at least 4 rows per thread slice, at most 1024 splits."""
    tiles = cdiv(C, 32)
    return max(1, min(cdiv(16 * sms, tiles), cdiv(rows, 4 * COLUMN_SLICES), 1024))


# The one-launch backward (LayerNorm 14 with LAST_BLOCK_REDUCE=1) where the grid's partial sums are at most
# LAST_BLOCK_FLOATS floats each for dw and db, and its block's shared sums (a row per group) fit LAST_BLOCK_SHARED.
# Its last block adds the partials alone. GPU time of this form on an H100 (2026-12-06, Nsight Compute,
# results/runtime-h100-2026-12-06-e call 11), one launch against row kernel + reduction: fp32 64 x 1024
# 11.1-11.8 against 13.7 + 3.5 µs, 128 x 1024 (2^15 floats) 14.0-14.9 against 14.0 + 3.6, 37 x 37 8.5-9.0
# against 10.8 + 2.8, 4096 x 64 17.8 against 35.6 + 3.4; fp16 64 x 1024 14.1-14.5 against 37.9 + 3.5. An
# earlier form measured 256 x 1024 (2^16 floats) slower in one launch (21.3 against 14.0 + 3.7 µs), hence the
# bound. Host time at 64 x 1024 fp32, best of 5 x 1000 calls: 17.1 against 33.8 µs on that (slow) host.
LAST_BLOCK_FLOATS = 1 << 15
LAST_BLOCK_SHARED = 96 * 1024


def last_block_reduce(dtype: str, rows: int, C: int, config: RowConfig) -> bool:
    """Whether the backward of ``config`` runs as one launch (its last block adds the partial sums): not the
    two-pass kernel, the largest grid :func:`backward_blocks` can give (no cap on resident blocks) times C
    within :data:`LAST_BLOCK_FLOATS` (so the choice does not depend on the compiled kernel's registers), and
    its shared memory within :data:`LAST_BLOCK_SHARED`."""
    return (not config.two_pass and backward_blocks(rows, config, rows) * C <= LAST_BLOCK_FLOATS
            and backward_shared_bytes(dtype, C, config, True) <= LAST_BLOCK_SHARED)


@dataclass(frozen=True)
class RowPlan:
    """A shape's launches, built once: the row kernel and (backward) the partial-sum reduction with the
    number of partial sums, and (two-pass backward) the column-sum kernel that makes them; ``rows`` and
    ``C`` as the kernels take them. ``last_block``: the row kernel adds the partial sums itself (one launch,
    no ``reduce``); ``workspaces`` then holds its counter and partial sums, one per CUDA stream."""

    launch: PackedLaunch
    rows: int
    C: int
    parts: int = 0
    reduce: PackedLaunch | None = None
    columns: PackedLaunch | None = None
    last_block: bool = False
    workspaces: dict = field(default_factory=dict, compare=False, repr=False)
    pair: OutputBlock | None = field(default=None, compare=False, repr=False)  # mean and rstd; dw and db (one launch)

    def workspace(self, stream: int) -> tuple[int, int]:
        """``(counter, partials)`` device pointers of the one-launch backward on ``stream``
        (``cupy.cuda.get_current_stream().ptr``), allocated and zeroed on the first call from that stream.
        Kernels on one stream run in order, so each call may reuse them; two streams never share one."""
        work = self.workspaces.get(stream)
        if work is None:
            cupy = cupy_module()

            padded = cdiv(self.C, 4) * 4  # partial rows of whole float4s
            buf = cupy.zeros(4 + 2 * self.parts * padded, np.float32)  # [counter, pad][dw | db partials]
            work = self.workspaces.setdefault(stream, (buf.data.ptr, buf.data.ptr + 16, buf))
        return work[0], work[1]


KINDS = {"softmax": "ppiii", "ln_fwd": "ppppppiifii", "ln_bwd": "ppppppppiiii"}  # the kernels' parameters
LAST_BLOCK_KINDS = "ppppppppppiiii"  # ln_bwd with LAST_BLOCK_REDUCE: ..., part, dw, db, counter, rows, C, vec, wvec


def _build_plan(kind: str, dtype: str, rows: int, C: int, config: RowConfig, base: int, vec: bool) -> RowPlan:
    """The launch of ``config`` for rows whose first starts ``base`` bytes past a 16-byte boundary."""
    config = fit_config(dtype, C, config, base, vec)
    last_block = kind == "ln_bwd" and last_block_reduce(dtype, rows, C, config)
    extra = ({"LAST_BLOCK_REDUCE": 1} if last_block else {}) | w_shift(kind, dtype, C, base, vec)
    kernel = _kernel(kind, dtype, config, **extra)
    if kind != "ln_bwd":
        return RowPlan(PackedLaunch(kernel, (forward_blocks(rows, config),), (config.block,), 0, KINDS[kind]), rows, C,
                       pair=OutputBlock(((rows,), np.float32), ((rows,), np.float32)) if kind == "ln_fwd" else None)
    smem = backward_shared_bytes(dtype, C, config, last_block)
    if smem:  # raised always: the default cap is 48 KB minus the kernel's static shared memory (exactly 48 KB failed)
        kernel.max_dynamic_shared_size_bytes = smem
    blocks = backward_blocks(rows, config, sm_count() * _resident_blocks(kernel, config, smem))
    if last_block:
        return RowPlan(PackedLaunch(kernel, (blocks,), (config.block,), smem, LAST_BLOCK_KINDS), rows, C, blocks,
                       last_block=True, pair=OutputBlock(((C,), np.float32), ((C,), np.float32)))
    reduce = get_kernel(SOURCES["ln_bwd"][0], "layernorm_bwd_rows_reduce", **config.defines(),
                        **w_shift(kind, dtype, C, base, vec), ROW_DTYPE=ROW_DTYPE[dtype])  # the row kernel's module
    row_launch = PackedLaunch(kernel, (blocks,), (config.block,), smem, KINDS[kind])
    parts, columns = blocks, None  # one partial row per block of the row kernel, or per split of LayerNorm 15's
    if config.two_pass:
        parts = column_splits(rows, C, sm_count())
        column_kernel = get_kernel(COLUMN_SOURCE, f"layernorm_bwd_columns_{dtype}", ROW_DTYPE=ROW_DTYPE[dtype])
        columns = PackedLaunch(column_kernel, (cdiv(C, 32), parts), (32, COLUMN_SLICES), 0, "ppppppii")
    return RowPlan(row_launch, rows, C, parts, PackedLaunch(reduce, (cdiv(C, 256), cdiv(parts, 8)), (256,), 0, "ppii"),
                   columns)


_NP_DTYPES = {name: np.dtype(t) for name, t in DTYPES.items()}
_F32 = np.dtype(np.float32)


def _check(x, dtype: str, name: str):
    cupy = cupy_module()

    if type(x) is cupy.ndarray and x.dtype is _NP_DTYPES.get(dtype) and x.ndim == 2:  # the common case, cheaply
        return x if x._c_contiguous else cupy.ascontiguousarray(x)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)}, got {dtype!r}")
    if type(x) is not cupy.ndarray:
        raise TypeError(f"{name} must be a cupy.ndarray on the GPU, got {type(x).__name__}")
    if x.dtype != DTYPES[dtype]:
        raise TypeError(f"{name} must have dtype {np.dtype(DTYPES[dtype])} for {dtype!r}, got {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {x.shape}")
    return x if x._c_contiguous else cupy.ascontiguousarray(x)


def _vector(v, C: int, name: str):
    cupy = cupy_module()

    if type(v) is cupy.ndarray and v.dtype is _F32 and v.ndim == 1 and v.size == C and v._c_contiguous:
        return v  # the common case, checked without comparing dtypes or building tuples
    if type(v) is not cupy.ndarray or v.dtype != np.float32 or v.shape != (C,):
        raise ValueError(f"{name} must be a float32 cupy array of shape ({C},), got "
                         f"{getattr(v, 'dtype', type(v).__name__)} {getattr(v, 'shape', '')}")
    return v if v._c_contiguous else cupy.ascontiguousarray(v)


def rows_softmax(x, dtype: str = "f32", out=None, config: RowConfig | str | None = None):
    """Softmax over the last axis (softmax 06), computed in fp32 and rounded once to ``dtype``."""
    cupy = cupy_module()

    x = _check(x, dtype, "x")
    y = cupy.ndarray(x.shape, x.dtype) if out is None else out
    rows, C = x.shape
    if type(y) is not cupy.ndarray or y.shape != x.shape or y.dtype != x.dtype or not y._c_contiguous:
        raise ValueError(f"out must be a C-contiguous cupy array of shape {x.shape} and dtype {x.dtype}")
    if rows == 0 or C == 0:
        return y
    vec = x.data.ptr % 16 == y.data.ptr % 16
    plan = _plan("softmax", dtype, rows, C, config, x.data.ptr % 16, vec)
    if plan is LEGACY:
        from hyperion.kernels.softmax import softmax, softmax_half

        return softmax(x, out=y) if dtype == "f32" else softmax_half(x, dtype, out=y)
    plan.launch(x.data.ptr, y.data.ptr, rows, C, vec)
    return y


def rows_layernorm(x, w, b, eps: float = 1e-5, dtype: str = "f32", config: RowConfig | str | None = None):
    """``(y, mean, rstd)`` of LayerNorm over the last axis (LayerNorm 05); y in ``dtype``, the rest fp32."""
    cupy = cupy_module()

    x = _check(x, dtype, "x")
    rows, C = x.shape
    w, b = _vector(w, C, "weight"), _vector(b, C, "bias")
    y = cupy.ndarray(x.shape, x.dtype)
    if rows == 0 or C == 0:
        return y, cupy.ndarray((rows,), _F32), cupy.ndarray((rows,), _F32)
    vec = x.data.ptr % 16 == y.data.ptr % 16
    plan = _plan("ln_fwd", dtype, rows, C, config, x.data.ptr % 16, vec)
    if plan is LEGACY:
        from hyperion.kernels.layernorm import layernorm_forward, layernorm_half

        return layernorm_forward(x, w, b, eps) if dtype == "f32" else layernorm_half(x, w, b, eps, dtype)
    mean, rstd = plan.pair()  # one allocation: the backward reads both
    wp, bp = w.data.ptr, b.data.ptr
    plan.launch(x.data.ptr, wp, bp, y.data.ptr, mean.data.ptr, rstd.data.ptr, rows, C, eps, vec,
                wp % 16 == 0 and bp % 16 == 0)  # (eps: packed as the float32 the kernel reads)
    return y, mean, rstd


def rows_layernorm_backward(dy, x, w, mean, rstd, dtype: str = "f32", config: RowConfig | str | None = None):
    """``(dx, dw, db)`` of LayerNorm (LayerNorm 14) from the forward's saved ``mean`` and ``rstd``."""
    cupy = cupy_module()

    x, dy = _check(x, dtype, "x"), _check(dy, dtype, "grad")
    rows, C = x.shape
    if dy.shape != x.shape:
        raise ValueError(f"grad has shape {dy.shape}, x has {x.shape}")
    w, mean, rstd = _vector(w, C, "weight"), _vector(mean, rows, "mean"), _vector(rstd, rows, "rstd")
    dx = cupy.ndarray(x.shape, x.dtype)
    p = x.data.ptr % 16
    vec = dy.data.ptr % 16 == p and dx.data.ptr % 16 == p
    plan = _plan("ln_bwd", dtype, rows, C, config, p, vec) if rows and C else None
    if plan is LEGACY:
        from hyperion.kernels.layernorm import layernorm_backward

        return layernorm_backward(dy, x, w, mean, rstd)
    if plan is None:
        return dx, cupy.zeros(C, np.float32), cupy.zeros(C, np.float32)
    if plan.last_block:  # one launch: the partial sums and the counter live in the plan's workspace
        counter, pp = plan.workspace(cupy.cuda.get_current_stream().ptr)
        dw, db = plan.pair()  # one allocation: one LayerNorm's weight and bias gradients
        wp = w.data.ptr
        plan.launch(dy.data.ptr, x.data.ptr, wp, mean.data.ptr, rstd.data.ptr, dx.data.ptr, pp, dw.data.ptr,
                    db.data.ptr, counter, rows, C, vec, wp % 16 == 0)
        return dx, dw, db
    grads = cupy.ndarray((2 * C,), np.float32)  # zeroed by the kernel's first block
    partial = cupy.ndarray((2 * plan.parts * C,), np.float32)
    wp, pp, gp = w.data.ptr, partial.data.ptr, grads.data.ptr
    plan.launch(dy.data.ptr, x.data.ptr, wp, mean.data.ptr, rstd.data.ptr, dx.data.ptr, pp, gp, rows, C, vec,
                wp % 16 == 0)
    if plan.columns is not None:  # two-pass: the row kernel wrote dx alone
        plan.columns(dy.data.ptr, x.data.ptr, mean.data.ptr, rstd.data.ptr, pp, gp, rows, C)
    plan.reduce(pp, gp, plan.parts, C)
    return dx, grads[:C], grads[C:]


def clear_plans() -> None:
    """Forget the launch plans (after ROW_TABLE changes; the compiled kernels stay cached)."""
    _PLANS.clear()
