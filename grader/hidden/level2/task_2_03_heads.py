"""Task 2.3: split_heads / merge_heads — (B, T, C) ↔ (B, H, T, C/H) by reshape and permute, with
their gradients (from level 1's view ops) and clear errors. Expected values from numpy here."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "2.3"
TITLE = "Splitting and merging attention heads"
POINTS = 10
TIMEOUT = 60

SHAPES = [((2, 3, 8), 2), ((1, 5, 12), 3), ((3, 1, 4), 4), ((2, 4, 6), 1)]


def _error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "no error"


@probe
def heads():
    from hyperion.tensor import Tensor
    from hyperion.transformer.heads import merge_heads, split_heads

    rng = np.random.default_rng(31)
    out = []
    for shape, n_head in SHAPES:
        x = rng.standard_normal(shape)
        xt = Tensor(x, requires_grad=True)
        s = split_heads(xt, n_head)
        g = rng.standard_normal(s.shape)
        (s * Tensor(g)).sum().backward()
        yt = Tensor(s.detach().numpy().copy(), requires_grad=True)
        m = merge_heads(yt)
        gm = rng.standard_normal(m.shape)
        (m * Tensor(gm)).sum().backward()
        out.append({"x": x, "g": g, "gm": gm, "split": s.detach().numpy(), "dx": xt.grad.numpy(),
                    "merged": m.detach().numpy(), "dy": yt.grad.numpy(),
                    "roundtrip": merge_heads(split_heads(Tensor(x), n_head)).numpy()})
    out.append({
        "not_divisible": _error(lambda: split_heads(Tensor(np.zeros((1, 2, 6))), 4)),
        "split_2d": _error(lambda: split_heads(Tensor(np.zeros((2, 6))), 2)),
        "merge_3d": _error(lambda: merge_heads(Tensor(np.zeros((2, 3, 6))))),
    })
    return out


def check_heads(sub, ref):
    for (shape, n_head), got, mine in zip(SHAPES, sub[:-1], ref[:-1], strict=True):
        b, t, c = shape
        what = f"split_heads({shape}, n_head={n_head})"
        assert_close(got["x"], mine["x"], rtol=0, atol=0, name="the probe's input")
        x, g, gm = mine["x"], mine["g"], mine["gm"]
        want = x.reshape(b, t, n_head, c // n_head).transpose(0, 2, 1, 3)
        assert_true(got["split"].shape == want.shape, f"{what}: shape {got['split'].shape}, expected {want.shape}")
        assert_close(got["split"], want, rtol=0, atol=0, name=f"{what} (head h holds features h·d … (h+1)·d-1)")
        assert_close(got["dx"], g.transpose(0, 2, 1, 3).reshape(shape), rtol=0, atol=0, name=f"{what} backward")
        merged = want.transpose(0, 2, 1, 3).reshape(shape)
        assert_true(got["merged"].shape == shape, f"merge_heads: shape {got['merged'].shape}, expected {shape}")
        assert_close(got["merged"], merged, rtol=0, atol=0, name=f"merge_heads of {want.shape}")
        assert_close(got["dy"], gm.reshape(b, t, n_head, c // n_head).transpose(0, 2, 1, 3), rtol=0, atol=0,
                     name=f"merge_heads of {want.shape} backward")
        assert_close(got["roundtrip"], x, rtol=0, atol=0, name="merge_heads(split_heads(x)) must be x")
    errors = sub[-1]
    for key, what in (("not_divisible", "split_heads of width 6 into 4 heads"),
                      ("split_2d", "split_heads of a 2-D tensor"), ("merge_3d", "merge_heads of a 3-D tensor")):
        assert_true(errors[key] == "ShapeError", f"{what}: expected ShapeError, got {errors[key]}")
