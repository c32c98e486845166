"""Task 1.20: inverted dropout (``hyperion.tensor.functional.dropout``).

In training every element is either 0 or ``x/(1-p)``, with exactly the zeros of the backend's mask for the
generator's seed (so the mask comes from the generator given, and a seed reproduces it); the survivors
are scaled so that the expected activation is unchanged (the mean over 20,000 ones stays within 3% of 1);
the output is a graph node when ``x`` requires grad; ``training=False`` and ``p=0`` return ``x`` itself;
``p=1`` gives zeros (no division by zero). The mask for comparison is drawn in the probe from the
unmarked backend primitive ``Backend.dropout_mask``."""

import numpy as np

from hyperion_grader.hidden import assert_close, assert_true, probe

TASK = "1.20"
TITLE = "Dropout (inverted scaling)"
POINTS = 5
TIMEOUT = 60
PS = [0.3, 0.5, 0.1]


@probe(reference=False)
def dropout_cases():
    import hyperion.tensor as ht
    from hyperion.tensor import functional as F
    from hyperion.tensor.backend import get_backend

    rng = np.random.default_rng(2000)
    out = []
    for i, p in enumerate(PS):
        dtype = np.float32 if i == 1 else np.float64
        x0 = (rng.standard_normal((40, 50)) + 3).astype(dtype)
        x = ht.tensor(x0, requires_grad=True)
        y = F.dropout(x, p, training=True, generator=ht.Generator(70 + i))
        seed = ht.Generator(70 + i).seed_for_device()
        mask = get_backend("cpu").dropout_mask(x0.shape, p, seed, x0.dtype)
        again = F.dropout(ht.tensor(x0), p, generator=ht.Generator(70 + i)).numpy()
        out.append(
            {
                "x": x0,
                "y": y.detach().numpy().copy(),
                "mask": np.asarray(mask),
                "again": again,
                "graph": bool(y.requires_grad and y._ctx is not None),
            }
        )
    ones = F.dropout(ht.ones(200, 100), 0.4, generator=ht.Generator(5)).numpy()
    x = ht.tensor(rng.standard_normal((3, 4)))
    return {
        "cases": out,
        "mean_of_ones": float(ones.mean()),
        "eval_is_identity": F.dropout(x, 0.5, training=False) is x,
        "p0_is_identity": F.dropout(x, 0.0) is x,
        "p1": F.dropout(x, 1.0).numpy(),
    }


def check_dropout_cases(sub, ref):
    for p, case in zip(PS, sub["cases"], strict=True):
        x, y, mask = case["x"], case["y"], case["mask"]
        what = f"dropout(p={p}) of {x.shape} ({x.dtype})"
        assert_true(y.dtype == x.dtype and y.shape == x.shape, f"{what}: got {y.dtype} {y.shape}")
        keep = mask != 0
        assert_true(bool(np.all(y[~keep] == 0)), f"{what}: elements the generator's mask drops are not zero")
        assert_close(
            y[keep].astype(np.float64),
            x[keep].astype(np.float64) / (1 - p),
            rtol=1e-6,
            atol=0,
            name=f"{what}: survivors (must be x / (1 - p))",
        )
        assert_close(case["again"], y, rtol=0, atol=0, name=f"{what}: the same seed must give the same mask")
        assert_true(case["graph"], f"{what}: the output of an input that requires grad must be a graph node")
    assert_true(
        abs(sub["mean_of_ones"] - 1.0) < 0.03,
        f"dropout(p=0.4) of 20,000 ones has mean {sub['mean_of_ones']:.4f}, expected ~1 (inverted scaling)",
    )
    assert_true(sub["eval_is_identity"] is True, "dropout(training=False) must return its input unchanged")
    assert_true(sub["p0_is_identity"] is True, "dropout(p=0) must return its input unchanged")
    assert_true(
        bool(np.all(sub["p1"] == 0)) and bool(np.all(np.isfinite(sub["p1"]))), "dropout(p=1) must give zeros"
    )
