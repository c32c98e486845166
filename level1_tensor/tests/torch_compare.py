"""Shared helpers for the hyperion.tensor tests: the same inputs in Hyperion and PyTorch, compared.

``make_pair`` builds one input in both frameworks with the same values *and the same memory layout*
(contiguous, transposed, sliced with a step, or expanded from a smaller leaf), so every op is
exercised on non-contiguous inputs too. ``check_against_torch`` runs an op forward in both
frameworks, backpropagates the same upstream gradient, and compares the outputs and the gradients
of the leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hyperion.tensor as ht

# The whole suite must stay fast on two cores: few examples, no per-example deadline.
FAST = settings(max_examples=25, deadline=None)
FEW = settings(max_examples=10, deadline=None)

LAYOUTS = ("contiguous", "transposed", "sliced", "expanded")
TORCH_DTYPES = {
    np.dtype("float16"): torch.float16,
    np.dtype("float32"): torch.float32,
    np.dtype("float64"): torch.float64,
    np.dtype("int64"): torch.int64,
    np.dtype("bool"): torch.bool,
}
# (rtol, atol) per dtype; atol is scaled by the magnitude of the expected values (see assert_close).
TOLERANCES = {np.dtype("float32"): (1e-5, 1e-6), np.dtype("float64"): (1e-10, 1e-12)}

seeds = st.integers(0, 2**32 - 1)
layouts = st.sampled_from(LAYOUTS)
float_dtypes = st.sampled_from([np.float32, np.float64])


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy:
    """Tuples of shapes that broadcast together (``input_shapes`` of hypothesis' strategy)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4
    ).map(lambda result: result.input_shapes)


@dataclass
class Pair:
    """One input in both frameworks: the leaves that receive gradients, and the views fed to ops."""

    h_leaf: ht.Tensor
    t_leaf: torch.Tensor
    h: ht.Tensor
    t: torch.Tensor


def values(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: Any = np.float32, kind: str = "normal"
) -> np.ndarray:
    """Random values of a kind: ``normal``, ``positive`` (away from 0), ``unit`` (-0.9..0.9), ``distinct``."""
    if kind == "normal":
        data = rng.standard_normal(shape)
    elif kind == "positive":
        data = rng.uniform(0.5, 2.0, shape)
    elif kind == "unit":
        data = rng.uniform(-0.9, 0.9, shape)
    elif kind == "distinct":  # no ties and no near-ties, for max/min/abs/relu kinks
        n = int(np.prod(shape))
        data = (rng.permutation(n).reshape(shape) - n / 2) * 0.25 + 0.125
    else:
        raise ValueError(kind)
    return np.asarray(data).astype(dtype)


def _base_and_view(data: np.ndarray, layout: str, rng: np.random.Generator) -> tuple[np.ndarray, Callable]:
    """A base array and a function taking a tensor of it (either framework) to a view equal to ``data``."""
    if layout == "transposed" and data.ndim >= 2:
        return np.ascontiguousarray(np.swapaxes(data, -1, -2)), lambda x: x.transpose(-1, -2)
    if layout == "sliced" and data.ndim >= 1:
        base = np.zeros(data.shape[:-1] + (2 * data.shape[-1] + 1,), data.dtype)
        base[..., 1::2] = data
        base[..., 0::2] = rng.standard_normal(base[..., 0::2].shape)  # junk between the elements
        return base, lambda x: x[..., 1::2]
    if layout == "expanded" and data.ndim >= 1:
        # keep index 0 along every other dimension: the view repeats it (stride 0)
        small = data[tuple(slice(0, 1) if i % 2 == 0 else slice(None) for i in range(data.ndim))]
        return np.ascontiguousarray(small), lambda x: x.expand(*data.shape)
    return data, lambda x: x


def effective_strides(shape: Sequence[int], strides: Sequence[int]) -> tuple[int | None, ...]:
    """Strides with those of size-1 dimensions blanked: they are never stepped over, so frameworks
    are free to store anything there (PyTorch and numpy differ)."""
    return tuple(None if n == 1 else s for n, s in zip(shape, strides))


def make_pair(
    rng: np.random.Generator,
    shape: Sequence[int],
    dtype: Any = np.float32,
    layout: str = "contiguous",
    kind: str = "normal",
    requires_grad: bool = True,
) -> Pair:
    """The same values in Hyperion and PyTorch, laid out identically; gradients land on the leaves."""
    data = values(rng, tuple(shape), dtype, kind)
    base, to_view = _base_and_view(data, layout, rng)
    h_leaf = ht.tensor(base, dtype=base.dtype, requires_grad=requires_grad)
    t_leaf = torch.tensor(base, requires_grad=requires_grad)
    h, t = to_view(h_leaf), to_view(t_leaf)
    assert h.shape == tuple(t.shape), (h.shape, t.shape)
    assert effective_strides(h.shape, h.strides) == effective_strides(h.shape, t.stride()), layout
    return Pair(h_leaf, t_leaf, h, t)


def pairs(
    rng: np.random.Generator,
    shapes_: Sequence[Sequence[int]],
    layouts_: Sequence[str],
    dtype: Any = np.float32,
    kind: str = "normal",
) -> list[Pair]:
    return [make_pair(rng, s, dtype, lay, kind) for s, lay in zip(shapes_, layouts_)]


def index_pair(data: Any) -> tuple[ht.Tensor, torch.Tensor]:
    """An int64 (or bool) tensor in both frameworks, e.g. targets or indices."""
    array = np.asarray(data)
    return ht.tensor(array, dtype=array.dtype), torch.tensor(array)


def to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, ht.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def assert_close(actual: Any, expected: Any, dtype: Any = None, scale: float = 1.0, what: str = "") -> None:
    """Compare values: rtol/atol by dtype, atol relative to the largest expected magnitude, ``scale``
    loosening both (use it for long sums: matmul, conv, reductions, float16)."""
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    dtype = np.dtype(dtype or e.dtype)
    rtol, atol = TOLERANCES.get(dtype, (1e-3, 1e-3))
    magnitude = float(np.max(np.abs(e[np.isfinite(e)]), initial=1.0))
    np.testing.assert_allclose(
        a.astype(np.float64),
        e.astype(np.float64),
        rtol=rtol * scale,
        atol=atol * scale * max(magnitude, 1.0),
        err_msg=what,
    )


def check_against_torch(
    h_fn: Callable[..., Any],
    t_fn: Callable[..., Any],
    inputs: Sequence[Pair],
    rng: np.random.Generator | None = None,
    scale: float = 1.0,
    grad_scale: float | None = None,
    backward: bool = True,
) -> tuple[Any, Any]:
    """Forward both, compare outputs; backward one upstream gradient through both, compare leaf grads.

    An op returning several tensors (split, chunk) is backpropagated through the sum of each output
    times its own upstream gradient; a single output through ``backward(gradient)``.
    """
    rng = rng or np.random.default_rng(0)
    h_out = h_fn(*[p.h for p in inputs])
    t_out = t_fn(*[p.t for p in inputs])
    h_outs = list(h_out) if isinstance(h_out, (tuple, list)) else [h_out]
    t_outs = list(t_out) if isinstance(t_out, (tuple, list)) else [t_out]
    assert len(h_outs) == len(t_outs)
    for i, (h, t) in enumerate(zip(h_outs, t_outs)):
        assert h.dtype == TORCH_TO_NUMPY[t.dtype], f"output {i}: dtype {h.dtype} vs {t.dtype}"
        assert_close(h, t, h.dtype, scale, what=f"forward output {i}")
    if not backward:
        return h_out, t_out
    grads = [values(rng, tuple(t.shape), to_numpy(t).dtype) for t in t_outs]
    if len(h_outs) == 1:
        h_outs[0].backward(ht.tensor(grads[0], dtype=grads[0].dtype))
        t_outs[0].backward(torch.tensor(grads[0]))
    else:
        ht_loss = sum((h * ht.tensor(g, dtype=g.dtype)).sum() for h, g in zip(h_outs, grads))
        torch_loss = sum((t * torch.tensor(g)).sum() for t, g in zip(t_outs, grads))
        ht_loss.backward()
        torch_loss.backward()
    for i, p in enumerate(inputs):
        if not p.t_leaf.requires_grad:
            continue
        expected = p.t_leaf.grad if p.t_leaf.grad is not None else torch.zeros_like(p.t_leaf)
        assert p.h_leaf.grad is not None, f"input {i}: no gradient"
        assert p.h_leaf.grad.shape == tuple(p.t_leaf.shape)
        assert_close(p.h_leaf.grad, expected, p.h_leaf.dtype, grad_scale or scale, what=f"grad of input {i}")
    return h_out, t_out


TORCH_TO_NUMPY = {v: k for k, v in TORCH_DTYPES.items()}
