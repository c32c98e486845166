"""Task 2.2: RoPE angle tables and the rotate-half rotation (forward; backward is the rotation by the
opposite angle). Expected values are computed here with numpy from the probe's inputs; the
relative-position property is checked on the submission's own rotation."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "2.2"
TITLE = "Rotary positional embeddings"
POINTS = 10
TIMEOUT = 60

TABLES = [(2, 3, 10000.0), (8, 7, 10000.0), (16, 5, 100.0), (6, 4, 10000.0)]


@probe
def tables():
    from hyperion.transformer.rope import rope_angles

    out = []
    for d, n, base in TABLES:
        cos, sin = rope_angles(d, n, base)
        out.append({"cos": np.asarray(cos), "sin": np.asarray(sin)})
    try:
        rope_angles(5, 3)
        out.append("no error")
    except ValueError:
        out.append("ValueError")
    except Exception as error:  # noqa: BLE001
        out.append(type(error).__name__)
    return out


def _tables(d, n, base):
    theta = base ** (-np.arange(d // 2) * 2.0 / d)
    angles = np.arange(n)[:, None] * theta[None, :]
    return np.cos(angles), np.sin(angles)


def check_tables(sub, ref):
    for (d, n, base), got in zip(TABLES, sub[:-1], strict=True):
        what = f"rope_angles(head_dim={d}, n_positions={n}, base={base})"
        cos, sin = _tables(d, n, base)
        for name, val, want in (("cos", got["cos"], cos), ("sin", got["sin"], sin)):
            assert_true(val.shape == want.shape, f"{what}: {name} shape {val.shape}, expected {want.shape}")
            assert_close(val, want, rtol=1e-10, atol=1e-12, name=f"{what}: {name} (θ_i = base^(-2i/d))")
    assert_true(sub[-1] == "ValueError", f"rope_angles with an odd head_dim: expected ValueError, got {sub[-1]}")


def _rotate(x, cos, sin):
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return np.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


@probe
def rotation():
    from hyperion.tensor import Tensor
    from hyperion.transformer.rope import apply_rope, rope_rotate

    rng = np.random.default_rng(21)
    out = []
    for shape in [(3, 4), (2, 3, 5, 8), (1, 2, 6, 2)]:
        d, n = shape[-1], shape[-2]
        angles = rng.uniform(-3, 3, (n, d // 2))
        x = rng.standard_normal(shape)
        before = x.copy()
        y = rope_rotate(x, np.cos(angles), np.sin(angles))
        out.append({"x": x, "angles": angles, "y": np.asarray(y), "unchanged": bool(np.array_equal(x, before))})
    x32 = rng.standard_normal((2, 4, 6)).astype(np.float32)
    a32 = rng.uniform(-3, 3, (4, 3))
    y32 = rope_rotate(x32, np.cos(a32).astype(np.float32), np.sin(a32).astype(np.float32))
    out.append({"x": x32, "angles": a32, "y": np.asarray(y32)})
    # the property RoPE is for: the score depends only on the position difference
    d, n = 8, 20
    theta = 10000.0 ** (-np.arange(d // 2) * 2.0 / d)
    angles = np.arange(n)[:, None] * theta[None, :]
    cos, sin = np.cos(angles), np.sin(angles)
    q, k = rng.standard_normal(d), rng.standard_normal(d)
    qs = np.asarray(rope_rotate(np.tile(q, (n, 1)), cos, sin))
    ks = np.asarray(rope_rotate(np.tile(k, (n, 1)), cos, sin))
    out.append({"scores": qs @ ks.T})
    # backward through apply_rope (the Rotary Function calls rope_rotate with -sin)
    x = Tensor(rng.standard_normal((1, 2, 5, 4)), requires_grad=True)
    g = rng.standard_normal((1, 2, 5, 4))
    table = np.arange(8)[:, None] * np.array([1.0, 0.01])
    ct, st = np.cos(table), np.sin(table)
    yb = apply_rope(x, ct, st, start=3)
    yb.backward(Tensor(g))
    out.append({"x": x.detach().numpy(), "g": g, "y": yb.detach().numpy(), "dx": x.grad.numpy()})
    return out


def check_rotation(sub, ref):
    for got, mine in zip(sub[:4], ref[:4], strict=True):
        assert_close(got["x"], mine["x"], rtol=0, atol=0, name="the probe's input")
        x, a = mine["x"], mine["angles"]
        what = f"rope_rotate on shape {x.shape} ({x.dtype})"
        want = _rotate(x.astype(np.float64), np.cos(a), np.sin(a))
        tol = 1e-5 if x.dtype == np.float32 else 1e-12
        assert_true(got["y"].shape == x.shape, f"{what}: output shape {got['y'].shape}")
        assert_true(got["y"].dtype == x.dtype, f"{what}: output dtype {got['y'].dtype}, expected {x.dtype}")
        assert_close(got["y"].astype(np.float64), want, rtol=tol, atol=tol,
                     name=f"{what} (pair i with i + d/2: [x1 cos - x2 sin, x1 sin + x2 cos])")
        if "unchanged" in got:
            assert_true(got["unchanged"], f"{what}: the input was modified in place")
    scores = sub[4]["scores"]
    for offset in range(-5, 6):
        diag = np.diagonal(scores, offset)
        assert_close(diag, np.full_like(diag, diag[0]), rtol=1e-9, atol=1e-9,
                     name=f"score of q at m and k at m + {offset} must not depend on m")
    got, mine = sub[5], ref[5]
    assert_close(got["x"], mine["x"], rtol=0, atol=0, name="the probe's input")
    pos = np.arange(3, 8)[:, None] * np.array([1.0, 0.01])
    assert_close(got["y"], _rotate(mine["x"], np.cos(pos), np.sin(pos)), rtol=1e-12, atol=1e-12,
                 name="apply_rope forward at positions 3..7")
    assert_close(got["dx"], _rotate(mine["g"], np.cos(pos), -np.sin(pos)), rtol=1e-12, atol=1e-12,
                 name="apply_rope backward (the rotation by the opposite angle)")
