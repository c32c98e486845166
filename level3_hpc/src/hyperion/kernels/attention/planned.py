"""Planned calls of the Hopper FlashAttention: the host work that depends only on a call's shapes, dtypes and
flags -- argument checks, which kernel and tile, grid, shared memory, the parameter blocks -- done once per such
key, so that a later call is a look-up, its output allocations and its launches (issue 14's budget: 15 µs of
Python per kernel call).

:func:`forward` and :func:`backward` are what :func:`~hyperion.kernels.attention.flash_forward_hopper` and
:func:`~hyperion.kernels.attention.flash_backward_hopper` try first. They return ``None`` where no plan applies
-- float32 or bf16 inputs, an ``impl`` asked for, a head dimension 08/09 do not take, a GPU that is not Hopper,
an empty problem, an input that is not C-contiguous or not 16-byte aligned -- and the caller takes
the general path, which checks everything and copies what it must. A plan runs the same kernels with the same
arguments as the general path, so the two give the same bits (test_flash_planned_gpu).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.kernels._launch import OutputBlock
from hyperion.tensor.cuda_build import PackedLaunch, cupy_module
from hyperion.transformer.flash import cuda as level2
from hyperion.transformer.flash._inputs import causal_mode, check_qkv, default_scale

LIMIT = 256  # plans kept per direction; past it the table starts again (a plan is cheap to rebuild)
_MISSING = object()
_FORWARD: dict[tuple, Any] = {}
_BACKWARD: dict[tuple, Any] = {}
_F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)
# the scalars after the pointers of 08, 09 (both kernels) and 06's delta kernel
SCALARS = "iiifiii"  # heads, n_q, n_k, scale, causal, has_pad, group


def _key(arrays: tuple, causal: Any, key_padding_mask: Any, scale: Any) -> tuple:
    """What a plan depends on: the device, each array's type, shape and dtype, the mask's, the flags (with
    ``causal``'s type: ``1`` is refused where ``True`` is not)."""
    cupy = cupy_module()

    mask = None if key_padding_mask is None else (type(key_padding_mask), key_padding_mask.shape,
                                                  key_padding_mask.dtype)
    return (cupy.cuda.get_device_id(), type(causal), causal, mask, scale,
            *[(type(x), x.shape, x.dtype) for x in arrays])


def _lookup(table: dict, key: tuple, build: Any) -> Any:
    """The plan kept for ``key``, built (and kept) on the first call; ``None`` when ``key`` cannot be hashed
    (e.g. a ``scale`` that is an array): no plan, the general path."""
    try:
        found = table.get(key, _MISSING)
    except TypeError:
        return None
    if found is _MISSING:
        found = build()  # raises on bad arguments: nothing is kept
        if len(table) >= LIMIT:
            table.clear()
        table[key] = found
    return found


def _applies(q: Any) -> bool:
    """fp16 CuPy arrays with a wgmma head dimension on a Hopper GPU (the general path checks the rest)."""
    cupy = cupy_module()

    from hyperion.kernels.attention import WGMMA_DIMS, hopper_available

    return type(q) is cupy.ndarray and q.dtype == _F16 and q.ndim == 4 and q.shape[-1] in WGMMA_DIMS and \
        hopper_available()


def _scalars(q: Any, k: Any, causal: Any, key_padding_mask: Any, scale: Any) -> tuple:
    from hyperion.kernels.attention import _group

    _, heads, n_q, d = q.shape
    return (heads, n_q, k.shape[2], default_scale(d, scale), causal_mode(causal), int(key_padding_mask is not None),
            _group(causal, None))


class _Forward:
    """One forward geometry: 10 (TMA, its parameter block) or 08 (a packed launch), the no-padding mask, the
    outputs' layout (:class:`~hyperion.kernels._launch.OutputBlock`)."""

    def __init__(self, q: Any, k: Any, v: Any, causal: Any, key_padding_mask: Any, scale: Any) -> None:
        from hyperion.kernels import attention as fh
        from hyperion.kernels.attention import fwd_tma

        check_qkv(q, k, v, key_padding_mask, "flash_forward_hopper")
        scalars = _scalars(q, k, causal, key_padding_mask, scale)
        batch, heads, n_q, d = q.shape
        n_k = k.shape[2]
        bh = batch * heads
        self.outputs = OutputBlock((q.shape, _F16), (q.shape[:3], _F32))  # O and lse: the backward keeps both
        self.batch, self.n_k = batch, n_k
        self.zeros = level2._pad_mask(None, batch, n_k)  # held here: level 2's cache of them may let it go
        self.no_pad = self.zeros.data.ptr
        self.tma = n_q >= fwd_tma.TMA_FROM_N.get(d, 1 << 62)
        self.kernel = "10" if self.tma else "08"
        if self.tma:
            tile = fwd_tma.TMA_TILES[d]
            rows, smem = 64 * tile["FLASH_WG"], fwd_tma.shared_bytes(d, tile)
            fn = fh._kernel(fwd_tma.SOURCE, "flash_fwd_tma_f16", d, tuple(sorted(tile.items())), smem)
            self.geometry, self.maps = (d, n_q, n_k, bh, rows, tile["FLASH_BC"]), fwd_tma._maps
            self.launch = fwd_tma.plan(fn, fh._grid(n_q, rows, bh), fwd_tma.threads(tile), smem, *scalars)
        else:
            tile = fh.forward_tile(d, n_q, causal)
            smem = fh.shared_bytes(d, tile)
            fn = fh._kernel(fh.SOURCE, "flash_fwd_wgmma_f16", d, tuple(sorted(tile.items())), smem)
            packed = PackedLaunch(fn, fh._grid(n_q, 64 * tile["FLASH_WG"], bh), (128 * tile["FLASH_WG"],), smem,
                                  "pppppp" + SCALARS)
            self.launch = lambda q, k, v, pad, out, lse: packed(q, k, v, pad, out, lse, *scalars)

    def __call__(self, q: Any, k: Any, v: Any, key_padding_mask: Any) -> tuple[Any, Any] | None:
        if not (q._c_contiguous and k._c_contiguous and v._c_contiguous):
            return None
        qp, kp, vp = q.data.ptr, k.data.ptr, v.data.ptr
        if (qp | kp | vp) % 16:  # 08 and 10 load 16 bytes at a time (10 by tensor maps)
            return None
        mask = None if key_padding_mask is None else level2._pad_mask(key_padding_mask, self.batch, self.n_k)
        pad_ptr = self.no_pad if mask is None else mask.data.ptr  # ``mask`` held until launched (the pool)
        out, lse = self.outputs()
        if self.tma:
            self.launch(self.maps(qp, kp, vp, *self.geometry), pad_ptr, out.data.ptr, lse.data.ptr)
        else:
            self.launch(qp, kp, vp, pad_ptr, out.data.ptr, lse.data.ptr)
        return out, lse


class _Backward:
    """One backward geometry: 06's delta kernel, then the dK/dV and dQ kernels of 09 (packed launches); or,
    where ``bwd_tma.TMA_BWD_FROM_N`` says, 11's dQ kernel (it writes delta) and dK/dV kernel (plans, tensor maps)."""

    def __init__(self, q: Any, k: Any, v: Any, out: Any, lse: Any, dout: Any, causal: Any, key_padding_mask: Any,
                 scale: Any) -> None:
        from hyperion.kernels import attention as fh
        from hyperion.kernels.attention import bwd_tma

        check_qkv(q, k, v, key_padding_mask, "flash_backward_hopper")
        scalars = _scalars(q, k, causal, key_padding_mask, scale)
        batch, heads, n_q, d = q.shape
        n_k = k.shape[2]
        # delta (the kernels' workspace, B*H*N floats) is scratch in dQ, dK, dV's allocation: kept until they go
        self.outputs = OutputBlock((q.shape, _F16), (k.shape, _F16), (k.shape, _F16), scratch=4 * lse.size)
        self.batch, self.n_k = batch, n_k
        self.zeros = level2._pad_mask(None, batch, n_k)  # held here: level 2's cache of them may let it go
        self.no_pad = self.zeros.data.ptr
        self.kernel = "11" if n_q >= bwd_tma.TMA_BWD_FROM_N.get(d, 1 << 62) else "09"
        if self.kernel == "11":  # tensor maps, parameter blocks of its own; delta by its dQ kernel
            self.launch = self._tma_launch(d, n_q, n_k, batch * heads, scalars)
            return
        rows = batch * heads * n_q
        delta = PackedLaunch(level2.kernel("06_flash_bwd_mma.cu", "flash_bwd_delta_f16", d), ((rows + 7) // 8,),
                             (256,), 0, "pppii")
        launches = []
        for name, tile, n, pointers in (("dkdv", fh.BWD_TILES[d], n_k, "p" * 9), ("dq", fh.DQ_TILES[d], n_q, "p" * 8)):
            smem = fh.bwd_shared_bytes(d, tile)
            fn = fh._kernel(fh.BWD_SOURCE, f"flash_bwd_{name}_wgmma_f16", d, tuple(sorted(tile.items())), smem)
            launches.append(PackedLaunch(fn, fh._grid(n, 64 * tile["FLASH_WG"], batch * heads),
                                         (128 * tile["FLASH_WG"],), smem, pointers + SCALARS))
        dkdv, dq = launches

        def launch(q, k, v, dout, out, lse, delta_out, pad, dq_out, dk_out, dv_out) -> None:
            delta(dout, out, delta_out, rows, d)
            dkdv(q, k, v, dout, lse, delta_out, pad, dk_out, dv_out, *scalars)
            dq(q, k, v, dout, lse, delta_out, pad, dq_out, *scalars)

        self.launch = launch

    @staticmethod
    def _tma_launch(d: int, n_q: int, n_k: int, bh: int, scalars: tuple) -> Any:
        """The launches of 11: its dQ kernel (which writes delta), then its dK/dV kernel, by their plans; the
        maps looked up by address."""
        from hyperion.kernels import attention as fh
        from hyperion.kernels.attention import bwd_tma, fwd_tma

        launches = []
        for name, tile, n, pointers in (("dq", bwd_tma.DQ_TMA_TILES[d], n_q, 3),
                                        ("dkdv", bwd_tma.BWD_TMA_TILES[d], n_k, 2)):
            smem = bwd_tma.shared_bytes(d, tile)
            fn = fh._kernel(bwd_tma.SOURCE, f"flash_bwd_{name}_tma_f16", d, tuple(sorted(tile.items())), smem)
            launches.append(fwd_tma.plan(fn, fh._grid(n, 64 * tile["FLASH_WG"], bh), 128 * (tile["FLASH_WG"] + 1),
                                         smem, *scalars, maps=4, pointers=3 + pointers))
        dq, dkdv = launches

        def launch(q, k, v, dout, out, lse, delta_out, pad, dq_out, dk_out, dv_out) -> None:
            maps = bwd_tma._maps(q, k, v, dout, d, n_q, n_k, bh)
            dq(maps, lse, delta_out, pad, dout, out, dq_out)
            dkdv(maps, lse, delta_out, pad, dk_out, dv_out)

        return launch

    def __call__(self, q: Any, k: Any, v: Any, out: Any, lse: Any, dout: Any, key_padding_mask: Any):
        if not (q._c_contiguous and k._c_contiguous and v._c_contiguous and out._c_contiguous
                and lse._c_contiguous and dout._c_contiguous):
            return None
        if (q.data.ptr | k.data.ptr | v.data.ptr | dout.data.ptr | out.data.ptr) % 16:  # 16-byte loads, tensor maps
            return None
        mask = None if key_padding_mask is None else level2._pad_mask(key_padding_mask, self.batch, self.n_k)
        dq, dk, dv, delta = self.outputs()
        self.launch(q.data.ptr, k.data.ptr, v.data.ptr, dout.data.ptr, out.data.ptr, lse.data.ptr, delta,
                    self.no_pad if mask is None else mask.data.ptr, dq.data.ptr, dk.data.ptr, dv.data.ptr)
        return dq, dk, dv


def forward(q: Any, k: Any, v: Any, causal: Any, key_padding_mask: Any, scale: Any) -> tuple[Any, Any] | None:
    """``(O, lse)`` by the plan of this call's key, or ``None`` (take the general path)."""
    def build() -> _Forward | None:
        fits = _applies(q) and type(k) is type(v) is type(q) and q.size and k.size  # numpy k, v: the general path
        return _Forward(q, k, v, causal, key_padding_mask, scale) if fits else None

    plan = _lookup(_FORWARD, _key((q, k, v), causal, key_padding_mask, scale), build)
    return None if plan is None else plan(q, k, v, key_padding_mask)


def backward(q: Any, k: Any, v: Any, out: Any, lse: Any, dout: Any, causal: Any, key_padding_mask: Any,
             scale: Any) -> tuple[Any, Any, Any] | None:
    """``(dQ, dK, dV)`` by the plan of this call's key, or ``None`` (take the general path)."""
    def build() -> _Backward | None:
        fits = (_applies(q) and q.size and k.size and out.shape == q.shape == dout.shape
                and out.dtype == dout.dtype == _F16 and lse.dtype == _F32 and lse.shape == q.shape[:3]
                and type(k) is type(v) is type(out) is type(dout) is type(lse) is type(q))
        return _Backward(q, k, v, out, lse, dout, causal, key_padding_mask, scale) if fits else None

    plan = _lookup(_BACKWARD, _key((q, k, v, out, lse, dout), causal, key_padding_mask, scale), build)
    return None if plan is None else plan(q, k, v, out, lse, dout, key_padding_mask)
